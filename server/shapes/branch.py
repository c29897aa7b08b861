"""The branch as it runs: its state now, its services and counters as kiosks and displays need
them, the notices ticker, the audit log and the health check."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from msgspec import UNSET, Meta, Struct, UnsetType
from msgspec.structs import replace

from server.rules import CounterStatus, EmergencyKind
from server.shapes.config import BranchTable, Counter, Service
from server.shapes.fields import MAX_NOTICE, SEQ, Count, Shape, Time, text
from server.shapes.tickets import Ticket

Seq = Annotated[str, Meta(pattern=SEQ, description="Id of an event in the branch's stream.")]


class ServiceState(Struct, kw_only=True):
    id: str
    prefix: str
    name_zh: str
    name_en: str
    waiting: Annotated[Count, Meta(description="Tickets waiting, both classes.")]
    priority_waiting: Count


class CounterState(Struct, kw_only=True):
    id: str
    name_zh: str
    name_en: str
    services: list[str]
    status: CounterStatus
    reason: Annotated[str | None, Meta(description="The pause reason; null otherwise.")]
    staff: Annotated[str | None, Meta(description="Who opened or paused it.")]
    holder: Annotated[str | None, Meta(description="Who has taken the counter.")]
    current: Annotated[Ticket | None, Meta(description="The ticket being served.")]


class RecentCall(Struct, kw_only=True):
    """A call or recall."""

    number: str
    counter: str
    service: str
    at: Time
    ticket: Annotated[str | UnsetType, Meta(description="The ticket's id (not sent to screens).")] = UNSET


class Notice(Struct, kw_only=True):
    """The ticker of the lobby displays."""

    text_zh: str
    text_en: str
    emergency: bool
    at: Time


#: The longest own words a manager may add to an emergency, per language.
MAX_EMERGENCY_TEXT = 300


class Emergency(Struct, kw_only=True):
    """The branch's emergency state (应急预案): every screen shows it, kiosks stop issuing."""

    kind: Annotated[
        EmergencyKind, Meta(description="evacuation (紧急疏散), system_fault (系统故障) or closure (暂停营业).")
    ]
    text_zh: Annotated[str, Meta(description="The manager's own words; may be empty.")]
    text_en: Annotated[str, Meta(description="The manager's own words; may be empty.")]
    since: Time


class EmergencyRequest(Shape, forbid_unknown_fields=True):
    """The screens show the kind's own words in both languages, then these, if given."""

    kind: Annotated[
        EmergencyKind, Meta(description="evacuation (紧急疏散), system_fault (系统故障) or closure (暂停营业).")
    ]
    text_zh: Annotated[str, text(MAX_EMERGENCY_TEXT)] | None = None
    text_en: Annotated[str, text(MAX_EMERGENCY_TEXT)] | None = None


class EmergencyState(Struct):
    emergency: Annotated[Emergency | None, Meta(description="The state now in force; null once it ended.")]


class NoticeRequest(Shape):
    """Leave out both texts to clear the ticker."""

    text_zh: Annotated[str, text(MAX_NOTICE)] | None = None
    text_en: Annotated[str, text(MAX_NOTICE)] | None = None
    emergency: bool = False


class BranchNow(Struct, kw_only=True):
    """The queues, counters, latest calls and notice of a branch."""

    branch: str
    services: list[ServiceState]
    counters: list[CounterState]
    recent_calls: Annotated[list[RecentCall], Meta(description="The last calls and recalls, newest first.")]
    notice: Annotated[Notice | None, Meta(description="The ticker on the displays; null when none is posted.")]
    emergency: Annotated[Emergency | None, Meta(description="The branch's emergency state; null in normal service.")]

    def public(self) -> Self:
        """Without ticket ids, for screens: a ticket id is its holder's key to the phone page."""
        counters = [c if c.current is None else replace(c, current=replace(c.current, id=UNSET)) for c in self.counters]
        return replace(self, counters=counters, recent_calls=[replace(r, ticket=UNSET) for r in self.recent_calls])


class State(BranchNow, kw_only=True):
    """What a display or dashboard shows now."""

    seq: Annotated[
        Seq | None,
        Meta(description="Id of the branch's latest event; null before the first. A socket resumes after it."),
    ]


class DisplayState(BranchNow, kw_only=True):
    """The state in a display's snapshot: with the branch's names; its seq is the snapshot's."""

    name_zh: str
    name_en: str
    timezone: str


class ServiceInfo(Struct, kw_only=True):
    id: str
    prefix: str
    name_zh: str
    name_en: str
    target_wait_min: Annotated[int, Meta(ge=1)]

    @classmethod
    def of(cls, service: Service) -> ServiceInfo:
        return cls(id=service.id, prefix=service.prefix, name_zh=service.name_zh, name_en=service.name_en,
                   target_wait_min=service.target_wait_min)  # fmt: skip


class CounterInfo(Struct, kw_only=True):
    id: str
    name_zh: str
    name_en: str
    services: Annotated[list[str], Meta(description="The service ids it serves, in order of preference.")]

    @classmethod
    def of(cls, counter: Counter) -> CounterInfo:
        return cls(id=counter.id, name_zh=counter.name_zh, name_en=counter.name_en, services=list(counter.services))


class BranchNames(Struct, kw_only=True):
    """Which branch, in both languages (the staff and phone pages)."""

    id: str
    name_zh: str
    name_en: str

    @classmethod
    def of(cls, branch: BranchTable, **more: Any) -> Self:
        """The shape of ``branch``; ``more`` gives the fields a subclass adds."""
        return cls(id=branch.id, name_zh=branch.name_zh, name_en=branch.name_en, **more)


class BranchPlace(BranchNames, kw_only=True):
    """The branch's names and time zone (the display page)."""

    timezone: str

    @classmethod
    def of(cls, branch: BranchTable, **more: Any) -> Self:
        return super().of(branch, timezone=branch.timezone, **more)


class BranchInfo(BranchPlace, kw_only=True):
    """The branch as kiosks and displays need it."""

    allow_priority: bool
    services: list[ServiceInfo]
    counters: list[CounterInfo]


class AuditEntry(Struct, kw_only=True):
    id: Seq
    actor: str
    role: str
    source: Annotated[str, Meta(description="The client's network address.")]
    action: str
    at: Time
    details: Annotated[
        dict[str, Any],
        Meta(description="What the action concerns; its fields by action are listed in docs/api.md (GET .../audit)."),
    ]


class Audit(Struct):
    entries: Annotated[list[AuditEntry], Meta(description="Newest first.")]


class Health(Struct):
    status: Literal["ok"]
    branch: str
