"""Folding events into tallies, without Redis: intervals split at local hours and days."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from server.metrics.report import bucket
from server.metrics.tally import CounterState, Sample, Tally
from tests.metrics.conftest import hall, shanghai


def ms(*args: int) -> int:
    return int(shanghai(*args).timestamp() * 1000)


def event(ts: int, **data: Any) -> dict[str, Any]:
    return {"ts": ts, **data}


def test_an_interval_over_midnight_counts_on_both_days_and_hours() -> None:
    """A counter open 23:30-00:30 adds 30 min to hour 23 of one day and 30 min to hour 00 of the next."""
    tally = Tally(hall(), {})
    tally.apply("counter_opened", event(ms(2026, 3, 2, 23, 30), counter="1", staff="alice"))
    tally.apply("counter_closed", event(ms(2026, 3, 3, 0, 30), counter="1", staff="alice"))
    half_hour = 30 * 60_000
    assert dict(tally.increments["2026-03-02"]) == {
        "open_ms|all": half_hour, "open_ms|counter=1": half_hour, "open_ms|staff=alice": half_hour,
        "open_ms|hour=23": half_hour,
    }  # fmt: skip
    assert tally.increments["2026-03-03"]["open_ms|hour=00"] == half_hour
    assert tally.counters["1"] == CounterState()


def test_a_reactivated_ticket_called_again_adds_no_second_wait() -> None:
    """Only a ticket's first call measures a wait; a call after reactivation is busy time only."""
    tally = Tally(hall(), {"1": CounterState(open_since=ms(2026, 3, 2, 9, 0), opened_by="alice")})
    ticket = {"id": "t1", "number": "A001", "service": "A", "issued_at": "2026-03-02T09:00:00.000+08:00",
              "called_at": "2026-03-02T09:05:00.000+08:00", "last_called_at": "2026-03-02T09:30:00.000+08:00"}
    tally.apply("ticket_called", event(ms(2026, 3, 2, 9, 30), ticket=ticket, counter="1", staff="alice"))
    assert tally.increments["2026-03-02"]["called|all"] == 0
    assert not tally.samples
    assert tally.counters["1"].busy_since == ms(2026, 3, 2, 9, 30)
    assert tally.waiting == {"t1": None}


def test_events_of_unknown_types_count_nothing() -> None:
    """An event type the metrics do not know (config_changed, notice_posted) changes no tally."""
    tally = Tally(hall(), {})
    tally.apply("config_changed", event(ms(2026, 3, 2, 9, 0), version=2))
    assert not tally.increments and not tally.changed_counters


def test_ratings_count_for_the_service_counter_and_staff_and_average() -> None:
    """Each rating counts once for its service, counter, staff member and hour; the mean is over ratings."""
    tally = Tally(hall(), {})
    ticket = {"id": "t1", "number": "A001", "service": "A"}
    tally.apply("ticket_rated", event(ms(2026, 3, 2, 9, 40), ticket=ticket, counter="1", staff="alice",
                                      service="A", rating=5))  # fmt: skip
    tally.apply("ticket_rated", event(ms(2026, 3, 2, 10, 5), ticket={**ticket, "id": "t2"}, counter="2",
                                      staff="bob", service="A", rating=2))  # fmt: skip
    day = tally.increments["2026-03-02"]
    assert (bucket(day, "all", None)["ratings"], bucket(day, "all", None)["rating_mean"]) == (2, 3.5)
    assert (bucket(day, "staff=alice", None)["ratings"], bucket(day, "staff=alice", None)["rating_mean"]) == (1, 5)
    assert bucket(day, "counter=2", None)["rating_mean"] == 2
    assert bucket(day, "hour=10", None)["ratings"] == 1
    assert (bucket(day, "service=B", None)["ratings"], bucket(day, "service=B", None)["rating_mean"]) == (0, None)


def test_counter_states_and_samples_are_written_with_every_field() -> None:
    """``to_json`` (written by hand for speed) holds every field of its dataclass, in order, and reads back."""
    state = CounterState(open_since=1, opened_by="李", busy_since=2, ticket="t", staff="s")
    assert state.to_json() == json.dumps(dataclasses.asdict(state), separators=(",", ":"))
    assert CounterState.from_json(state.to_json()) == state
    sample = Sample("wait", 5, "A", "1", "王", "09", "A001")
    assert sample.to_json() == json.dumps(dataclasses.asdict(sample), separators=(",", ":"), ensure_ascii=False)
    assert Sample.from_json(sample.to_json()) == sample
