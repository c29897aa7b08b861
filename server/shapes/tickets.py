"""Tickets and the counter actions: the ticket JSON, the bodies that issue, move and call tickets,
and what a counter's status change or take/release answers."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType

from server.rules import CounterStatus, TicketStatus
from server.shapes.fields import (
    MAX_NUMBER,
    MAX_REASON,
    MAX_SERVICE,
    TICKET_ID,
    Count,
    Day,
    Shape,
    Time,
    text,
)

#: A service id of the branch; the branch's document narrows it to its ids.
ServiceId = Annotated[
    str, text(MAX_SERVICE, description="A service id of the branch (GET /api/branches/{branch} lists them).")
]
#: A ticket number of today; letters in either case (the server takes them upper-case).
Number = Annotated[
    str,
    text(
        MAX_NUMBER,
        "[A-Za-z]{1,2}[0-9]{1,6}",
        rule="must look like A007: one or two letters and one to six digits",
        description="A ticket number of today, such as A007 (letters are taken in either case).",
    ),
]


class Ticket(Struct, kw_only=True):
    """A ticket. Screens (kiosk and display tokens) read the branch state without ticket ids."""

    id: (
        Annotated[
            str,
            Meta(
                pattern=TICKET_ID, description="Unguessable; the key of the ticket's phone page (not sent to screens)."
            ),
        ]
        | UnsetType
    ) = UNSET
    branch: str
    number: Annotated[
        str, Meta(pattern="^[A-Z]{1,2}[0-9]+$", description="The service prefix and the day's sequence number: A007.")
    ]
    service: Annotated[str, Meta(description="Its service id (changes on transfer).")]
    status: TicketStatus
    priority: Annotated[bool, Meta(description="A priority ticket (优先).")]
    issued_at: Time
    called_at: Annotated[Time | None, Meta(description="The first call.")]
    last_called_at: Annotated[Time | None, Meta(description="The latest call or recall.")]
    finished_at: Annotated[Time | None, Meta(description="When served or cancelled.")]
    counter: Annotated[str | None, Meta(description="The counter it was called to; null while waiting.")]
    calls: Annotated[Count, Meta(description="Calls and recalls so far.")]
    transfers: Count
    business_day: Day
    ahead: Annotated[
        Count | None, Meta(description="Tickets call-next takes before this one; null unless waiting.")
    ] = None
    estimated_wait_s: Annotated[
        Count | None,
        Meta(
            description="Expected seconds until it is called; null unless waiting, and null while no open counter "
            "serves its service (no minutes promised)."
        ),
    ] = None


class NewTicket(Shape):
    """The ticket to issue."""

    service: ServiceId
    priority: bool = False


class ServiceChoice(Shape):
    service: ServiceId


class NumberChoice(Shape):
    number: Number


class PauseReason(Shape):
    reason: Annotated[str, text(MAX_REASON, description="Shown on the lobby display.")]


class NoFields(Shape):
    """Nothing to send; an empty body does too."""


#: Counter actions (``POST .../counters/{counter}/{action}``) and the body each takes.
COUNTER_ACTIONS: dict[str, type[NoFields | NumberChoice | ServiceChoice | PauseReason]] = {
    "call-next": NoFields, "call": NumberChoice, "recall": NoFields, "finish": NoFields, "no-show": NoFields,
    "transfer": ServiceChoice, "reactivate": NumberChoice, "open": NoFields, "pause": PauseReason,
    "close": NoFields, "take": NoFields, "release": NoFields,
}  # fmt: skip


class CounterStatusResult(Struct):
    counter: str
    status: CounterStatus
    reason: Annotated[str | None, Meta(description="The pause reason; null otherwise.")]


class CounterHolder(Struct):
    counter: str
    holder: Annotated[str | None, Meta(description="Who has the counter; null once released.")]
    status: CounterStatus
