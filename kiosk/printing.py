"""Printing at the kiosk: the TicketPrint of an issued ticket, sent in a worker thread, and printer health.

python-escpos and the transports block (a stalled network printer can hold a print for the whole
write timeout), so every call into ``printer`` runs in ``asyncio.to_thread``: the kiosk's event loop,
which serves the page and talks to the server, never waits on the printer.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from printer.errors import CoverOpen, PaperOut, PrinterError, PrinterOffline, PrinterUnsupported
from printer.status import PrinterStatus
from printer.ticket import TicketPrint
from printer.ticket_printer import Printer
from server.events import PrinterHealth

Json = dict[str, Any]


def health_from_status(status: PrinterStatus) -> PrinterHealth:
    return PrinterHealth(
        online=status.online and not status.error,
        paper_out=status.paper_out,
        paper_near_end=status.paper_near_end,
        cover_open=status.cover_open,
        error=None if status.ready else "the printer reports it cannot print",
    )


def health_after(exc: PrinterError, before: PrinterHealth) -> PrinterHealth:
    """The health a failed print or status check shows."""
    if isinstance(exc, PaperOut):
        return PrinterHealth(online=True, paper_out=True, paper_near_end=True, error=str(exc))
    if isinstance(exc, CoverOpen):
        return PrinterHealth(online=True, cover_open=True, error=str(exc))
    if isinstance(exc, PrinterOffline):
        return PrinterHealth(online=False, error=str(exc))
    return PrinterHealth(online=before.online, paper_near_end=before.paper_near_end, error=str(exc))


#: What the customer is told when the ticket could not be printed, by cause.
PRINT_FAILURES: dict[str, tuple[str, str]] = {
    "paper_out": ("The printer is out of paper.", "打印机缺纸。"),
    "cover_open": ("The printer cover is open.", "打印机盖未合上。"),
    "printer_offline": ("The printer is not responding.", "打印机无响应。"),
    "printer_error": ("The printer could not print.", "打印机无法打印。"),
}


def failure_code(exc: PrinterError) -> str:
    if isinstance(exc, PaperOut):
        return "paper_out"
    if isinstance(exc, CoverOpen):
        return "cover_open"
    if isinstance(exc, PrinterOffline):
        return "printer_offline"
    return "printer_error"


def ticket_print(ticket: Json, services: Json, qr_url: str, footer: str) -> TicketPrint:
    """The printed ticket for an ``issued`` ticket, with names from the latest ``services`` message."""
    branch = services.get("branch") or {}
    service: Json = next((s for s in services.get("services", []) if s.get("id") == ticket["service"]), {})
    counters = [str(c["id"]) for c in branch.get("counters", []) if ticket["service"] in c.get("services", [])]
    branch_name = " ".join(n for n in (branch.get("name_zh"), branch.get("name_en")) if n)
    wait = ticket.get("estimated_wait_s")
    return TicketPrint(
        branch_name=branch_name or str(ticket.get("branch", "")),
        number=str(ticket["number"]),
        service_name_zh=str(service.get("name_zh", ticket["service"])),
        service_name_en=str(service.get("name_en", "")),
        issued_at=datetime.fromisoformat(ticket["issued_at"]),
        ahead=int(ticket.get("ahead") or 0),
        estimated_wait_s=int(wait) if isinstance(wait, int) else None,
        # A waiting ticket without a wait: the server promises no minutes while no counter serves it.
        no_counter_serving=wait is None and ticket.get("status") == "waiting",
        counters=counters,
        qr_url=qr_url,
        footer=footer,
        priority=bool(ticket.get("priority")),
    )


class KioskPrinter:
    """The kiosk's printer: prints and checks status off the event loop, remembers its health."""

    def __init__(self, printer: Printer) -> None:
        self.printer = printer
        self.health = PrinterHealth()

    async def print_ticket(self, ticket: TicketPrint) -> PrinterError | None:
        """Print; the error instead of raising it, because the kiosk carries on either way."""
        try:
            await asyncio.to_thread(self.printer.print_ticket, ticket)
        except PrinterError as exc:
            self.health = health_after(exc, self.health)
            return exc
        self.health = PrinterHealth(paper_near_end=self.health.paper_near_end)
        return None

    async def check(self) -> PrinterHealth:
        """Ask the printer for its status where the link can tell; keep what printing showed otherwise."""
        try:
            status = await asyncio.to_thread(self.printer.status)
        except PrinterUnsupported:
            return self.health
        except PrinterError as exc:
            self.health = health_after(exc, self.health)
        else:
            self.health = health_from_status(status)
        return self.health

    def close(self) -> None:
        self.printer.close()
