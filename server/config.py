"""The branch configuration: one TOML file (see ``deploy/branch.example.toml``).

``load_config`` reads and validates it, reporting every problem with its line, so that
``nextup check-config FILE`` can list them all at once.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from server.errors import ConfigError
from server.shapes.config import WEEKDAYS as WEEKDAYS
from server.shapes.config import Counter as Counter
from server.shapes.config import Service as Service

_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_PREFIX = re.compile(r"^[A-Z]{1,2}$")
_INTERVAL = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


@dataclass(frozen=True)
class Branch:
    id: str
    name_zh: str
    name_en: str
    timezone: str
    #: Digits of a ticket number after its prefix (3 gives A001).
    number_width: int
    #: Most priority tickets a counter calls in a row while regular tickets wait.
    priority_cap: int
    #: Minutes after a no-show during which staff can reactivate it.
    no_show_window_min: int
    #: Places behind the head of its queue a reactivated no-show re-enters (过号顺延).
    no_show_places_back: int
    #: Whether kiosks offer priority tickets.
    allow_priority: bool
    #: weekday (0 = Monday) -> opening intervals in minutes after midnight, end exclusive.
    hours: dict[int, tuple[tuple[int, int], ...]]
    closed_dates: frozenset[date]
    services: dict[str, Service]
    counters: dict[str, Counter]
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", ZoneInfo(self.timezone))

    def counters_serving(self, service: str) -> list[str]:
        return [c.id for c in self.counters.values() if service in c.services]


def demo_branch() -> Branch:
    """The built-in branch ``main``: open around the clock, services A-C, counters 1-4 open."""
    services = {
        "A": Service("A", "A", "个人业务", "Personal services", target_wait_min=15),
        "B": Service("B", "B", "对公业务", "Business services", target_wait_min=20),
        "C": Service("C", "C", "咨询", "Enquiries", target_wait_min=10, average_handling_s=180),
    }
    counters = {
        "1": Counter("1", "1号窗口", "Counter 1", ("A", "C"), "open"),
        "2": Counter("2", "2号窗口", "Counter 2", ("A",), "open"),
        "3": Counter("3", "3号窗口", "Counter 3", ("B", "A"), "open"),
        "4": Counter("4", "4号窗口", "Counter 4", ("C", "B"), "open"),
    }
    return Branch(
        id="main",
        name_zh="演示网点",
        name_en="Demo branch",
        timezone="Asia/Shanghai",
        number_width=3,
        priority_cap=1,
        no_show_window_min=30,
        no_show_places_back=3,
        allow_priority=True,
        hours={day: ((0, 24 * 60),) for day in range(7)},
        closed_dates=frozenset(),
        services=services,
        counters=counters,
    )


class _LineFinder:
    """Finds the line of a key in a TOML text, following [table] and [[array]] headers.

    tomllib gives values without positions; branch files are simple enough that a header-and-key
    scan finds the line of every value a validation error can name.
    """

    def __init__(self, text: str) -> None:
        self.lines: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        counts: dict[str, int] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            # A header ends at its first "]": anything after it is a comment.
            header = line.split("]", 1)[0].strip("[ ")
            if line.startswith("[["):
                name = header
                index = counts.get(name, 0)
                counts[name] = index + 1
                table = (name, str(index))
                self.lines.setdefault(table, number)
            elif line.startswith("["):
                table = tuple(part.strip() for part in header.split("."))
                self.lines.setdefault(table, number)
            elif "=" in line and not line.startswith("#"):
                key = line.split("=", 1)[0].strip().strip('"')
                self.lines.setdefault((*table, key), number)

    def line(self, *path: str) -> int | None:
        for end in range(len(path), 0, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


class _Validator:
    def __init__(self, text: str, source: str) -> None:
        self.finder = _LineFinder(text)
        self.source = source
        self.problems: list[str] = []

    def problem(self, path: tuple[str, ...], message: str) -> None:
        line = self.finder.line(*path)
        where = f"{self.source}:{line}" if line else self.source
        self.problems.append(f"{where}: {'.'.join(path)}: {message}")

    def text(self, table: dict[str, Any], key: str, path: tuple[str, ...], default: str | None = None) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            self.problem((*path, key), "must be a non-empty string")
            return default or ""
        return value

    def integer(self, table: dict[str, Any], key: str, path: tuple[str, ...], default: int, low: int, high: int) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.problem((*path, key), f"must be a whole number from {low} to {high}")
            return default
        return value


def _parse_hours(v: _Validator, hours: Any) -> tuple[dict[int, tuple[tuple[int, int], ...]], frozenset[date]]:
    result: dict[int, tuple[tuple[int, int], ...]] = {day: () for day in range(7)}
    closed: set[date] = set()
    if not isinstance(hours, dict):
        v.problem(("hours",), "must be a table of weekdays")
        return result, frozenset()
    for key, value in hours.items():
        if key == "closed_dates":
            if not isinstance(value, list):
                v.problem(("hours", key), "must be a list of dates (2026-10-01)")
                continue
            for item in value:
                try:
                    closed.add(item if isinstance(item, date) else date.fromisoformat(str(item)))
                except ValueError:
                    v.problem(("hours", key), f"{item!r} is not a date (2026-10-01)")
            continue
        if key not in WEEKDAYS:
            v.problem(("hours", key), f"unknown key; use {', '.join(WEEKDAYS)} or closed_dates")
            continue
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            v.problem(("hours", key), 'must be "08:30-17:00", a list of such intervals, or "closed"')
            continue
        intervals: list[tuple[int, int]] = []
        for item in items:
            if item == "closed":
                continue
            match = _INTERVAL.match(str(item))
            if not match:
                v.problem(("hours", key), f'{item!r} is not an interval like "08:30-17:00"')
                continue
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if m1 > 59 or m2 > 59 or not 0 <= start < end <= 24 * 60:
                v.problem(("hours", key), f"{item!r} must start before it ends, within one day")
                continue
            intervals.append((start, end))
        result[WEEKDAYS.index(key)] = tuple(sorted(intervals))
    return result, frozenset(closed)


def parse_config(text: str, source: str = "<config>") -> Branch:
    """A branch from the text of its TOML file; every problem is reported with its line."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from exc
    return branch_from_data(data, _Validator(text, source))


def branch_from_json(data: dict[str, Any]) -> Branch:
    """A branch from the TOML-shaped JSON that ``branch_to_data`` writes (kept in Redis)."""
    return branch_from_data(data, _Validator("", "config"))


def branch_to_data(branch: Branch) -> dict[str, Any]:
    """The branch in the shape of its TOML file, as plain JSON-able data."""

    def interval(start: int, end: int) -> str:
        return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"

    hours: dict[str, Any] = {
        WEEKDAYS[day]: [interval(*span) for span in spans] or "closed" for day, spans in branch.hours.items()
    }
    hours["closed_dates"] = sorted(d.isoformat() for d in branch.closed_dates)
    return {
        "branch": {
            "id": branch.id,
            "name_zh": branch.name_zh,
            "name_en": branch.name_en,
            "timezone": branch.timezone,
            "number_width": branch.number_width,
            "priority_cap": branch.priority_cap,
            "no_show_window_min": branch.no_show_window_min,
            "no_show_places_back": branch.no_show_places_back,
            "allow_priority": branch.allow_priority,
        },
        "hours": hours,
        "services": [msgspec.to_builtins(service) for service in branch.services.values()],
        "counters": [
            {**msgspec.to_builtins(counter), "services": list(counter.services)} for counter in branch.counters.values()
        ],
    }


def branch_from_data(data: dict[str, Any], v: _Validator) -> Branch:
    branch = data.get("branch")
    if not isinstance(branch, dict):
        v.problem(("branch",), "missing [branch] table")
        branch = {}
    p = ("branch",)
    branch_id = v.text(branch, "id", p, "main")
    if branch_id and not _ID.match(branch_id):
        v.problem((*p, "id"), "use 1-32 letters, digits, - or _")
    timezone = v.text(branch, "timezone", p, "Asia/Shanghai")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        v.problem((*p, "timezone"), f"unknown time zone {timezone!r} (e.g. Asia/Shanghai)")
        timezone = "UTC"
    allow_priority = branch.get("allow_priority", True)
    if not isinstance(allow_priority, bool):
        v.problem((*p, "allow_priority"), "must be true or false")
        allow_priority = True

    hours, closed_dates = _parse_hours(v, data.get("hours", {d: "00:00-24:00" for d in WEEKDAYS}))

    services: dict[str, Service] = {}
    service_paths: dict[str, tuple[str, ...]] = {}
    raw_services = data.get("services")
    if not isinstance(raw_services, list) or not raw_services:
        v.problem(("services",), "define at least one [[services]]")
        raw_services = []
    for index, item in enumerate(raw_services):
        sp = ("services", str(index))
        if not isinstance(item, dict):
            v.problem(sp, "must be a table")
            continue
        sid = v.text(item, "id", sp)
        if sid and not _ID.match(sid):
            v.problem((*sp, "id"), "use 1-32 letters, digits, - or _")
        prefix = v.text(item, "prefix", sp, sid[:1].upper() or "A")
        if not _PREFIX.match(prefix):
            v.problem((*sp, "prefix"), "use one or two capital letters")
        if sid in services:
            v.problem((*sp, "id"), f"service {sid!r} is defined twice")
            continue
        if any(s.prefix == prefix for s in services.values()):
            v.problem((*sp, "prefix"), f"prefix {prefix!r} is already used by another service")
        service_paths.setdefault(sid, sp)
        services[sid] = Service(
            id=sid,
            prefix=prefix,
            name_zh=v.text(item, "name_zh", sp),
            name_en=v.text(item, "name_en", sp),
            target_wait_min=v.integer(item, "target_wait_min", sp, 15, 1, 24 * 60),
            daily_cap=v.integer(item, "daily_cap", sp, 0, 0, 100_000),
            stop_issuing_before_close_min=v.integer(item, "stop_issuing_before_close_min", sp, 15, 0, 600),
            average_handling_s=v.integer(item, "average_handling_s", sp, 300, 1, 24 * 3600),
        )

    counters: dict[str, Counter] = {}
    raw_counters = data.get("counters")
    if not isinstance(raw_counters, list) or not raw_counters:
        v.problem(("counters",), "define at least one [[counters]]")
        raw_counters = []
    for index, item in enumerate(raw_counters):
        cp = ("counters", str(index))
        if not isinstance(item, dict):
            v.problem(cp, "must be a table")
            continue
        cid = v.text(item, "id", cp)
        if cid and not _ID.match(cid):
            v.problem((*cp, "id"), "use 1-32 letters, digits, - or _")
        if cid in counters:
            v.problem((*cp, "id"), f"counter {cid!r} is defined twice")
            continue
        served = item.get("services")
        if not isinstance(served, list) or not served or not all(isinstance(s, str) for s in served):
            v.problem((*cp, "services"), "must be a non-empty list of service ids")
            served = []
        for sid in served:
            if sid not in services:
                v.problem((*cp, "services"), f"unknown service {sid!r}")
        status = item.get("initial_status", "closed")
        if status not in ("open", "closed"):
            v.problem((*cp, "initial_status"), 'must be "open" or "closed"')
            status = "closed"
        counters[cid] = Counter(
            id=cid,
            # Optional, but a blank name would leave the counter unnamed on every screen.
            name_zh=v.text(item, "name_zh", cp, f"{cid}号窗口"),
            name_en=v.text(item, "name_en", cp, f"Counter {cid}"),
            services=tuple(s for s in served if isinstance(s, str)),
            initial_status=status,
        )
    for sid in services:
        if not any(sid in c.services for c in counters.values()):
            # Named by the service's own entry so the report has its line.
            v.problem((*service_paths[sid], "id"), f"no counter serves service {sid!r}")

    result = Branch(
        id=branch_id,
        name_zh=v.text(branch, "name_zh", p, "网点"),
        name_en=v.text(branch, "name_en", p, "Branch"),
        timezone=timezone,
        number_width=v.integer(branch, "number_width", p, 3, 2, 6),
        priority_cap=v.integer(branch, "priority_cap", p, 1, 1, 100),
        no_show_window_min=v.integer(branch, "no_show_window_min", p, 30, 0, 24 * 60),
        no_show_places_back=v.integer(branch, "no_show_places_back", p, 3, 0, 1000),
        allow_priority=allow_priority,
        hours=hours,
        closed_dates=closed_dates,
        services=services,
        counters=counters,
    )
    if v.problems:
        raise ConfigError(v.problems)
    return result


def load_config(path: Path) -> Branch:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from exc
    return parse_config(text, str(path))
