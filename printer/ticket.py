"""What gets printed on a queue ticket: plain data, no rendering decisions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from printer.errors import TicketDataError


@dataclass(frozen=True)
class TicketPrint:
    """Everything a printed ticket shows, already resolved by the server.

    ``issued_at`` is printed in its own timezone, so pass branch-local time.
    """

    branch_name: str
    number: str
    service_name_zh: str
    service_name_en: str
    issued_at: datetime
    ahead: int
    estimated_wait_s: int | None
    counters: list[str]
    qr_url: str
    footer: str
    priority: bool = False
    #: No open counter serves the service now: the ticket says so instead of a wait in minutes.
    no_counter_serving: bool = False

    def __post_init__(self) -> None:
        # Fail at construction rather than halfway through rendering, so a
        # bad ticket never leaves half a job in a printer buffer.
        if self.issued_at.tzinfo is None or self.issued_at.utcoffset() is None:
            raise TicketDataError("TicketPrint.issued_at must be timezone-aware")
        if self.ahead < 0:
            raise TicketDataError(f"TicketPrint.ahead must be >= 0, got {self.ahead}")
        if self.estimated_wait_s is not None and self.estimated_wait_s < 0:
            raise TicketDataError(f"TicketPrint.estimated_wait_s must be >= 0 or None, got {self.estimated_wait_s}")
        if self.no_counter_serving and self.estimated_wait_s is not None:
            raise TicketDataError("TicketPrint.estimated_wait_s must be None when no counter is serving")
        if not self.number.strip():
            raise TicketDataError("TicketPrint.number must not be empty")
        if not self.qr_url.strip():
            raise TicketDataError("TicketPrint.qr_url must not be empty")
