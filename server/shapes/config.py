"""The branch configuration: one declaration for the TOML file, ``GET/PUT .../config`` and the
schema. ``server.config`` reads a file or the stored JSON into these and checks what a type
cannot say (a known time zone, references between services and counters, one prefix each);
``nextup check-config`` names each problem's field with these types' rules in words.

``Service`` and ``Counter`` are also what the running server holds (``Branch.services``,
``Branch.counters``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from server.shapes.fields import CONFIG_ID, NOT_SPACE

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

ConfigId = Annotated[str, Meta(pattern=CONFIG_ID, extra={"rule": "use 1-32 letters, digits, - or _"})]
Name = Annotated[str, Meta(pattern=NOT_SPACE)]
_TIME = "([01][0-9]|2[0-3]):[0-5][0-9]"
Interval = Annotated[
    str,
    Meta(
        pattern=f"^({_TIME}-({_TIME}|24:00)|closed)$",
        description="Start before end; 24:00 ends at midnight.",
        extra={"rule": 'must be "08:30-17:00", a list of such intervals, or "closed"'},
    ),
]
DayHours = Annotated[
    Interval | list[Interval],
    Meta(
        description='"08:30-17:00", a list of such intervals, or "closed".',
        extra={"rule": 'must be "08:30-17:00", a list of such intervals, or "closed"'},
    ),
]


class BranchSettings(Struct, kw_only=True, frozen=True):
    """The branch's own settings (``[branch]`` without its id)."""

    name_zh: Name = "网点"
    name_en: Name = "Branch"
    timezone: Annotated[str, Meta(pattern=NOT_SPACE, description="An IANA time zone such as Asia/Shanghai.")] = (
        "Asia/Shanghai"
    )
    number_width: Annotated[int, Meta(ge=2, le=6, description="Digits of a ticket number after its prefix.")] = 3
    priority_cap: Annotated[
        int, Meta(ge=1, le=100, description="Most priority tickets a counter calls in a row while regular ones wait.")
    ] = 1
    no_show_window_min: Annotated[
        int, Meta(ge=0, le=24 * 60, description="Minutes after a no-show during which it can be reactivated.")
    ] = 30
    no_show_places_back: Annotated[
        int, Meta(ge=0, le=1000, description="Places behind the head of its queue a reactivated no-show re-enters.")
    ] = 3
    allow_priority: Annotated[bool, Meta(description="Whether kiosks offer priority tickets.")] = True


class BranchTable(BranchSettings, kw_only=True, frozen=True):
    """``[branch]``."""

    id: ConfigId = "main"


class Hours(Struct, kw_only=True):
    """``[hours]``: a weekday not named is closed."""

    mon: DayHours = "closed"
    tue: DayHours = "closed"
    wed: DayHours = "closed"
    thu: DayHours = "closed"
    fri: DayHours = "closed"
    sat: DayHours = "closed"
    sun: DayHours = "closed"
    closed_dates: Annotated[
        list[date],
        Meta(description="Days the branch stays closed.", extra={"rule": "must be a list of dates (2026-10-01)"}),
    ] = msgspec.field(default_factory=list)


#: The hours of a branch file without an ``[hours]`` table: open around the clock.
_ALL_DAY = "00:00-24:00"
ALWAYS_OPEN = Hours(mon=_ALL_DAY, tue=_ALL_DAY, wed=_ALL_DAY, thu=_ALL_DAY, fri=_ALL_DAY, sat=_ALL_DAY, sun=_ALL_DAY)


class Service(Struct, frozen=True):
    """``[[services]]``."""

    id: ConfigId
    prefix: Annotated[str, Meta(pattern="^[A-Z]{1,2}$", extra={"rule": "use one or two capital letters"})]
    name_zh: Name
    name_en: Name
    target_wait_min: Annotated[
        int,
        Meta(ge=1, le=24 * 60, description="Target wait in minutes: the service level is the share called within it."),
    ] = 15
    daily_cap: Annotated[
        int, Meta(ge=0, le=100_000, description="Most tickets per business day; 0: no cap (取号限额).")
    ] = 0
    stop_issuing_before_close_min: Annotated[
        int, Meta(ge=0, le=600, description="Stop issuing this many minutes before the branch closes.")
    ] = 15
    average_handling_s: Annotated[
        int, Meta(ge=1, le=24 * 3600, description="Handling time assumed until measured, in seconds.")
    ] = 300


class Counter(Struct, frozen=True):
    """``[[counters]]``."""

    id: ConfigId
    name_zh: Name
    name_en: Name
    services: Annotated[
        tuple[str, ...],
        Meta(
            min_length=1,
            description="Service ids in order of preference; the order breaks ties only.",
            extra={"rule": "must be a non-empty list of service ids"},
        ),
    ]
    initial_status: Annotated[
        Literal["open", "closed"], Meta(description="Its status the first time the branch runs.")
    ] = "closed"


class BranchFile(Struct, kw_only=True):
    """The branch configuration, in the shape of its TOML file."""

    branch: BranchTable
    hours: Hours = msgspec.field(default_factory=lambda: ALWAYS_OPEN)
    services: Annotated[list[Service], Meta(min_length=1)]
    counters: Annotated[list[Counter], Meta(min_length=1)]


class BranchConfig(BranchFile, kw_only=True):
    """The configuration and its version."""

    version: Annotated[int, Meta(ge=0, description="Bumped by every change.")]


def partial(shape: type[Struct], name: str, doc: str, *, without: tuple[str, ...] = (), **more: Any) -> type[Struct]:
    """A change of ``shape``: each field optional (``UNSET`` when not sent), no other allowed."""
    fields: list[tuple[str, Any, Any]] = [
        (f.name, f.type | UnsetType, UNSET) for f in msgspec.structs.fields(shape) if f.name not in without
    ]
    fields += [(key, value | UnsetType, UNSET) for key, value in more.items()]
    return msgspec.defstruct(
        name, fields, forbid_unknown_fields=True, kw_only=True, module=__name__, namespace={"__doc__": doc}
    )


_CHANGE = (
    "Only the {} fields to change; any other field is 422 naming it. The whole configuration is then "
    "checked: a problem is 422 with field `config`."
)
BranchSettingsChange = partial(BranchSettings, "BranchSettingsChange", _CHANGE.format("branch"))
HoursChange = partial(Hours, "HoursChange", _CHANGE.format("hours"))
ServiceChange = partial(
    Service,
    "ServiceChange",
    _CHANGE.format("service") + " `counters` also adds the service to those counters (a new service needs one).",
    without=("id",),
    counters=Annotated[list[str], Meta(description="Counters that serve it from now on.")],
)
CounterChange = partial(Counter, "CounterChange", _CHANGE.format("counter"), without=("id",))
