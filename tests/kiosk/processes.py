"""Running the kiosk for tests and ``bench/bench_kiosk.py``: as ``nextup kiosk`` or in this process.

``KioskProcess`` is the real command. ``InProcessKiosk`` is the same page app and ``Kiosk``, built
from the same options by ``kiosk.cli.config_from``, served by uvicorn on a real loopback port in a
thread of the test process: most tests use it, because it starts in milliseconds instead of a second.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Protocol

import httpx
import uvicorn

from kiosk import cli as kiosk_cli
from kiosk.app import create_app
from kiosk.kiosk import Kiosk
from tests.servers import ROOT, free_port


def wait_for_page(url: str, alive: Callable[[], str | None], deadline_s: float = 20.0) -> None:
    """Wait until the kiosk page answers; RuntimeError with ``alive()``'s reason if the kiosk died."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        problem = alive()
        if problem is not None:
            raise RuntimeError(problem)
        try:
            if httpx.get(url + "/", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise TimeoutError(f"kiosk page {url} not served within {deadline_s} s")


def token_options(token: str | None) -> list[str]:
    """``--token`` when given; None starts a kiosk without one (it pairs, or uses its ``--data-dir``)."""
    return [] if token is None else ["--token", token]


class RunningKiosk(Protocol):
    """What tests use of a started kiosk, however it runs."""

    port: int
    url: str

    def stop(self) -> None: ...


class KioskProcess:
    """``nextup kiosk`` as a child process: its page on a free loopback port, printing to ``printer``."""

    def __init__(self, server_url: str, token: str | None, printer: str, log_dir: Path, *extra: str) -> None:
        self.server_url = server_url
        self.token = token
        self.printer = printer
        self.extra = list(extra)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_dir / f"kiosk-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> KioskProcess:
        args = [sys.executable, "-m", "server", "kiosk", "--server", self.server_url, "--branch", "main",
                *token_options(self.token), "--printer", self.printer, "--port", str(self.port),
                "--log-level", "warning", *self.extra]  # fmt: skip
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            # Only the token given here: a kiosk started without one must pair.
            env = {k: v for k, v in os.environ.items() if k != "NEXTUP_KIOSK_TOKEN"}
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        process = self.process

        def alive() -> str | None:
            code = process.poll()
            return None if code is None else f"kiosk exited with {code}:\n{self.output()}"

        wait_for_page(self.url, alive)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class InProcessKiosk:
    """The kiosk app on a free loopback port, served from a thread of this process."""

    def __init__(self, server_url: str, token: str | None, printer: str, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        parser = argparse.ArgumentParser()
        kiosk_cli.add_arguments(parser)
        args = parser.parse_args(["--server", server_url, "--branch", "main", *token_options(token),
                                  "--printer", printer, "--port", str(self.port), *extra])  # fmt: skip
        self.kiosk = Kiosk(kiosk_cli.config_from(args))
        config = uvicorn.Config(create_app(self.kiosk), host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="on", ws_per_message_deflate=False)  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"kiosk {self.port}", daemon=True)

    def start(self) -> InProcessKiosk:
        self.thread.start()
        wait_for_page(self.url, lambda: None if self.thread.is_alive() else "the kiosk thread ended")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def __enter__(self) -> InProcessKiosk:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
