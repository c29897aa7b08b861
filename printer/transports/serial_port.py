"""``serial:///dev/ttyUSB0?baudrate=19200``: printers on RS-232 or USB-serial adapters.

Goes through python-escpos's ``Serial`` (pyserial). The baud rate must match
the printer's DIP switches; most ticket printers ship at 9600 or 19200.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import SplitResult

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Serial

from printer.errors import (
    PrinterConfigError,
    PrinterError,
    PrinterOffline,
    PrinterUnsupported,
)
from printer.status import STATUS_QUERIES, PrinterStatus, parse_status_reply, status_query
from printer.transports.base import positive_float, target, url_options

DEFAULT_BAUDRATE = 9600
_BAUDRATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class SerialTransport:
    """Send jobs to, and read status from, a printer on a serial port."""

    def __init__(self, device: str, *, baudrate: int = DEFAULT_BAUDRATE, timeout: float = 2.0) -> None:
        self.device = device
        self.baudrate = baudrate
        self.timeout = timeout
        try:
            self._printer: Any = Serial(devfile=device, baudrate=baudrate, timeout=timeout)
        except RuntimeError as exc:
            # python-escpos raises RuntimeError when pyserial is not installed.
            raise PrinterConfigError(f"serial:// printing needs pyserial ({exc}); pip install pyserial") from exc

    @property
    def where(self) -> str:
        return f"serial://{self.device}"

    @contextmanager
    def _port(self, action: str) -> Iterator[Any]:
        """Yield the open pyserial port, turning every failure into a PrinterError."""
        try:
            if not self._printer._device:
                self._printer.open()
            yield self._printer.device
        except PrinterError:
            raise
        except DeviceNotFoundError as exc:
            self.close()
            raise PrinterOffline(f"cannot open serial printer {self.where} while {action}: {exc}") from exc
        except OSError as exc:
            # pyserial's SerialException and SerialTimeoutException are OSErrors.
            self.close()
            raise PrinterOffline(f"serial printer {self.where} failed while {action}: {exc}") from exc

    def send(self, data: bytes) -> None:
        with self._port("sending a job") as port:
            port.write(data)
            port.flush()

    def status(self) -> PrinterStatus:
        reply = bytearray()
        with self._port("reading status") as port:
            for n in STATUS_QUERIES:
                port.write(status_query(n))
                # Read exactly one byte: escpos's own _read asks for 16 and so
                # always waits out the whole timeout.
                answer = port.read(1)
                if not answer:
                    raise PrinterUnsupported(
                        f"serial printer {self.where} did not answer DLE EOT {n} within"
                        f" {self.timeout:g} s (wrong baud rate, or no status support)"
                    )
                reply += answer
        return parse_status_reply(bytes(reply))

    def close(self) -> None:
        with suppress(OSError):
            self._printer.close()
        # Reopen on next use; the adapter may have been replugged meanwhile.
        self._printer._device = False


def _baudrate(text: str) -> int:
    value = int(text)
    if value not in _BAUDRATES:
        raise ValueError(f"baud rate must be one of {_BAUDRATES}")
    return value


def from_url(url: str, parts: SplitResult) -> SerialTransport:
    device = target(parts)
    if not device:
        raise PrinterConfigError(f"printer URL {url!r} needs a device: serial:///dev/ttyUSB0?baudrate=19200")
    options = url_options(url, parts, {"baudrate": _baudrate, "timeout": positive_float})
    return SerialTransport(
        device,
        baudrate=int(options.get("baudrate", DEFAULT_BAUDRATE)),
        timeout=float(options.get("timeout", 2.0)),
    )
