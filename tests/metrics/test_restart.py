"""Restarting the server in the middle of a day changes no figure: nothing counted twice, nothing missed."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from server.clock import ManualClock
from tests.metrics.conftest import Hall, running_hall, shanghai
from tests.metrics.test_scripted_day import EXPECTED_BY_COUNTER, EXPECTED_BY_HOUR, EXPECTED_TOTALS, STEPS

pytestmark = pytest.mark.redis


def test_a_server_restart_mid_day_changes_no_figure(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """The day played across three server runs, each stopped mid-day, reports exactly the same figures."""
    clock = ManualClock(shanghai(2026, 3, 2, 8, 0))
    script = iter(STEPS)
    earlier: Hall | None = None
    for steps in (6, 9, len(STEPS)):
        with running_hall(redis_url, tmp_path, clock, earlier) as hall:
            for _ in range(steps):
                step = next(script, None)
                if step is None:
                    break
                step(hall)
        earlier = hall
    with running_hall(redis_url, tmp_path, clock, earlier) as hall:
        hall.at(10, 45)
        report = hall.metrics(**{"from": "2026-03-02", "to": "2026-03-02"}).json()
    assert report["totals"] == EXPECTED_TOTALS
    assert report["by_counter"] == EXPECTED_BY_COUNTER
    assert report["by_hour"] == EXPECTED_BY_HOUR
