"""The Printer facade: render a TicketPrint for a profile and send it.

Blocking by design, like python-escpos underneath; async callers run it in a
worker thread (``await asyncio.to_thread(printer.print_ticket, ticket)``).
"""

from __future__ import annotations

import threading
from types import TracebackType

from printer.errors import PrinterUnsupported
from printer.layout import render_ticket
from printer.profile import PrinterProfile
from printer.status import PrinterStatus, raise_for_status
from printer.ticket import TicketPrint
from printer.transports import TicketSink, Transport, open_transport


class Printer:
    """One ticket printer, addressed by URL (see ``printer.transports``).

    ``check_status`` asks the printer for its status before each ticket where
    the transport can, so "out of paper" is reported as PaperOut instead of
    the ticket vanishing into a printer that cannot print it.
    """

    def __init__(
        self,
        url: str | Transport,
        profile: PrinterProfile | None = None,
        *,
        check_status: bool = True,
    ) -> None:
        self.transport: Transport = open_transport(url) if isinstance(url, str) else url
        self.profile = profile or PrinterProfile()
        self.check_status = check_status
        # One job at a time: bytes of two tickets interleaved on one link
        # would print as garbage, and callers use a thread pool.
        self._lock = threading.Lock()

    def print_ticket(self, ticket: TicketPrint) -> None:
        """Print one ticket, or raise a PrinterError saying why not."""
        with self._lock:
            if isinstance(self.transport, TicketSink):
                self.transport.write_ticket(ticket, self.profile)
                return
            # Render first: a rendering error must not leave the printer
            # with half a job after a status round trip.
            data = render_ticket(ticket, self.profile)
            if self.check_status:
                self._ensure_ready()
            self.transport.send(data)

    def _ensure_ready(self) -> None:
        try:
            status = self.transport.status()
        except PrinterUnsupported:
            # Many printers cannot report status over some links; printing
            # blind is better than refusing to print at all.
            return
        raise_for_status(status, self.transport.where)

    def status(self) -> PrinterStatus:
        """The printer's real-time status; PrinterUnsupported if the link cannot tell."""
        with self._lock:
            return self.transport.status()

    def close(self) -> None:
        with self._lock:
            self.transport.close()

    def __enter__(self) -> Printer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
