"""The Transport interface and URL option parsing shared by all transports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, runtime_checkable
from urllib.parse import SplitResult, parse_qs

from printer.errors import PrinterConfigError
from printer.profile import PrinterProfile
from printer.status import PrinterStatus
from printer.ticket import TicketPrint

T = TypeVar("T")


class Transport(Protocol):
    """Moves rendered ESC/POS bytes to one printer. Blocking by design.

    Every failure is a PrinterError subclass; ``status`` raises
    PrinterUnsupported where the link cannot carry status back.
    """

    @property
    def where(self) -> str:
        """The printer as a URL without options, for messages and logs."""

    def send(self, data: bytes) -> None:
        """Deliver one complete job."""

    def status(self) -> PrinterStatus:
        """Ask the printer how it is."""

    def close(self) -> None:
        """Release the device; the transport may reopen it on the next call."""


@runtime_checkable
class TicketSink(Protocol):
    """A transport that consumes whole tickets instead of bytes (previews)."""

    def write_ticket(self, ticket: TicketPrint, profile: PrinterProfile) -> None:
        """Output one ticket."""


def target(parts: SplitResult) -> str:
    """The path-like part of ``scheme://TARGET``: ``file:///dev/x`` and ``preview://dir`` alike."""
    return parts.netloc + parts.path


def url_options(url: str, parts: SplitResult, allowed: dict[str, Callable[[str], T]]) -> dict[str, T]:
    """Parse ``?key=value`` options, rejecting unknown keys and bad values by name.

    Strict on purpose: a misspelt ``?baudrate`` silently ignored would leave
    a printer printing garbage at the wrong speed.
    """
    options: dict[str, T] = {}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        if key not in allowed:
            accepted = ", ".join(sorted(allowed)) or "none"
            raise PrinterConfigError(f"unknown option {key!r} in printer URL {url!r}; accepted options: {accepted}")
        try:
            options[key] = allowed[key](values[-1])
        except ValueError as exc:
            raise PrinterConfigError(f"bad value {values[-1]!r} for option {key!r} in printer URL {url!r}") from exc
    return options


def positive_float(text: str) -> float:
    """Parse a timeout: a number of seconds greater than zero."""
    value = float(text)
    if not value > 0:
        raise ValueError("must be > 0")
    return value


def any_base_int(text: str) -> int:
    """Parse an integer written in decimal or with a 0x/0o/0b prefix."""
    return int(text, 0)
