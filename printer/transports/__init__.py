"""Transports: how rendered tickets reach a printer, chosen by URL.

=================================================  ==============================
URL                                                transport
=================================================  ==============================
``tcp://HOST[:PORT]`` (port 9100 by default)       TcpTransport (network printer)
``usb://VID:PID`` (hex ids, e.g. ``04b8:0202``)    UsbTransport (pyusb)
``serial:///dev/ttyUSB0?baudrate=19200``           SerialTransport (pyserial)
``file:///dev/usb/lp0``                            FileTransport (device node)
``cups://QUEUE``                                   CupsTransport (``lp -o raw``)
``preview://DIR``                                  PreviewTransport (PNG files)
=================================================  ==============================
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import SplitResult, urlsplit

from printer.errors import PrinterConfigError
from printer.transports import cups, file, preview_dir, serial_port, tcp, usb
from printer.transports.base import TicketSink, Transport
from printer.transports.cups import CupsTransport
from printer.transports.file import FileTransport
from printer.transports.preview_dir import PreviewTransport
from printer.transports.serial_port import SerialTransport
from printer.transports.tcp import TcpTransport
from printer.transports.usb import UsbTransport

__all__ = [
    "SCHEMES",
    "CupsTransport",
    "FileTransport",
    "PreviewTransport",
    "SerialTransport",
    "TcpTransport",
    "TicketSink",
    "Transport",
    "UsbTransport",
    "open_transport",
]

_FACTORIES: dict[str, Callable[[str, SplitResult], Transport]] = {
    "tcp": tcp.from_url,
    "usb": usb.from_url,
    "serial": serial_port.from_url,
    "file": file.from_url,
    "cups": cups.from_url,
    "preview": preview_dir.from_url,
}

#: Accepted URL forms, as shown in error messages.
SCHEMES: tuple[str, ...] = (
    "tcp://HOST[:PORT]",
    "usb://VID:PID",
    "serial:///dev/ttyUSB0?baudrate=19200",
    "file:///dev/usb/lp0",
    "cups://QUEUE",
    "preview://DIR",
)


def open_transport(url: str) -> Transport:
    """Build the transport a printer URL names. Nothing is opened yet.

    Raises PrinterConfigError, naming the accepted forms, for anything else.
    """
    parts = urlsplit(url.strip())
    factory = _FACTORIES.get(parts.scheme.lower())
    if factory is None:
        raise PrinterConfigError(f"unsupported printer URL {url!r}; use one of: {', '.join(SCHEMES)}")
    return factory(url, parts)
