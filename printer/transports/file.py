"""``file:///dev/usb/lp0``: write jobs to a device node (Linux usblp) or a file.

The file must already exist: a missing ``/dev/usb/lp0`` means the printer is
unplugged, and creating a regular file there would swallow tickets silently.
"""

from __future__ import annotations

import os
import select
import time
from urllib.parse import SplitResult

from printer.errors import (
    PrinterConfigError,
    PrinterOffline,
    PrinterTimeout,
    PrinterUnsupported,
)
from printer.status import PrinterStatus
from printer.transports.base import positive_float, target, url_options


class FileTransport:
    """Append each job to ``path``, giving up after ``timeout`` seconds."""

    def __init__(self, path: str, *, timeout: float = 10.0) -> None:
        self.path = path
        self.timeout = timeout

    @property
    def where(self) -> str:
        return f"file://{self.path}"

    def send(self, data: bytes) -> None:
        try:
            # Non-blocking so a stalled printer device cannot hang the caller
            # forever; regular files ignore the flag.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
        except FileNotFoundError as exc:
            raise PrinterOffline(f"no printer at {self.where} (unplugged?)") from exc
        except PermissionError as exc:
            raise PrinterConfigError(
                f"no permission to write {self.path}; add the service user to the lp group"
            ) from exc
        except IsADirectoryError as exc:
            raise PrinterConfigError(f"{self.where} is a directory, not a printer") from exc
        except OSError as exc:
            raise PrinterOffline(f"cannot open printer {self.where}: {exc}") from exc
        try:
            self._write_all(fd, data)
        except OSError as exc:
            raise PrinterOffline(f"writing to printer {self.where} failed: {exc}") from exc
        finally:
            os.close(fd)

    def _write_all(self, fd: int, data: bytes) -> None:
        deadline = time.monotonic() + self.timeout
        view = memoryview(data)
        while view:
            try:
                written = os.write(fd, view)
            except BlockingIOError:
                written = 0
            view = view[written:]
            if view and not written:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                    raise PrinterTimeout(
                        f"printer {self.where} took only {len(data) - len(view)} of"
                        f" {len(data)} bytes within {self.timeout:g} s"
                    )

    def status(self) -> PrinterStatus:
        raise PrinterUnsupported(f"{self.where} cannot report printer status")

    def close(self) -> None:
        """Nothing to release: the file is opened per job."""


def from_url(url: str, parts: SplitResult) -> FileTransport:
    path = target(parts)
    if not path:
        raise PrinterConfigError(f"printer URL {url!r} needs a path: file:///dev/usb/lp0")
    options = url_options(url, parts, {"timeout": positive_float})
    return FileTransport(path, **options)
