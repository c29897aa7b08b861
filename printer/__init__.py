"""Ticket printing for NextUp: ESC/POS layout, transports, status, emulator.

Building bytes is separate from sending them. ``render_ticket`` turns a
``TicketPrint`` into the ESC/POS stream for a ``PrinterProfile`` (through
python-escpos's ``Dummy`` printer, so no I/O); a transport chosen by URL sends
it; ``Printer`` ties the two together::

    printer = Printer("tcp://10.0.0.9:9100", PrinterProfile(paper_width_mm=80))
    printer.print_ticket(ticket)      # blocking: run it in a worker thread

Modules: ``ticket``/``profile`` (data), ``layout`` (what goes where),
``layout_items``, ``text_wrap``, ``escpos_render`` (bytes), ``bitmap_text`` and
``fonts`` (raster text), ``preview`` (PNG), ``status`` (DLE EOT),
``transports`` (tcp, usb, serial, file, cups, preview), ``ticket_printer``
(the facade), ``escpos_stream`` (reading streams back) and ``emulator``.

Every error is a ``PrinterError``::

    PrinterError
    ├── PrinterConfigError (also ValueError)  bad URL, profile or font setting;
    │   └── FontNotFound                       retrying will not help
    ├── TicketDataError (also ValueError)      the TicketPrint itself is invalid
    ├── PrinterUnsupported                     the link cannot do it (e.g. status
    │                                          over file://)
    ├── PrinterProtocolError                   the device answered non-ESC/POS bytes
    └── PrinterUnavailable                     cannot print now: retry later or
        ├── PrinterOffline                     use another printer
        │   └── PrinterTimeout                 unreachable / refused / unplugged;
        ├── PaperOut                           no answer in time
        └── CoverOpen
"""

from printer.errors import (
    CoverOpen,
    FontNotFound,
    PaperOut,
    PrinterConfigError,
    PrinterError,
    PrinterOffline,
    PrinterProtocolError,
    PrinterTimeout,
    PrinterUnavailable,
    PrinterUnsupported,
    TicketDataError,
)
from printer.layout import render_ticket, ticket_layout
from printer.preview import render_preview, save_preview
from printer.profile import PrinterProfile
from printer.status import PrinterStatus
from printer.ticket import TicketPrint
from printer.ticket_printer import Printer
from printer.transports import Transport, open_transport

__all__ = [
    "CoverOpen",
    "FontNotFound",
    "PaperOut",
    "Printer",
    "PrinterConfigError",
    "PrinterError",
    "PrinterOffline",
    "PrinterProfile",
    "PrinterProtocolError",
    "PrinterStatus",
    "PrinterTimeout",
    "PrinterUnavailable",
    "PrinterUnsupported",
    "TicketDataError",
    "TicketPrint",
    "Transport",
    "open_transport",
    "render_preview",
    "render_ticket",
    "save_preview",
    "ticket_layout",
]
