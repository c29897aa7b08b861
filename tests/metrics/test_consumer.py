"""The metrics consumer against a real Redis: restarts and crashes neither double-count nor miss events."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from server import keys
from server.clock import ManualClock
from server.config import Branch
from server.metrics.consumer import GROUP, MetricsConsumer, apply_pending, purge_old_days
from server.metrics.report import build_report
from server.metrics.tally import fold
from server.rules import TicketStatus
from server.store import Actor, QueueStore
from tests.metrics.conftest import hall, shanghai

pytestmark = pytest.mark.redis


@pytest.fixture
async def store(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[QueueStore]:
    """The hall's queue on an empty Redis, with a manual clock at 09:00 on Monday 2026-03-02."""
    client = Redis.from_url(redis_url, decode_responses=True)
    queue = QueueStore(client, hall(), ManualClock(shanghai(2026, 3, 2, 9, 0)))
    await queue.initialise_counters()
    yield queue
    await client.aclose()


def advance(store: QueueStore, minutes: float) -> None:
    clock = store.clock
    assert isinstance(clock, ManualClock)
    clock.set(clock.now() + timedelta(minutes=minutes))


def staff(counter: str) -> Actor:
    return Actor(f"staff{counter}", "staff")


async def busy_stretch(store: QueueStore, customers: int) -> None:
    """Open both counters, then issue, call and finish ``customers`` tickets a few minutes apart."""
    for counter in ("1", "2"):
        if (await store.state()).counters[int(counter) - 1].status != "open":
            await store.set_counter_status(counter, "open", staff(counter))
    for n in range(customers):
        service = "A" if n % 3 else "B"
        await store.issue_ticket(service, False, Actor("kiosk", "kiosk"))
        advance(store, 1.5)
        counter = "1" if service == "A" or n % 2 else "2"
        if await store.call_next(counter, staff(counter)) is not None:
            advance(store, 2 + n % 4)
            outcome = TicketStatus.NO_SHOW if n % 7 == 6 else TicketStatus.SERVED
            await store.end_call(counter, outcome, staff(counter))
    await store.set_counter_status("1", "pause", staff("1"), "lunch")


def expected(branch: Branch, client: redis.Redis) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """Tallies and samples of the whole stream folded once, in memory: what Redis must hold."""
    entries = client.xrange(keys.events(branch.id))
    tally = fold(branch, {}, entries)  # type: ignore[arg-type]
    tallies = {day: {f: n for f, n in counts.items() if n} for day, counts in tally.increments.items()}
    samples = {day: sorted(s.to_json() for s in found) for day, found in tally.samples.items()}
    return tallies, samples


def stored(branch: Branch, client: redis.Redis) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    days = [str(day) for day in client.zrange(keys.metrics_days(branch.id), 0, -1)]
    tallies: dict[str, dict[str, int]] = {}
    samples: dict[str, list[str]] = {}
    for day in days:
        raw: dict[str, str] = client.hgetall(keys.metrics_day_tally(branch.id, day))  # type: ignore[assignment]
        tallies[day] = {field: int(n) for field, n in raw.items()}
        found: list[str] = client.lrange(keys.metrics_day_samples(branch.id, day), 0, -1)  # type: ignore[assignment]
        if found:
            samples[day] = sorted(found)
    return tallies, samples


async def all_applied(client: Redis, branch: Branch, deadline_s: float = 10.0) -> None:
    """Wait until the metrics have applied the stream's newest entry."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        newest = await client.xrevrange(keys.events(branch.id), count=1)
        if newest and await client.get(keys.metrics_applied(branch.id)) == newest[0][0]:
            return
        if loop.time() > end:
            raise TimeoutError("the metrics did not catch up within the deadline")
        await asyncio.sleep(0.02)


def pending(client: redis.Redis, branch: Branch) -> int:
    summary: Any = client.xpending(keys.events(branch.id), GROUP)
    return int(summary["pending"])


async def nothing_pending(client: redis.Redis, branch: Branch, deadline_s: float = 10.0) -> None:
    """Wait until every entry delivered to the group has been acknowledged."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline_s
    while True:
        if not pending(client, branch):
            return
        if loop.time() > end:
            raise TimeoutError("entries are still unacknowledged after the deadline")
        await asyncio.sleep(0.02)


def consumer(store: QueueStore, name: str, **options: Any) -> MetricsConsumer:
    return MetricsConsumer(store.redis, store.branch, store.clock, name=name, block_ms=50, **options)


async def test_a_stopped_consumer_resumes_where_it_stopped(store: QueueStore, redis_client: redis.Redis) -> None:
    """Events made while the consumer was stopped are counted once when it starts again."""
    first = consumer(store, "process-1")
    first.run_in_background()
    await busy_stretch(store, 12)
    await all_applied(store.redis, store.branch)
    await first.stop()
    advance(store, 60)
    await busy_stretch(store, 9)
    second = consumer(store, "process-2")
    second.run_in_background()
    try:
        await all_applied(store.redis, store.branch)
        await busy_stretch(store, 4)
        await all_applied(store.redis, store.branch)
    finally:
        await second.stop()
    assert stored(store.branch, redis_client) == expected(store.branch, redis_client)
    assert stored(store.branch, redis_client)[0]["2026-03-02"]["issued|all"] == 25


async def test_a_crash_between_applying_and_acknowledging_counts_nothing_twice(
    store: QueueStore, redis_client: redis.Redis
) -> None:
    """Entries applied but never acknowledged are delivered again, found applied, and only acknowledged."""
    await busy_stretch(store, 10)
    crashed = consumer(store, "crashed")
    await crashed.ensure_group()
    delivered = await crashed.read(block_ms=None)
    assert len(delivered) == redis_client.xlen(keys.events(store.branch.id))
    await crashed.catch_up(max(delivered))  # applied ... and the process dies before XACK
    assert pending(redis_client, store.branch) == len(delivered)
    before = stored(store.branch, redis_client)
    assert before == expected(store.branch, redis_client)

    await busy_stretch(store, 5)
    survivor = consumer(store, "survivor", claim_idle_ms=0)
    survivor.run_in_background()
    try:
        await all_applied(store.redis, store.branch)
        await nothing_pending(redis_client, store.branch)
    finally:
        await survivor.stop()
    assert pending(redis_client, store.branch) == 0
    assert stored(store.branch, redis_client) == expected(store.branch, redis_client)


async def test_the_same_consumer_name_takes_back_its_own_unacknowledged_entries(
    store: QueueStore, redis_client: redis.Redis
) -> None:
    """A process restarted under its old name re-reads what it held, acknowledges it, and counts it once."""
    await busy_stretch(store, 6)
    before = consumer(store, "host-42")
    await before.ensure_group()
    held = await before.read(block_ms=None)
    await before.catch_up(max(held))
    again = consumer(store, "host-42")
    assert await again.read(block_ms=None) == held
    again.run_in_background()
    try:
        await nothing_pending(redis_client, store.branch)
    finally:
        await again.stop()
    assert pending(redis_client, store.branch) == 0
    assert stored(store.branch, redis_client) == expected(store.branch, redis_client)


async def test_two_processes_share_the_stream_and_count_each_event_once(
    store: QueueStore, redis_client: redis.Redis
) -> None:
    """Two consumers in the group, applying concurrently, leave exactly the tallies of one pass."""
    members = [consumer(store, "one"), consumer(store, "two")]
    for member in members:
        member.run_in_background()
    try:
        await asyncio.gather(busy_stretch(store, 15), *(m.catch_up() for m in members))
        await all_applied(store.redis, store.branch)
    finally:
        for member in members:
            await member.stop()
    assert stored(store.branch, redis_client) == expected(store.branch, redis_client)


async def test_applying_again_finds_nothing_to_apply(store: QueueStore, redis_client: redis.Redis) -> None:
    """apply_pending is idempotent: a second call applies nothing and changes nothing."""
    await busy_stretch(store, 5)
    applied = await apply_pending(store.redis, store.branch)
    assert applied == redis_client.xlen(keys.events(store.branch.id))
    snapshot = stored(store.branch, redis_client)
    assert await apply_pending(store.redis, store.branch) == 0
    assert stored(store.branch, redis_client) == snapshot


async def test_old_days_are_rolled_up_then_their_raw_figures_purged(
    store: QueueStore, redis_client: redis.Redis
) -> None:
    """A day past retention keeps its summary in its rollup and loses its tallies and samples."""
    await busy_stretch(store, 8)
    await store.set_counter_status("2", "close", staff("2"))
    await apply_pending(store.redis, store.branch)
    day = shanghai(2026, 3, 2, 12, 0).astimezone(store.branch.zone).date()
    now = shanghai(2026, 3, 2, 23, 0)
    fresh = await build_report(store.redis, store.branch, day, day, now)
    assert await purge_old_days(store.redis, store.branch, day + timedelta(days=3), retention_days=5) == []
    purged = await purge_old_days(store.redis, store.branch, day + timedelta(days=6), retention_days=5)
    assert purged == [day.isoformat()]
    assert not redis_client.exists(keys.metrics_day_tally(store.branch.id, day.isoformat()))
    assert not redis_client.exists(keys.metrics_day_samples(store.branch.id, day.isoformat()))
    rolled = json.loads(redis_client.get(keys.metrics_rollup(store.branch.id, day.isoformat())))  # type: ignore[arg-type]
    later = await build_report(store.redis, store.branch, day, day, now)
    assert later["days"] == fresh["days"]
    assert rolled["summary"]["totals"] == fresh["days"][0]["totals"]
    # The range-wide figures still add up; only the percentiles needed the samples.
    assert later["totals"]["served"] == fresh["totals"]["served"]
    assert later["totals"]["wait"]["max_s"] == fresh["totals"]["wait"]["max_s"]
    assert later["totals"]["wait"]["median_s"] is None
