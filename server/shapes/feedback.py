"""The customer's phone page: the ticket message it receives, rating a ticket, complaints."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Literal

from msgspec import UNSET, Meta, Struct, UnsetType

from server.shapes.branch import Emergency
from server.shapes.fields import Count, Day, Shape, Time, text, trimmed
from server.shapes.tickets import Ticket

#: Longest comment of a rating and longest complaint, in characters.
COMMENT_MAX = 500
COMPLAINT_MAX = 1000
#: Complaints one ticket may file: enough for a follow-up, too few to flood the managers' list.
COMPLAINTS_PER_TICKET = 3
#: A phone number once stripped.
PHONE = r"\+?[0-9][0-9 ()-]{3,23}"

Stars = Annotated[int, Meta(ge=1, le=5)]


class ComplaintState(str, Enum):
    #: Filed, waiting for an answer; overdue once older than the branch's answer target.
    OPEN = "open"
    #: A manager answered it (the answer is recorded); it may still be closed or reopened.
    ANSWERED = "answered"
    #: Dealt with.
    CLOSED = "closed"


class FiledComplaint(Struct, kw_only=True):
    """A complaint as the ticket's holder sees it: never the phone number nor who answered."""

    state: ComplaintState
    text: str
    filed_at: Time
    answer_due_at: Time
    answer: str | None
    answered_at: Time | None


class Feedback(Struct, kw_only=True):
    rating: Stars | None
    complaints: Count
    complaints_left: Annotated[int, Meta(ge=0, le=COMPLAINTS_PER_TICKET)]
    accepting: Annotated[bool, Meta(description="Whether a rating or a complaint is still taken.")]
    filed: Annotated[
        list[FiledComplaint],
        Meta(
            max_length=COMPLAINTS_PER_TICKET,
            description="The ticket's complaints, oldest first, as its holder sees them.",
        ),
    ]


class TicketMessage(Struct, kw_only=True, tag_field="type", tag="ticket"):
    """What the phone page shows, on every channel (websocket, long polling)."""

    version: Annotated[str, Meta(description="Changes exactly when anything else here does.")]
    ticket: Ticket
    feedback: Feedback
    expires_at: Annotated[
        Time | None,
        Meta(
            description="When the page of a finished ticket expires; null while it does not (not finished, or a "
            "complaint awaits its answer)."
        ),
    ]
    emergency: Annotated[
        Emergency | None, Meta(description="The branch's emergency state, shown to the holder; null normally.")
    ]


class RatingRequest(Shape):
    rating: Annotated[
        float,
        Meta(
            ge=1,
            le=5,
            multiple_of=1,
            description="1 to 5 (5.0 is 5).",
            extra={"rule": "must be a whole number from 1 to 5"},
        ),
    ]
    comment: Annotated[str, Meta(max_length=COMMENT_MAX)] | None = None


class Rating(Struct, kw_only=True):
    rating: Stars
    comment: str
    at: Time


class ComplaintRequest(Shape):
    text: Annotated[str, text(COMPLAINT_MAX)]
    phone: (
        Annotated[
            str,
            Meta(
                max_length=32,
                pattern=trimmed(f"(?:{PHONE})?"),
                description="Stored encrypted; erased after the retention.",
                extra={"rule": "must be a phone number: digits, spaces, '-', '(', ')', a leading '+'"},
            ),
        ]
        | None
    ) = None


class ComplaintFiled(Struct, kw_only=True):
    id: str
    state: Literal["open"]
    filed_at: Time
    answer_due_at: Time


class Complaint(Struct, kw_only=True):
    id: str
    number: str
    service: str
    counter: str | None
    staff: str | None
    ticket_status: str
    business_day: Day
    text: str
    phone: Annotated[str | None, Meta(description="Null when none was given or it was erased.")]
    phone_erased: bool
    state: ComplaintState
    filed_at: Time
    age_s: Count
    waited_s: Annotated[Count, Meta(description="How long it waited for its answer (so far, while open).")]
    answer_due_at: Time
    overdue: Annotated[bool, Meta(description="Open past the branch's answer target.")]
    answered_late: bool
    answer: str | None
    answered_at: Time | None
    answered_by: str | None
    closed_at: Time | None


class Complaints(Struct, kw_only=True):
    complaints: Annotated[list[Complaint], Meta(description="Newest first.")]
    answer_target_h: float


class ComplaintChange(Shape, forbid_unknown_fields=True, kw_only=True):
    """An answer alone answers the complaint. Answering needs an answer, sent now or before (else
    422, field answer)."""

    state: ComplaintState | UnsetType = UNSET
    answer: Annotated[str, Meta(max_length=COMPLAINT_MAX)] | UnsetType | None = UNSET


class RatingEntry(Struct, kw_only=True):
    number: str
    service: str
    counter: str | None
    staff: str | None
    rating: Stars
    comment: str | None
    at: Time
    business_day: Day


class Ratings(Struct):
    ratings: Annotated[list[RatingEntry], Meta(description="Newest first.")]
