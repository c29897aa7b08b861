"""``preview://DIR``: "print" tickets as PNG files, for demos and kiosk development."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from urllib.parse import SplitResult

from printer.errors import PrinterConfigError, PrinterOffline, PrinterUnsupported
from printer.preview import save_preview
from printer.profile import PrinterProfile
from printer.status import PrinterStatus
from printer.ticket import TicketPrint
from printer.transports.base import target, url_options

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


#: Pictures a preview folder keeps by default; the oldest go first (``?keep=N``, 0 keeps all).
DEFAULT_KEEP = 200


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


class PreviewTransport:
    """Writes ``DIR/<date>-<time>-<number>.png`` per ticket, keeping the newest ``keep`` of them.

    It needs the ticket itself, not ESC/POS bytes, so Printer hands it the
    TicketPrint (see ``TicketSink``) and ``send`` refuses raw bytes. A picture shows a customer's
    ticket (its QR code opens the ticket's page), so old ones are deleted, not left to pile up.
    """

    def __init__(self, directory: str | Path, keep: int = DEFAULT_KEEP) -> None:
        self.directory = Path(directory)
        self.keep = keep

    @property
    def where(self) -> str:
        return f"preview://{self.directory}"

    def path_for(self, ticket: TicketPrint) -> Path:
        number = _UNSAFE.sub("_", ticket.number) or "ticket"
        return self.directory / f"{ticket.issued_at:%Y%m%d-%H%M%S}-{number}.png"

    def write_ticket(self, ticket: TicketPrint, profile: PrinterProfile) -> None:
        try:
            save_preview(ticket, profile, self.path_for(ticket))
        except OSError as exc:
            raise PrinterOffline(f"cannot write preview into {self.directory}: {exc}") from exc
        self.prune()

    def prune(self) -> int:
        """Delete all but the newest ``keep`` pictures (by name: date and time first); how many went."""
        if not self.keep:
            return 0
        pictures = sorted(self.directory.glob("*.png"))
        removed = 0
        for path in pictures[: max(0, len(pictures) - self.keep)]:
            with contextlib.suppress(FileNotFoundError):  # another kiosk process pruned it first
                path.unlink()
                removed += 1
        return removed

    def send(self, data: bytes) -> None:
        raise PrinterUnsupported(f"{self.where} draws tickets, not raw ESC/POS bytes; use Printer.print_ticket")

    def status(self) -> PrinterStatus:
        """Always ready: there is no paper to run out of."""
        return PrinterStatus()

    def close(self) -> None:
        """Nothing to release."""


def from_url(url: str, parts: SplitResult) -> PreviewTransport:
    directory = target(parts)
    if not directory:
        raise PrinterConfigError(f"printer URL {url!r} needs a directory: preview://DIR")
    options = url_options(url, parts, {"keep": _count})
    return PreviewTransport(directory, options.get("keep", DEFAULT_KEEP))
