"""Statistics of waits and handling times, and Erlang C staffing: pure functions, no I/O.

Durations come in as whole milliseconds and go out as seconds. The median is the middle value (the
mean of the two middle values for an even count); p90 is the nearest-rank 90th percentile, the
smallest value at least 90 % of the values do not exceed, so it is always a measured duration.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

#: Share of customers a branch aims to call within their service's target wait (e.g. 80 % within
#: 15 minutes); the staffing advice sizes counters for it.
SERVICE_LEVEL_GOAL = 0.8

#: Most counters the staffing advice will ever propose for one hour; past this the load is not a
#: staffing question.
MAX_COUNTERS = 500


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle values for an even count; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return (ordered[middle - 1] + ordered[middle]) / 2


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: the ceil(percent/100 * n)-th smallest value; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return float(ordered[rank - 1])


def duration_stats(samples_ms: Sequence[int]) -> dict[str, Any]:
    """count, mean, median, p90 and max of durations in ms, as seconds (null when there are none)."""
    if not samples_ms:
        return {"count": 0, "mean_s": None, "median_s": None, "p90_s": None, "max_s": None}
    mid = median(samples_ms)
    p90 = nearest_rank(samples_ms, 90)
    return {
        "count": len(samples_ms),
        "mean_s": round(sum(samples_ms) / len(samples_ms) / 1000, 3),
        "median_s": None if mid is None else mid / 1000,
        "p90_s": None if p90 is None else p90 / 1000,
        "max_s": max(samples_ms) / 1000,
    }


def service_level(within_target: int, called: int) -> float | None:
    """Share of called tickets that were called within their service's target wait."""
    if called <= 0:
        return None
    return round(within_target / called, 4)


def utilisation(busy_ms: int, open_ms: int) -> float | None:
    """Share of a counter's open time spent serving someone."""
    if open_ms <= 0:
        return None
    return round(busy_ms / open_ms, 4)


def erlang_c(counters: int, traffic: float) -> float:
    """Probability that an arriving customer has to wait (Erlang C), with ``traffic`` in erlangs.

    Computed through the Erlang B recursion, which stays exact where factorials would overflow.
    With traffic at or above the counters the queue grows without bound: everyone waits.
    """
    if traffic <= 0:
        return 0.0
    if counters <= traffic:
        return 1.0
    blocking = 1.0
    for n in range(1, counters + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    return counters * blocking / (counters - traffic * (1 - blocking))


def erlang_service_level(
    counters: int, arrivals_per_hour: float, mean_handling_s: float, target_wait_s: float
) -> float:
    """Share of customers called within ``target_wait_s`` with ``counters`` open (Erlang C model)."""
    traffic = arrivals_per_hour / 3600 * mean_handling_s
    if traffic <= 0:
        return 1.0
    if counters <= traffic:
        return 0.0
    waiting = erlang_c(counters, traffic)
    return 1 - waiting * math.exp(-(counters - traffic) * target_wait_s / mean_handling_s)


def counters_needed(
    arrivals_per_hour: float, mean_handling_s: float, target_wait_s: float, goal: float = SERVICE_LEVEL_GOAL
) -> int:
    """Fewest open counters that call ``goal`` of the customers within ``target_wait_s``."""
    if arrivals_per_hour <= 0 or mean_handling_s <= 0:
        return 0
    traffic = arrivals_per_hour / 3600 * mean_handling_s
    counters = max(1, math.floor(traffic) + 1)
    while counters < MAX_COUNTERS:
        if erlang_service_level(counters, arrivals_per_hour, mean_handling_s, target_wait_s) >= goal:
            return counters
        counters += 1
    return MAX_COUNTERS
