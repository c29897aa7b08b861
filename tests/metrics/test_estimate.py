"""The wait estimate: handling times from history, shared counters, busy counters, priority, the API."""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import redis

from server import rules
from server.clock import ManualClock
from server.metrics.estimate import (
    EXACT_SLOTS,
    Handling,
    OpenCounter,
    Snapshot,
    Starts,
    forecast,
    kth_call,
    recent_handling,
)
from tests.metrics.conftest import Hall, running_hall, shanghai


def lognormal_remaining(mean: float, sigma: float, elapsed: float) -> float:
    """E[T - e | T > e] for a lognormal T, by numerical integration of its survival function."""
    mu = math.log(mean) - sigma**2 / 2

    def survival(t: float) -> float:
        return 0.5 * math.erfc((math.log(t) - mu) / (sigma * math.sqrt(2)))

    # Integrate S(t) from e to far in the tail on a log grid (trapezoids), divide by S(e).
    steps, top = 20_000, math.log(mean) + 12 * sigma
    grid = [math.exp(math.log(elapsed) + (top - math.log(elapsed)) * i / steps) for i in range(steps + 1)]
    area = sum((b - a) * (survival(a) + survival(b)) / 2 for a, b in itertools.pairwise(grid))
    return area / survival(elapsed)


def snapshot(counters: list[OpenCounter], queues: Mapping[tuple[str, bool], Sequence[tuple[float, str]]],
             per_call: dict[str, float], cap: int = 1) -> Snapshot:  # fmt: skip
    return Snapshot(1_000.0, counters, queues, per_call, cap)


# --- handling times ------------------------------------------------------------------------------


@pytest.mark.parametrize("elapsed", [30.0, 240.0, 600.0, 1500.0])
def test_the_rest_of_a_handling_is_the_lognormal_mean_residual_time(elapsed: float) -> None:
    """A counter busy for a while is free after the lognormal's expected rest, not mean - elapsed."""
    law = Handling(mean_s=300.0, sigma=0.6)
    assert law.remaining_s(0) == 300.0
    assert law.remaining_s(elapsed) == pytest.approx(lognormal_remaining(300.0, 0.6, elapsed), rel=1e-3)
    # Past the mean the rest grows again: long handlings tend to run on.
    assert law.remaining_s(1500.0) > law.remaining_s(600.0)


def test_handling_time_is_the_recent_mean_pulled_towards_the_configured_one() -> None:
    """Without measurements the configured average stands; the last 50 measurements take over."""
    assert recent_handling([], 300).mean_s == 300
    assert recent_handling([600, 600, 600, 600], 300).mean_s == pytest.approx((4 * 600 + 3 * 300) / 7)
    older, recent = [10_000.0] * 30, [200.0] * 50
    measured = recent_handling(older + recent, 300)
    assert measured.mean_s == pytest.approx((50 * 200 + 3 * 300) / 53)
    assert measured.samples == 50


# --- the replay of call-next ---------------------------------------------------------------------


def test_one_busy_counter_calls_its_line_one_handling_after_another() -> None:
    """A counter free in 100 s calls the three waiting tickets at 100, 100+T and 100+2T."""
    plan = forecast(snapshot([OpenCounter("1", ("A",), free_in_s=100.0)],
                             {("A", False): [(1, "a1"), (2, "a2"), (3, "a3")]}, {"A": 250.0}))  # fmt: skip
    assert [plan.called_in[t] for t in ("a1", "a2", "a3")] == [100.0, 350.0, 600.0]
    assert plan.wait_s(1_000.0, "A", False, 0, "a3") == 600
    assert plan.wait_s(1_200.0, "A", False, 0, "a3") == 400  # 200 s after the snapshot
    assert plan.wait_s(1_700.0, "A", False, 0, "a3") == 0  # overdue: any moment now


def test_older_tickets_of_other_services_hold_a_shared_counter() -> None:
    """Counter 1 serves C and A: the C tickets issued earlier go first, so A waits for counter 2."""
    counters = [OpenCounter("1", ("A", "C"), free_in_s=50.0), OpenCounter("2", ("A",), free_in_s=200.0)]
    queues = {("C", False): [(1, "c1"), (2, "c2")], ("A", False): [(3, "a1"), (4, "a2")]}
    plan = forecast(snapshot(counters, queues, {"A": 300.0, "C": 100.0}))
    # Counter 1: c1 at 50, c2 at 150, a2 at 250; counter 2: a1 at 200.
    assert {t: plan.called_in[t] for t in ("c1", "c2", "a1", "a2")} == {"c1": 50, "c2": 150, "a1": 200, "a2": 250}
    # A new A ticket: counter 2 is free of older tickets at 500, counter 1 at 550.
    assert list(plan.idle_at["A"]) == [500.0, 550.0]
    assert plan.wait_s(1_000.0, "A", False, 2) == 500
    # The simple estimate counts both counters as A's alone and ignores who is busy.
    assert rules.estimated_wait_s(2, 300, 2) == 300


def test_tickets_issued_since_the_snapshot_queue_behind_it() -> None:
    """A ticket the snapshot does not hold takes the k-th call after the counters run out of older ones."""
    plan = forecast(snapshot([OpenCounter("1", ("A",)), OpenCounter("2", ("A",))],
                             {("A", False): [(1, "a1")]}, {"A": 300.0}))  # fmt: skip
    assert plan.called_in["a1"] == 0 and list(plan.idle_at["A"]) == [0.0, 300.0]
    assert plan.wait_s(1_000.0, "A", False, 1) == 0  # counter 2 is free
    assert plan.wait_s(1_000.0, "A", False, 2) == 300  # one more issued since: behind it
    assert plan.wait_s(1_000.0, "A", False, 3) == 300
    assert plan.wait_s(1_000.0, "A", False, 4) == 600
    # Seconds later staff have not called a1 yet (the replay said "at once"): still counted once.
    assert plan.wait_s(1_005.0, "A", False, 1) == 0
    assert plan.wait_s(1_005.0, "A", False, 2) == 295


def test_priority_tickets_go_first_up_to_the_cap_as_call_next_does() -> None:
    """With cap 1 a counter alternates priority and regular tickets while both wait."""
    queues = {("A", True): [(5, "p1"), (6, "p2")], ("A", False): [(1, "r1"), (2, "r2")]}
    plan = forecast(snapshot([OpenCounter("1", ("A",))], queues, {"A": 100.0}))
    assert sorted(plan.called_in, key=plan.called_in.__getitem__) == ["p1", "r1", "p2", "r2"]
    streaked = forecast(snapshot([OpenCounter("1", ("A",), priority_streak=1)], queues, {"A": 100.0}))
    assert sorted(streaked.called_in, key=streaked.called_in.__getitem__) == ["r1", "p1", "r2", "p2"]
    # A new priority ticket goes before the regular line: after the one priority ticket ahead.
    assert plan.wait_s(1_000.0, "A", True, 1) == 100


def test_with_no_open_counter_the_model_promises_no_minutes() -> None:
    """Nobody serves the service at the snapshot: the model has no figure (the store says so in words)."""
    plan = forecast(snapshot([OpenCounter("1", ("B",))], {("A", False): [(1, "a1")]}, {"A": 240.0, "B": 60.0}))
    assert "a1" not in plan.called_in
    assert plan.wait_s(1_000.0, "A", False, 1, "a1") is None
    assert plan.wait_s(1_000.0, "A", False, 1) is None
    assert plan.wait_s(1_000.0, "B", False, 0) == 0
    assert plan.wait_s(1_000.0, "Z", False, 1) is None  # a service the snapshot does not know


def test_the_kth_call_by_rate_matches_counting_call_by_call() -> None:
    """Far down a long line the k-th call is found by rate; it equals counting one call at a time."""
    starts, step = [0.0, 40.0, 90.0, 2_000.0], 100.0
    for not_before in (0.0, 60.0):
        calls = sorted(max(s, not_before) + j * step for s in starts for j in range(200))
        for k in (0, 1, 5, EXACT_SLOTS - 1, EXACT_SLOTS, 150, 400):
            assert kth_call(Starts(starts), step, k, not_before) == pytest.approx(calls[k], abs=step)
            if k < EXACT_SLOTS:
                assert kth_call(Starts(starts), step, k, not_before) == calls[k]  # exact, call by call


def test_far_down_a_line_of_many_counters_the_kth_call_is_within_a_step() -> None:
    """Counters starting at scattered times, thousands of calls ahead: by rate, never a step off."""
    rng = random.Random(14)
    for n in (3, 40, 2_000):
        starts = Starts(rng.uniform(0.0, 4_000.0) for _ in range(n))
        step = 300.0
        for not_before in (0.0, 1_500.0):
            calls = sorted(max(s, not_before) + j * step for s in starts for j in range(3_000 // n + 20))
            for k in (EXACT_SLOTS, 500, 2_999):
                assert kth_call(starts, step, k, not_before) == pytest.approx(calls[k], abs=step)


# --- through the API -----------------------------------------------------------------------------


def wait_for_estimate(hall: Hall, ticket: dict[str, Any], expected: int, deadline_s: float = 10.0) -> None:
    """Wait (with a deadline) for the ticket's estimate to reach ``expected`` (the snapshot refreshes)."""
    deadline = time.monotonic() + deadline_s
    seen: list[Any] = []
    while time.monotonic() < deadline:
        view = hall.api.http.get(f"/api/branches/hall/tickets/{ticket['id']}").json()
        seen.append(view["estimated_wait_s"])
        if view["estimated_wait_s"] == expected:
            return
        time.sleep(0.1)
    raise AssertionError(f"estimate never became {expected}: last {seen[-5:]}")


@pytest.mark.redis
def test_tickets_are_told_the_measured_handling_time_and_the_busy_counter(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """After 10-minute handlings at the only A counter, a new A ticket waits the measured time."""
    clock = ManualClock(shanghai(2026, 3, 2, 9, 0))
    with running_hall(redis_url, tmp_path, clock) as hall:
        hall.at(9, 0).act(hall.alice, "1", "open")
        for i in range(4):
            hall.at(9, 10 * i).issue("A")
            hall.act(hall.alice, "1", "call-next")
            hall.at(9, 10 * i + 10).act(hall.alice, "1", "finish")
        hall.issue("A")
        hall.act(hall.alice, "1", "call-next")  # counter 1 busy from 09:40
        first, second = hall.issue("A"), hall.issue("A")
        assert (first["ahead"], second["ahead"]) == (0, 1)
        # Handling: 4 measured 600 s and the configured 300 s counted 3 times: 3300/7 s. The counter
        # just called someone: free after that. Each call after it: that handling, or a no-show
        # (60 s) at the prior rate of 3 % over 20 calls, with 5 calls today and none missed.
        handling = (4 * 600 + 3 * 300) / 7
        no_show_rate = 0.03 * 20 / (5 + 20)
        per_call = (1 - no_show_rate) * handling + no_show_rate * 60
        wait_for_estimate(hall, first, round(handling))
        wait_for_estimate(hall, second, round(handling + per_call))
        # The simple formula would say 0 and 300 s.
        assert rules.estimated_wait_s(1, 300, 1) == 300
        # Five minutes into the handling, the first ticket's wait is the rest of it.
        hall.at(9, 45)
        rest = Handling(handling, recent_handling([600.0] * 4, 300).sigma).remaining_s(300)
        wait_for_estimate(hall, first, round(rest))
        assert round(rest) > round(handling) - 300  # lognormal: more than mean - elapsed
