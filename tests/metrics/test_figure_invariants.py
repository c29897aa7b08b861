"""Figures a manager reads must be possible (issue #16, "Numbers that cannot be true").

Random days played through the real scripts, by several people at shared counters (one calls, an
admin finishes, another transfers, someone takes the counter over), then the report: no busy rate
above 100 %, nobody with more served than calls, no busy time without open time, no more tickets
called than issued, and the counters' figures add up to the branch's.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.clock import ManualClock
from server.errors import ApiError
from server.metrics.consumer import apply_pending
from server.metrics.report import build_report
from server.rules import TicketStatus
from server.store import Actor, QueueStore
from tests.metrics.conftest import hall, shanghai

pytestmark = pytest.mark.redis

PEOPLE = [Actor("alice", "staff"), Actor("bob", "staff"), Actor("carol", "staff"), Actor("admin", "admin")]
COUNTERS = ("1", "2")

OPERATION = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(["A", "B"])),
    st.tuples(st.sampled_from(["call-next", "finish", "no-show", "transfer", "pause", "open", "close", "take"]),
              st.sampled_from(COUNTERS), st.sampled_from(range(len(PEOPLE)))),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=20)),
)


async def play(store: QueueStore, operations: list[tuple[Any, ...]]) -> None:
    clock = store.clock
    assert isinstance(clock, ManualClock)
    for operation in operations:
        kind = operation[0]
        try:
            if kind == "issue":
                await store.issue_ticket(operation[1], False, Actor("kiosk", "kiosk"))
            elif kind == "wait":
                clock.set(clock.now() + timedelta(minutes=operation[1]))
            else:
                counter, who = operation[1], PEOPLE[operation[2]]
                if kind == "call-next":
                    await store.call_next(counter, who)
                elif kind in ("finish", "no-show"):
                    outcome = TicketStatus.SERVED if kind == "finish" else TicketStatus.NO_SHOW
                    await store.end_call(counter, outcome, who)
                elif kind == "transfer":
                    await store.transfer(who, "B" if counter == "1" else "A", counter=counter)
                elif kind == "take":
                    await store.take_counter(counter, "take", who)
                else:
                    await store.set_counter_status(counter, kind, who)
        except ApiError:
            pass  # refused (nothing waiting, counter busy, closed ...): the day goes on
        clock.set(clock.now() + timedelta(seconds=30))


def check(bucket: dict[str, Any], where: str, at_counters: bool = True) -> None:
    """``at_counters``: every transfer of the bucket took a ticket away from a counter (not the branch's)."""
    ended = bucket["served"] + bucket["no_shows"] + (bucket["transferred"] if at_counters else 0)
    assert ended <= bucket["calls"], f"{where}: more ended than called: {bucket}"
    assert bucket["busy_s"] <= bucket["open_s"] + 1e-6, f"{where}: busy longer than open: {bucket}"
    if bucket["utilisation"] is not None:
        assert 0 <= bucket["utilisation"] <= 1, f"{where}: busy rate {bucket['utilisation']}"
    if bucket["busy_s"] > 0:
        assert bucket["utilisation"] is not None, f"{where}: busy but no busy rate (—)"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATION, min_size=5, max_size=60))
def test_every_figure_of_a_random_day_is_possible(redis_url: str, operations: list[tuple[Any, ...]]) -> None:
    async def run() -> None:
        client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
        try:
            await client.flushdb()
            store = QueueStore(client, hall(), ManualClock(shanghai(2026, 3, 2, 9, 0)))
            await store.initialise_counters()
            await play(store, operations)
            await apply_pending(client, store.branch)
            day = store.clock.now().astimezone(store.branch.zone).date()
            report = await build_report(client, store.branch, day, day, store.clock.now())
        finally:
            await client.aclose()
        totals = report["totals"]
        assert totals["called"] <= totals["issued"]
        assert totals["calls"] >= totals["called"]
        check(totals, "branch", at_counters=False)
        for group in ("by_counter", "by_staff"):
            for key, bucket in report[group].items():
                check(bucket, f"{group} {key}")
        # Every call, ending and second of the counters is the branch's, and is someone's.
        for measure in ("calls", "served", "no_shows", "busy_s", "open_s"):
            by_counter = sum(b[measure] for b in report["by_counter"].values())
            by_staff = sum(b[measure] for b in report["by_staff"].values())
            assert by_counter == pytest.approx(totals[measure]), measure
            assert by_staff == pytest.approx(totals[measure]), measure

    asyncio.run(run())
