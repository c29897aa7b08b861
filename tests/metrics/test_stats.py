"""Percentiles, service level and Erlang C staffing, checked against independent textbook formulas."""

from __future__ import annotations

import math

import pytest

from server.metrics import stats


def textbook_erlang_c(counters: int, traffic: float) -> float:
    """Erlang C straight from its definition with factorials (A^N/N! * N/(N-A) over the sum)."""
    top = traffic**counters / math.factorial(counters) * counters / (counters - traffic)
    bottom = sum(traffic**k / math.factorial(k) for k in range(counters)) + top
    return top / bottom


def textbook_counters_needed(arrivals_per_hour: float, handling_s: float, target_s: float, goal: float) -> int:
    """Smallest N > A with 1 - C(N, A) * exp(-(N - A) * T / h) >= goal, searched from 1."""
    traffic = arrivals_per_hour * handling_s / 3600
    counters = 1
    while True:
        if counters > traffic:
            level = 1 - textbook_erlang_c(counters, traffic) * math.exp(-(counters - traffic) * target_s / handling_s)
            if level >= goal:
                return counters
        counters += 1


def test_median_is_the_middle_value_or_the_mean_of_the_two_middle_values() -> None:
    """An odd count gives its middle value; an even count the mean of its two middle values."""
    assert stats.median([5, 1, 3]) == 3
    assert stats.median([4, 1, 3, 2]) == 2.5
    assert stats.median([]) is None


def test_p90_is_the_nearest_rank() -> None:
    """p90 is the ceil(0.9 n)-th smallest value: always a measured value."""
    assert stats.nearest_rank(list(range(1, 11)), 90) == 9
    assert stats.nearest_rank([10, 20, 30, 40], 90) == 40
    assert stats.nearest_rank([7], 90) == 7
    assert stats.nearest_rank([], 90) is None


def test_duration_stats_in_seconds() -> None:
    """count, mean, median, p90 and max of ms durations come out in seconds."""
    assert stats.duration_stats([180_000, 360_000, 600_000, 780_000]) == {
        "count": 4, "mean_s": 480.0, "median_s": 480.0, "p90_s": 780.0, "max_s": 780.0,
    }  # fmt: skip
    assert stats.duration_stats([])["mean_s"] is None


def test_service_level_and_utilisation_are_shares() -> None:
    """Shares are rounded to four places and undefined (None) with nothing to divide by."""
    assert stats.service_level(3, 4) == 0.75
    assert stats.service_level(0, 0) is None
    assert stats.utilisation(960_000, 6_300_000) == 0.1524
    assert stats.utilisation(5, 0) is None


def test_erlang_c_matches_a_hand_computed_value() -> None:
    """Two erlangs on three counters: P(wait) = (8/6 * 3) / (1 + 2 + 2 + 4) = 4/9."""
    assert stats.erlang_c(3, 2.0) == pytest.approx(4 / 9, rel=1e-12)


@pytest.mark.parametrize("counters", [1, 2, 3, 5, 8, 13, 20, 40])
@pytest.mark.parametrize("load", [0.1, 0.5, 0.8, 0.95])
def test_erlang_c_matches_the_factorial_formula(counters: int, load: float) -> None:
    """The Erlang B recursion gives the same probability of waiting as the factorial formula."""
    traffic = counters * load
    assert stats.erlang_c(counters, traffic) == pytest.approx(textbook_erlang_c(counters, traffic), rel=1e-9)


@pytest.mark.parametrize(
    ("arrivals", "handling", "target"),
    [(5, 400, 500), (12, 300, 900), (30, 240, 600), (60, 300, 300), (100, 180, 120), (8, 900, 1200), (1, 400, 500)],
)
@pytest.mark.parametrize("goal", [0.8, 0.9])
def test_counters_needed_matches_the_textbook_search(
    arrivals: float, handling: float, target: float, goal: float
) -> None:
    """The staffing advice is the textbook's fewest counters meeting the service-level goal."""
    needed = stats.counters_needed(arrivals, handling, target, goal)
    assert needed == textbook_counters_needed(arrivals, handling, target, goal)
    assert stats.erlang_service_level(needed, arrivals, handling, target) >= goal
    if needed > 1:
        assert stats.erlang_service_level(needed - 1, arrivals, handling, target) < goal


def test_no_arrivals_need_no_counters() -> None:
    """An hour nobody arrives in needs no open counter."""
    assert stats.counters_needed(0, 300, 600) == 0


def test_a_busy_hour_needs_more_counters_than_its_erlangs() -> None:
    """360 arrivals an hour of 240 s (24 erlangs), 80 % within 20 s: 29 counters (84 %); 28 give 76 %."""
    assert stats.counters_needed(360, 240, 20, 0.8) == 29
    assert stats.erlang_service_level(29, 360, 240, 20) == pytest.approx(0.8403, abs=1e-4)
    assert stats.erlang_service_level(28, 360, 240, 20) < 0.8
