"""The queue rules, without I/O.

The Redis scripts in ``server/lua`` apply these rules atomically; this module states them in plain
Python for the API layer (which checks what it can before touching Redis) and for the tests, which
hold the scripts to them. The transition tables are not restated in Lua: the scripts get them from
here when they are loaded (``server/scripts.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import Enum

from server.config import Branch


class TicketStatus(str, Enum):
    #: In a queue, waiting to be called.
    WAITING = "waiting"
    #: Called to a counter; being served or on the way there.
    CALLED = "called"
    #: Finished at the counter.
    SERVED = "served"
    #: Called but did not come (过号); staff may reactivate it within the branch's window.
    NO_SHOW = "no_show"
    #: Given up by its holder while waiting.
    CANCELLED = "cancelled"


class EmergencyKind(str, Enum):
    """Why a branch is in an emergency state (应急预案): every screen shows it, kiosks stop issuing."""

    #: 紧急疏散: everybody leaves the hall.
    EVACUATION = "evacuation"
    #: 系统故障: the system (or a part the hall depends on) failed; service is paused.
    SYSTEM_FAULT = "system_fault"
    #: 临时停业: the branch closes for now (weather, power, an incident).
    CLOSURE = "closure"


class CounterStatus(str, Enum):
    #: Calling tickets.
    OPEN = "open"
    #: Temporarily calling nothing, with a reason (break, system fault ...).
    PAUSED = "paused"
    #: Not staffed.
    CLOSED = "closed"


#: Ticket transitions: action -> statuses it may start from. The scripts refuse any other start
#: with ``invalid_state`` naming the ticket's status (409).
TICKET_TRANSITIONS: dict[str, frozenset[TicketStatus]] = {
    "call": frozenset({TicketStatus.WAITING}),
    "recall": frozenset({TicketStatus.CALLED}),
    "finish": frozenset({TicketStatus.CALLED}),
    "no_show": frozenset({TicketStatus.CALLED}),
    "transfer": frozenset({TicketStatus.WAITING, TicketStatus.CALLED}),
    "cancel": frozenset({TicketStatus.WAITING}),
    "reactivate": frozenset({TicketStatus.NO_SHOW}),
}

#: Counter transitions: action -> statuses it may start from; refused likewise.
COUNTER_TRANSITIONS: dict[str, frozenset[CounterStatus]] = {
    "open": frozenset({CounterStatus.CLOSED, CounterStatus.PAUSED}),
    "pause": frozenset({CounterStatus.OPEN}),
    "close": frozenset({CounterStatus.OPEN, CounterStatus.PAUSED}),
}


def format_number(prefix: str, number: int, width: int) -> str:
    """A001: the prefix and the day's sequence number, zero-padded to ``width`` digits."""
    return f"{prefix}{number:0{width}d}"


def business_day(branch: Branch, moment: datetime) -> date:
    """The calendar date at ``moment`` in the branch's time zone."""
    return moment.astimezone(branch.zone).date()


def choose_priority(streak: int, cap: int, priority_waiting: bool, regular_waiting: bool) -> bool | None:
    """Which class call-next takes: True priority, False regular, None when nothing waits.

    Priority tickets go first, but after ``cap`` priority calls in a row a waiting regular ticket
    is called, so regular customers are never starved.
    """
    if priority_waiting and (streak < cap or not regular_waiting):
        return True
    if regular_waiting:
        return False
    return None


def tickets_ahead(priority: bool, same_class_ahead: int, other_class_waiting: int, cap: int) -> int:
    """How many tickets of its service call-next takes before this one, with the priority cap.

    A regular ticket with R regular tickets before it lets through at most ``cap`` priority tickets
    before each of those R and before itself; a priority ticket with P priority tickets before it
    lets one regular ticket through after every ``cap`` of them.
    """
    if priority:
        return same_class_ahead + min(other_class_waiting, same_class_ahead // cap)
    return same_class_ahead + min(other_class_waiting, cap * (same_class_ahead + 1))


def estimated_wait_s(ahead: int, average_handling_s: int, open_counters: int) -> int:
    """The simple estimate: people ahead x the service's handling time / its open counters.

    ``QueueStore.wait_s`` asks it only while an open counter serves the service (with none it
    promises no minutes); here none counts as one.
    """
    return round(ahead * average_handling_s / max(open_counters, 1))


@dataclass(frozen=True)
class IssueRefusal:
    code: str
    message: str
    message_zh: str
    #: The branch's issuing state named in the 409: "closed" (outside hours or a closed day).
    state: str = "closed"


def issue_refusal(branch: Branch, service_id: str, moment: datetime) -> IssueRefusal | None:
    """Why a ticket of ``service_id`` cannot be issued at ``moment``, or None when it can.

    Tickets are issued while the branch is open, up to the service's stop-issuing margin before the
    interval closes. The daily cap is counted atomically in Redis, not here.
    """
    local = moment.astimezone(branch.zone)
    if local.date() in branch.closed_dates:
        return IssueRefusal("closed", "The branch is closed today.", "本网点今日不营业。")
    minute = local.hour * 60 + local.minute
    service = branch.services[service_id]
    for start, end in branch.hours[local.weekday()]:
        if start <= minute < end:
            # An interval reaching midnight that continues in the next day's first interval is one
            # opening (around the clock), so the margin applies only at a real closing time.
            continues = end == 24 * 60 and _opens_at_midnight(branch, local.date() + timedelta(days=1))
            if continues or minute < end - service.stop_issuing_before_close_min:
                return None
            return IssueRefusal(
                "stopped_issuing",
                f"Tickets for {service.name_en} are no longer issued today: the branch closes soon.",
                f"{service.name_zh}今日已停止取号，网点即将停止营业。",
            )
    return IssueRefusal("closed", "The branch is closed now.", "网点当前不在营业时间。")


def _opens_at_midnight(branch: Branch, day: date) -> bool:
    if day in branch.closed_dates:
        return False
    intervals = branch.hours[day.weekday()]
    return bool(intervals) and intervals[0][0] == 0
