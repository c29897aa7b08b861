"""``usb://VID:PID``: printers on USB, through python-escpos's ``Usb`` (pyusb).

Needs pyusb and a libusb backend, plus permission to open the device (a udev
rule on Linux). The device is found lazily and found again after an error, so
a printer unplugged and plugged back in recovers without a restart.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import SplitResult

from escpos.exceptions import DeviceNotFoundError
from escpos.printer import Usb

from printer.errors import (
    PrinterConfigError,
    PrinterError,
    PrinterOffline,
    PrinterProtocolError,
    PrinterTimeout,
)
from printer.status import STATUS_QUERIES, PrinterStatus, parse_status_reply, status_query
from printer.transports.base import any_base_int, positive_float, url_options

# Endpoints of the common Epson-compatible USB printer interface.
DEFAULT_IN_EP = 0x82
DEFAULT_OUT_EP = 0x01


class UsbTransport:
    """Send jobs to, and read status from, one USB printer."""

    def __init__(
        self,
        vendor_id: int,
        product_id: int,
        *,
        timeout: float = 5.0,
        in_ep: int = DEFAULT_IN_EP,
        out_ep: int = DEFAULT_OUT_EP,
    ) -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.timeout = timeout
        self._printer: Any = Usb(
            idVendor=vendor_id,
            idProduct=product_id,
            timeout=int(timeout * 1000),
            in_ep=in_ep,
            out_ep=out_ep,
        )

    @property
    def where(self) -> str:
        return f"usb://{self.vendor_id:04x}:{self.product_id:04x}"

    @contextmanager
    def _device(self, action: str) -> Iterator[Any]:
        """Yield the open escpos printer, turning every failure into a PrinterError."""
        try:
            if not self._printer._device:
                self._printer.open()
            yield self._printer
        except PrinterError:
            raise
        except DeviceNotFoundError as exc:
            self._forget_device()
            raise PrinterOffline(
                f"USB printer {self.where} not found while {action}: unplugged, switched"
                f" off, or no permission to open it (udev rule?); {exc}"
            ) from exc
        except RuntimeError as exc:
            # python-escpos raises RuntimeError when pyusb is not installed.
            raise PrinterConfigError(f"usb:// printing needs pyusb and libusb ({exc}); pip install pyusb") from exc
        except TimeoutError as exc:
            self._forget_device()
            raise PrinterTimeout(f"USB printer {self.where} timed out while {action} after {self.timeout:g} s") from exc
        except OSError as exc:
            # pyusb's USBError (and its USBTimeoutError) are OSErrors.
            self._forget_device()
            error = PrinterTimeout if exc.errno == errno.ETIMEDOUT else PrinterOffline
            raise error(f"USB printer {self.where} failed while {action}: {exc}") from exc

    def _forget_device(self) -> None:
        # After an error the device handle is stale; search the bus again next time.
        with suppress(Exception):  # best effort: the handle is already broken
            self._printer.close()
        self._printer._device = False

    def send(self, data: bytes) -> None:
        with self._device("sending a job") as printer:
            printer._raw(data)

    def status(self) -> PrinterStatus:
        reply = bytearray()
        with self._device("reading status") as printer:
            for n in STATUS_QUERIES:
                printer._raw(status_query(n))
                answer = bytes(printer._read())
                if not answer:
                    raise PrinterProtocolError(f"USB printer {self.where} sent no answer to DLE EOT {n}")
                reply += answer[:1]
        return parse_status_reply(bytes(reply))

    def close(self) -> None:
        self._forget_device()


def _usb_id(text: str) -> int:
    value = int(text, 16)
    if not 0 <= value <= 0xFFFF:
        raise ValueError("USB ids are 16 bit")
    return value


def from_url(url: str, parts: SplitResult) -> UsbTransport:
    vendor, _, product = parts.netloc.partition(":")
    try:
        vendor_id, product_id = _usb_id(vendor), _usb_id(product)
    except ValueError as exc:
        raise PrinterConfigError(
            f"printer URL {url!r} needs hexadecimal USB ids: usb://VID:PID, e.g. usb://04b8:0202"
        ) from exc
    options = url_options(
        url,
        parts,
        {"timeout": positive_float, "in_ep": any_base_int, "out_ep": any_base_int},
    )
    return UsbTransport(
        vendor_id,
        product_id,
        timeout=float(options.get("timeout", 5.0)),
        in_ep=int(options.get("in_ep", DEFAULT_IN_EP)),
        out_ep=int(options.get("out_ep", DEFAULT_OUT_EP)),
    )
