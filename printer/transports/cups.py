"""``cups://QUEUE``: hand raw jobs to a CUPS queue with ``lp -d QUEUE -o raw``.

For printers already set up in CUPS (e.g. shared with other software). The
queue must pass bytes through untouched; ``-o raw`` asks for exactly that.
"""

from __future__ import annotations

import subprocess
from urllib.parse import SplitResult, unquote

from printer.errors import (
    PrinterConfigError,
    PrinterOffline,
    PrinterTimeout,
    PrinterUnsupported,
)
from printer.status import PrinterStatus
from printer.transports.base import positive_float, url_options


class CupsTransport:
    """Submit each job with the ``lp`` command."""

    def __init__(self, queue: str, *, timeout: float = 10.0, lp_command: str = "lp") -> None:
        self.queue = queue
        self.timeout = timeout
        self.lp_command = lp_command

    @property
    def where(self) -> str:
        return f"cups://{self.queue}"

    def send(self, data: bytes) -> None:
        command = [self.lp_command, "-d", self.queue, "-o", "raw"]
        try:
            result = subprocess.run(command, input=data, capture_output=True, timeout=self.timeout, check=False)
        except FileNotFoundError as exc:
            raise PrinterConfigError(
                f"{self.lp_command!r} not found; install the CUPS client (apt-get install cups-client)"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise PrinterTimeout(f"{' '.join(command)} did not finish within {self.timeout:g} s") from exc
        except OSError as exc:
            raise PrinterOffline(f"cannot run {' '.join(command)}: {exc}") from exc
        if result.returncode != 0:
            detail = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
            raise PrinterOffline(f"CUPS refused the job for {self.where}: {detail}")

    def status(self) -> PrinterStatus:
        # CUPS knows queue states, not paper sensors; report nothing rather
        # than a guess.
        raise PrinterUnsupported(f"{self.where} cannot report printer status")

    def close(self) -> None:
        """Nothing to release: every job is its own lp process."""


def from_url(url: str, parts: SplitResult) -> CupsTransport:
    # netloc, not hostname: hostname lower-cases, and CUPS queue names are case-sensitive.
    queue = unquote(parts.netloc)
    if not queue or parts.path not in ("", "/"):
        raise PrinterConfigError(f"printer URL {url!r} needs a queue name: cups://QUEUE")
    options = url_options(url, parts, {"timeout": positive_float})
    return CupsTransport(queue, timeout=options.get("timeout", 10.0))
