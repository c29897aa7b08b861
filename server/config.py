"""The branch configuration: one TOML file (see ``deploy/branch.example.toml``).

Its tables are declared once, in ``server.shapes.config``: the same declarations check a file,
write and check the JSON of ``GET/PUT .../config`` and make the OpenAPI schema. ``load_config``
reads a file and checks it field by field against them, then what a type cannot say (a known time
zone, intervals that end after they start, one prefix per service, counters that name known
services, a counter for every service), reporting every problem with its line and the field's
rule in words, so that ``nextup check-config FILE`` lists them all at once.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import inspect as mi

from server.errors import ConfigError
from server.shapes.config import ALWAYS_OPEN, BranchFile, BranchTable, DayHours, Hours, Interval
from server.shapes.config import WEEKDAYS as WEEKDAYS
from server.shapes.config import Counter as Counter
from server.shapes.config import Service as Service
from server.shapes.fields import rule


class Branch(BranchTable, frozen=True, kw_only=True, dict=True):
    """A branch as the server runs it: its settings (``[branch]``), and its hours, services and
    counters ready to use."""

    #: weekday (0 = Monday) -> opening intervals in minutes after midnight, end exclusive.
    hours: dict[int, tuple[tuple[int, int], ...]]
    closed_dates: frozenset[date]
    services: dict[str, Service]
    counters: dict[str, Counter]

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

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

    def fields(
        self,
        table: dict[str, Any],
        shape: type[msgspec.Struct],
        path: tuple[str, ...],
        only: tuple[str, ...] = (),
        **defaults: Any,
    ) -> dict[str, Any]:
        """The values of ``table`` for the fields of ``shape`` (or ``only`` these), each checked
        against its declared type.

        A wrong or missing value is a problem (in words: the field's rule) and takes the field's
        default, if it has one; ``defaults`` stand in for values missing from ``table``.
        """
        found: dict[str, Any] = {}
        declared = mi.type_info(shape)
        assert isinstance(declared, mi.StructType)
        for annotated, info in zip(msgspec.structs.fields(shape), declared.fields, strict=True):
            name = info.encode_name
            if only and name not in only:
                continue
            value = table.get(name, defaults.get(name, msgspec.NODEFAULT))
            if value is not msgspec.NODEFAULT:
                try:
                    found[name] = msgspec.convert(value, annotated.type)
                    continue
                except msgspec.ValidationError:
                    pass
            if value is not msgspec.NODEFAULT or info.required:
                self.problem((*path, name), rule(info.type))
            if not info.required:
                found[name] = (
                    annotated.default
                    if annotated.default_factory is msgspec.NODEFAULT
                    else (annotated.default_factory())
                )
        return found


#: The look of an interval, to word a refusal: one that looks like this is out of its day.
_LOOKS_LIKE_INTERVAL = re.compile(r"^\d{2}:\d{2}-\d{2}:\d{2}$")


def _parse_hours(v: _Validator, raw: Any) -> tuple[dict[int, tuple[tuple[int, int], ...]], frozenset[date]]:
    result: dict[int, tuple[tuple[int, int], ...]] = {day: () for day in range(7)}
    if not isinstance(raw, dict):
        v.problem(("hours",), "must be a table of weekdays")
        return result, frozenset()
    for key in raw:
        if key not in Hours.__struct_fields__:
            v.problem(("hours", key), f"unknown key; use {', '.join(WEEKDAYS)} or closed_dates")
    # Each interval on its own, so that a problem names the one at fault.
    days = {name: raw[name] for name in WEEKDAYS if name in raw}
    hours = v.fields({**days, "closed_dates": raw.get("closed_dates", [])}, Hours, ("hours",), only=("closed_dates",))
    for day, name in enumerate(WEEKDAYS):
        value = days.get(name, "closed")
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            v.problem(("hours", name), rule(mi.type_info(DayHours)))
            continue
        intervals: list[tuple[int, int]] = []
        for item in items:
            try:
                interval = msgspec.convert(item, Interval)
            except msgspec.ValidationError:
                looks = isinstance(item, str) and _LOOKS_LIKE_INTERVAL.match(item)
                why = "must start before it ends, within one day" if looks else 'is not an interval like "08:30-17:00"'
                v.problem(("hours", name), f"{item!r} {why}")
                continue
            if interval == "closed":
                continue
            start, end = (int(t[:2]) * 60 + int(t[3:]) for t in interval.split("-"))
            if start >= end:
                v.problem(("hours", name), f"{item!r} must start before it ends, within one day")
                continue
            intervals.append((start, end))
        result[day] = tuple(sorted(intervals))
    return result, frozenset(hours["closed_dates"])


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


def branch_file(branch: Branch) -> BranchFile:
    """The branch in the shape of its TOML file."""

    def interval(start: int, end: int) -> str:
        return f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}"

    days = {WEEKDAYS[day]: [interval(*span) for span in spans] or "closed" for day, spans in branch.hours.items()}
    settings = {name: getattr(branch, name) for name in BranchTable.__struct_fields__}
    return BranchFile(
        branch=BranchTable(**settings),
        hours=Hours(**days, closed_dates=sorted(branch.closed_dates)),
        services=list(branch.services.values()),
        counters=list(branch.counters.values()),
    )


def branch_to_data(branch: Branch) -> dict[str, Any]:
    """The branch in the shape of its TOML file, as plain JSON data."""
    data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(branch_file(branch)))
    return data


def branch_from_data(data: dict[str, Any], v: _Validator) -> Branch:
    table = data.get("branch")
    if not isinstance(table, dict):
        v.problem(("branch",), "missing [branch] table")
        table = {}
    settings = v.fields(table, BranchTable, ("branch",))
    try:
        ZoneInfo(settings["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        v.problem(("branch", "timezone"), f"unknown time zone {settings['timezone']!r} (e.g. Asia/Shanghai)")
        settings["timezone"] = "UTC"

    hours, closed_dates = _parse_hours(v, data.get("hours", msgspec.to_builtins(ALWAYS_OPEN)))

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
        sid = _text(item.get("id"))
        service = v.fields(item, Service, sp, prefix=sid[:1].upper() or "A")
        sid = _text(service.get("id", sid))
        if sid in services:
            v.problem((*sp, "id"), f"service {sid!r} is defined twice")
            continue
        prefix = service.get("prefix")
        if prefix is not None and any(s.prefix == prefix for s in services.values()):
            v.problem((*sp, "prefix"), f"prefix {prefix!r} is already used by another service")
        service_paths.setdefault(sid, sp)
        services[sid] = Service(**{"id": sid, "prefix": "A", "name_zh": "", "name_en": "", **service})

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
        cid = _text(item.get("id"))
        # Names are optional, but a blank one would leave the counter unnamed on every screen.
        counter = v.fields(item, Counter, cp, name_zh=f"{cid}号窗口", name_en=f"Counter {cid}")
        cid = _text(counter.get("id", cid))
        if cid in counters:
            v.problem((*cp, "id"), f"counter {cid!r} is defined twice")
            continue
        for sid in counter.get("services", ()):
            if sid not in services:
                v.problem((*cp, "services"), f"unknown service {sid!r}")
        counters[cid] = Counter(**{"id": cid, "name_zh": "", "name_en": "", "services": (), **counter})
    for sid in services:
        if not any(sid in c.services for c in counters.values()):
            # Named by the service's own entry so the report has its line.
            v.problem((*service_paths[sid], "id"), f"no counter serves service {sid!r}")
    if v.problems:
        raise ConfigError(v.problems)
    return Branch(**settings, hours=hours, closed_dates=closed_dates, services=services, counters=counters)


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def load_config(path: Path) -> Branch:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from exc
    return parse_config(text, str(path))
