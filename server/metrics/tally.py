"""Turning branch events into tallies: what one run of events adds to the metrics. No I/O.

``Tally`` folds events in stream order into per-day increments (``{measure}|{dimension}`` ->
integer), wait and handling samples, and what the metrics know of each counter now (open since,
busy since). The consumer loads the counter states, folds a run of events, and writes the result in
one transaction with the id of the last event (``server/metrics/consumer.py``).

What each event counts, on the local day and hour (branch time zone) of the event:

- ``ticket_issued``: ``issued`` for its service (an arrival);
- ``ticket_called``: ``calls`` for every call of a ticket to a counter (again after a transfer or a
  reactivation; a recall is not a new call), for the service, the counter and the staff member who
  called it; and, on the ticket's first call only, ``called``, ``wait_ms`` (first call - issue) and
  ``within_target`` (wait <= its service's ``target_wait_min``). So ``called`` counts tickets (never
  more than were issued) and ``calls`` counts the work of a counter or a person;
- ``ticket_served``: ``served`` and ``handling_ms`` (finish - the call at the counter that finished
  it, so a ticket transferred after a call is timed at the counter that served it), for the staff
  member who called it there (who served the customer, whoever pressed finish), so that nobody has
  more served than calls;
- ``ticket_no_show``, ``ticket_cancelled``, ``ticket_transferred``: ``no_shows``, ``cancelled``,
  ``transferred`` (by the service it left);
- a counter is ``busy`` from a call until the ticket is served, a no-show or transferred away, and
  ``open`` from ``counter_opened`` (or its first call, when the stream never showed it opening)
  until ``counter_paused`` or ``counter_closed``; ``busy_ms`` and ``open_ms`` are split across the
  hours and days the interval covers. The open time of a counter is a person's from the moment they
  take it or call there, so a person's busy time is always within their open time (a busy rate never
  above 100 %).
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from server.config import Branch

log = logging.getLogger("nextup.metrics")

#: Target wait assumed for a service the configuration no longer knows.
DEFAULT_TARGET_WAIT_MIN = 15

#: Every measure a day's tally holds.
MEASURES = (
    "issued",
    "called",
    "calls",
    "within_target",
    "wait_ms",
    "served",
    "handling_ms",
    "no_shows",
    "cancelled",
    "transferred",
    "busy_ms",
    "open_ms",
)


@dataclass
class CounterState:
    """What the metrics know of a counter now: since when it is open, and whom it is serving."""

    open_since: int | None = None
    opened_by: str = ""
    busy_since: int | None = None
    ticket: str | None = None
    staff: str = ""

    def to_json(self) -> str:
        # The fields by hand: ``asdict`` deep-copies, and this runs for every counter event.
        fields = {"open_since": self.open_since, "opened_by": self.opened_by, "busy_since": self.busy_since,
                  "ticket": self.ticket, "staff": self.staff}  # fmt: skip
        return json.dumps(fields, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> CounterState:
        data = json.loads(text)
        return cls(**{k: data[k] for k in ("open_since", "opened_by", "busy_since", "ticket", "staff") if k in data})


@dataclass(frozen=True)
class Sample:
    """One measured duration: a wait (issue to first call) or a handling time (call to finish)."""

    kind: str
    ms: int
    service: str
    counter: str
    staff: str
    hour: str
    number: str

    def to_json(self) -> str:
        fields = {"kind": self.kind, "ms": self.ms, "service": self.service, "counter": self.counter,
                  "staff": self.staff, "hour": self.hour, "number": self.number}  # fmt: skip
        return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Sample:
        return cls(**json.loads(text))


def iso_ms(value: str) -> int:
    """Milliseconds since the epoch of an ISO 8601 time with an offset, as the scripts write them."""
    return round(datetime.fromisoformat(value).timestamp() * 1000)


def dimensions(service: str = "", counter: str = "", staff: str = "", hour: str = "") -> list[str]:
    """The dimensions a fact counts in: the branch, and each of service, counter, staff, hour given."""
    dims = ["all"]
    if service:
        dims.append(f"service={service}")
    if counter:
        dims.append(f"counter={counter}")
    if staff:
        dims.append(f"staff={staff}")
    if hour:
        dims.append(f"hour={hour}")
    return dims


class Tally:
    def __init__(self, branch: Branch, counters: dict[str, CounterState]) -> None:
        self.branch = branch
        self.counters = counters
        #: day -> field -> increment
        self.increments: dict[str, Counter[str]] = defaultdict(Counter)
        #: day -> samples measured that day
        self.samples: dict[str, list[Sample]] = defaultdict(list)
        #: ticket id -> when it started waiting (ms), or None when it no longer waits; last change wins
        self.waiting: dict[str, int | None] = {}
        #: counters whose state changed
        self.changed_counters: set[str] = set()
        self.applied = 0
        self._day_hour: tuple[int, tuple[str, str]] | None = None

    def local(self, ms: int) -> datetime:
        return datetime.fromtimestamp(ms / 1000, self.branch.zone)

    def day_hour(self, ms: int) -> tuple[str, str]:
        # One event asks for its day and hour several times: the last answer is kept.
        if self._day_hour is not None and self._day_hour[0] == ms:
            return self._day_hour[1]
        moment = self.local(ms)
        answer = moment.date().isoformat(), f"{moment.hour:02d}"
        self._day_hour = (ms, answer)
        return answer

    def add(self, ms: int, measure: str, amount: int, **dims: str) -> None:
        day, hour = self.day_hour(ms)
        tally = self.increments[day]
        for dim in dimensions(hour=hour, **dims):
            tally[f"{measure}|{dim}"] += amount

    def add_interval(self, measure: str, start: int, end: int, **dims: str) -> None:
        """Add an interval's duration, split across the local hours (and days) it covers."""
        for piece_start, piece_end in self.hour_pieces(start, end):
            self.add(piece_start, measure, piece_end - piece_start, **dims)

    def hour_pieces(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """[start, end) cut at every local full hour, as (start, end) pairs in ms."""
        current = start
        while current < end:
            hour_start = self.local(current).replace(minute=0, second=0, microsecond=0)
            boundary = round((hour_start + timedelta(hours=1)).timestamp() * 1000)
            if boundary <= current:  # a daylight-saving fold; never loop in place
                boundary = current + 3_600_000
            piece_end = min(boundary, end)
            yield current, piece_end
            current = piece_end

    def target_ms(self, service: str) -> int:
        known = self.branch.services.get(service)
        return (known.target_wait_min if known else DEFAULT_TARGET_WAIT_MIN) * 60_000

    def counter(self, counter_id: str) -> CounterState:
        self.changed_counters.add(counter_id)
        return self.counters.setdefault(counter_id, CounterState())

    def apply(self, event_type: str, data: dict[str, Any]) -> None:
        """Fold one event (its stream ``type`` and decoded ``data``) into the tally."""
        handler = getattr(self, f"_on_{event_type}", None)
        self.applied += 1
        if handler is not None:
            handler(data, int(data["ts"]))

    def _on_ticket_issued(self, data: dict[str, Any], ts: int) -> None:
        ticket = data["ticket"]
        self.add(ts, "issued", 1, service=ticket["service"])
        self.waiting[ticket["id"]] = iso_ms(ticket["issued_at"])

    def _on_ticket_called(self, data: dict[str, Any], ts: int) -> None:
        ticket, counter_id, staff = data["ticket"], str(data["counter"]), str(data.get("staff") or "")
        state = self.counter(counter_id)
        if state.open_since is None:
            # Counters open from the start have no counter_opened event: open from their first call.
            state.open_since, state.opened_by = ts, staff
        else:
            self.hand_over(counter_id, staff, ts)
        state.busy_since, state.ticket, state.staff = ts, ticket["id"], staff
        self.waiting[ticket["id"]] = None
        service = ticket["service"]
        dims = {"service": service, "counter": counter_id, "staff": staff}
        self.add(ts, "calls", 1, **dims)
        if ticket["called_at"] != ticket["last_called_at"]:
            return  # called before (reactivated, or transferred): its wait was measured at its first call
        wait = ts - iso_ms(ticket["issued_at"])
        self.add(ts, "called", 1, **dims)
        self.add(ts, "wait_ms", wait, **dims)
        self.add(ts, "within_target", 1 if wait <= self.target_ms(service) else 0, **dims)
        self.samples[self.day_hour(ts)[0]].append(
            Sample("wait", wait, service, counter_id, staff, self.day_hour(ts)[1], ticket["number"])
        )

    def server_of(self, data: dict[str, Any]) -> str:
        """Who served the event's ticket: who called it at the counter, else who sent the event."""
        state = self.counters.get(str(data["counter"]))
        if state is not None and state.ticket == data["ticket"]["id"] and state.staff:
            return state.staff
        return str(data.get("staff") or "")

    def _on_ticket_served(self, data: dict[str, Any], ts: int) -> None:
        ticket, counter_id, staff = data["ticket"], str(data["counter"]), self.server_of(data)
        state = self.counter(counter_id)
        called = state.busy_since if state.ticket == ticket["id"] and state.busy_since is not None else None
        if called is None:
            # The metrics started after this call; the last call is the best time left to go by.
            called = iso_ms(ticket["last_called_at"])
        handling = ts - called
        dims = {"service": ticket["service"], "counter": counter_id, "staff": staff}
        self.add(ts, "served", 1, **dims)
        self.add(ts, "handling_ms", handling, **dims)
        day, hour = self.day_hour(ts)
        self.samples[day].append(
            Sample("handling", handling, ticket["service"], counter_id, staff, hour, ticket["number"])
        )
        self.end_busy(counter_id, ts)

    def _on_ticket_no_show(self, data: dict[str, Any], ts: int) -> None:
        ticket, counter_id = data["ticket"], str(data["counter"])
        self.add(ts, "no_shows", 1, service=ticket["service"], counter=counter_id, staff=self.server_of(data))
        self.end_busy(counter_id, ts)

    def _on_ticket_transferred(self, data: dict[str, Any], ts: int) -> None:
        ticket, counter_id = data["ticket"], data.get("counter")
        if counter_id:
            self.add(ts, "transferred", 1, service=data["from_service"], counter=str(counter_id),
                     staff=self.server_of(data))  # fmt: skip
            self.end_busy(str(counter_id), ts)
        else:
            self.add(ts, "transferred", 1, service=data["from_service"])
        # Back in line in its original place: it has waited since it was issued.
        self.waiting[ticket["id"]] = iso_ms(ticket["issued_at"])

    def _on_ticket_cancelled(self, data: dict[str, Any], ts: int) -> None:
        ticket = data["ticket"]
        self.add(ts, "cancelled", 1, service=ticket["service"])
        self.waiting[ticket["id"]] = None

    def _on_ticket_rated(self, data: dict[str, Any], ts: int) -> None:
        # Counted when rated (the hour of the rating), for the counter and staff who served it.
        rating = int(data["rating"])
        dims = {"service": str(data["service"]), "counter": str(data.get("counter") or ""),
                "staff": str(data.get("staff") or "")}  # fmt: skip
        self.add(ts, "ratings", 1, **dims)
        self.add(ts, "rating_sum", rating, **dims)

    def _on_ticket_reactivated(self, data: dict[str, Any], ts: int) -> None:
        self.waiting[data["ticket"]["id"]] = ts

    def _on_counter_opened(self, data: dict[str, Any], ts: int) -> None:
        state = self.counter(str(data["counter"]))
        if state.open_since is None:
            state.open_since, state.opened_by = ts, str(data.get("staff") or "")

    def _on_counter_taken(self, data: dict[str, Any], ts: int) -> None:
        self.hand_over(str(data["counter"]), str(data.get("staff") or ""), ts)

    def hand_over(self, counter_id: str, staff: str, ts: int) -> None:
        """From ``ts`` the open counter's time is ``staff``'s (who took it, or who calls there now)."""
        state = self.counter(counter_id)
        if state.open_since is None or not staff or staff == state.opened_by:
            return
        # Split, not ended: the counter's (and the branch's) open time adds up the same.
        self.add_interval("open_ms", state.open_since, ts, counter=counter_id, staff=state.opened_by)
        state.open_since, state.opened_by = ts, staff

    def _on_counter_paused(self, data: dict[str, Any], ts: int) -> None:
        self.end_open(str(data["counter"]), ts)

    def _on_counter_closed(self, data: dict[str, Any], ts: int) -> None:
        self.end_open(str(data["counter"]), ts)

    def end_busy(self, counter_id: str, ts: int) -> None:
        state = self.counter(counter_id)
        if state.busy_since is not None:
            self.add_interval("busy_ms", state.busy_since, ts, counter=counter_id, staff=state.staff)
        state.busy_since, state.ticket, state.staff = None, None, ""

    def end_open(self, counter_id: str, ts: int) -> None:
        self.end_busy(counter_id, ts)
        state = self.counter(counter_id)
        if state.open_since is not None:
            self.add_interval("open_ms", state.open_since, ts, counter=counter_id, staff=state.opened_by)
        state.open_since, state.opened_by = None, ""

    def add_ongoing(self, now_ms: int) -> None:
        """Count the open and busy intervals still running at ``now_ms``, for a live report."""
        for counter_id, state in self.counters.items():
            if state.busy_since is not None and state.busy_since < now_ms:
                self.add_interval("busy_ms", state.busy_since, now_ms, counter=counter_id, staff=state.staff)
            if state.open_since is not None and state.open_since < now_ms:
                self.add_interval("open_ms", state.open_since, now_ms, counter=counter_id, staff=state.opened_by)


#: A stream entry with its data decoded: (seq, type, data).
Decoded = tuple[str, str, dict[str, Any]]


def decode(entries: Iterable[tuple[str, dict[str, str]]]) -> list[Decoded]:
    """Stream entries ``(seq, {"type", "data"})`` with their data decoded; malformed ones logged and left out."""
    decoded: list[Decoded] = []
    for seq, fields in entries:
        try:
            data = json.loads(fields.get("data", "{}"))
        except ValueError:
            data = None
        if not isinstance(data, dict) or "ts" not in data:
            log.warning("metrics: skipping malformed event %s", seq)
            continue
        decoded.append((seq, fields.get("type", ""), data))
    return decoded


def counters_named(decoded: Iterable[Decoded]) -> set[str]:
    """The counters whose state folding these events may read or change."""
    return {str(data["counter"]) for _, _, data in decoded if data.get("counter")}


def fold(branch: Branch, counters: dict[str, CounterState], entries: Iterable[tuple[str, dict[str, str]]]) -> Tally:
    """A tally of stream entries ``(seq, {"type", "data"})`` applied in order to ``counters``."""
    return fold_decoded(branch, counters, decode(entries))


def fold_decoded(branch: Branch, counters: dict[str, CounterState], decoded: Iterable[Decoded]) -> Tally:
    """``fold`` of entries already decoded."""
    tally = Tally(branch, counters)
    for seq, event_type, data in decoded:
        try:
            tally.apply(event_type, data)
        except (KeyError, TypeError, ValueError) as exc:
            # One malformed event must not stop the metrics forever; it is logged and counts nothing.
            log.warning("metrics: skipping event %s that lacks what its type needs (%r)", seq, exc)
    return tally
