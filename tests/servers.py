"""Running NextUp for tests: as a real process, or in this process on a real port with a test clock."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType

import httpx
import uvicorn

from server.app import create_app
from server.clock import Clock
from server.config import Branch
from server.settings import Settings

ADMIN_PASSWORD = "test-admin-password"
ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_healthy(url: str, deadline_s: float = 20.0, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + deadline_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.05)
    raise TimeoutError(f"{url} not healthy within {deadline_s} s: {last}")


class ServerProcess:
    """``nextup serve`` as a child process on a free loopback port."""

    def __init__(
        self,
        data_dir: Path,
        redis_url: str | None,
        config: Path | None = None,
        port: int | None = None,
        secret_key_file: Path | None = None,
        admin_password: str | None = ADMIN_PASSWORD,
        log_level: str = "warning",
    ) -> None:
        self.data_dir = data_dir
        self.redis_url = redis_url
        self.config = config
        #: NEXTUP_SECRET_KEY_FILE, for servers sharing one Redis; None: the data directory's own.
        self.given_secret_key_file = secret_key_file
        #: The keys the server signs tokens with (``server.keyring``).
        self.secret_key_file = secret_key_file or data_dir / "secrets.json"
        self.admin_password = admin_password
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_level = log_level
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / f"server-{self.port}.log"

    def start(self) -> ServerProcess:
        unset = ("NEXTUP_REDIS_URL", "NEXTUP_SECRET_KEY_FILE", "NEXTUP_ADMIN_PASSWORD")
        env = {k: v for k, v in os.environ.items() if k not in unset}
        if self.admin_password:
            env["NEXTUP_ADMIN_PASSWORD"] = self.admin_password
        if self.redis_url:
            env["NEXTUP_REDIS_URL"] = self.redis_url
        if self.given_secret_key_file:
            env["NEXTUP_SECRET_KEY_FILE"] = str(self.given_secret_key_file)
        args = [sys.executable, "-m", "server", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir)]
        args += ["--log-level", self.log_level]
        if self.config:
            args += ["--config", str(self.config)]
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until_healthy(self.url, process=self.process)
        return self

    def successor(self) -> ServerProcess:
        """A server like this one (same data, Redis, secrets file and port), not started: a restart."""
        return ServerProcess(
            self.data_dir, self.redis_url, self.config, port=self.port, secret_key_file=self.given_secret_key_file,
            admin_password=self.admin_password, log_level=self.log_level,
        )  # fmt: skip

    def kill(self) -> None:
        """kill -9: no clean shutdown of anything."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class InProcessServer:
    """The real app on a real port, in a thread of the test process, so a test can hold its clock."""

    def __init__(self, settings: Settings, branch: Branch, redis_url: str, clock: Clock) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        app = create_app(settings, branch, redis_url, clock)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
            ws_max_size=settings.ws_max_message_bytes, proxy_headers=False,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        wait_until_healthy(self.url)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
