"""Retention (issue #10, hole 13): ended tickets and old audit entries go after their time; what is
still in line, recent, or aggregated stays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis
from redis.asyncio import Redis

from server import keys
from server.clock import ManualClock
from server.retention import prune_audit, prune_once, prune_tickets
from server.rules import TicketStatus
from server.settings import PhoneSettings, Retention
from server.store import Actor, QueueStore
from tests.metrics.conftest import hall, shanghai

pytestmark = pytest.mark.redis

KIOSK = Actor("kiosk1", "kiosk")
STAFF = Actor("staff1", "staff")


@pytest.fixture
async def store(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[QueueStore]:
    client = Redis.from_url(redis_url, decode_responses=True)
    queue = QueueStore(client, hall(), ManualClock(shanghai(2026, 3, 2, 9, 0)))
    await queue.initialise_counters()
    await queue.set_counter_status("1", "open", STAFF)
    await queue.set_counter_status("2", "open", STAFF)
    yield queue
    await client.aclose()


def move(store: QueueStore, days: float) -> None:
    clock = store.clock
    assert isinstance(clock, ManualClock)
    clock.set(clock.now() + timedelta(days=days))


async def served_ticket(store: QueueStore, service: str = "A", counter: str = "1") -> str:
    ticket = await store.issue_ticket(service, False, KIOSK)
    called = await store.call_next(counter, STAFF)
    assert called is not None and called.id == ticket.id
    await store.end_call(counter, TicketStatus.SERVED, STAFF)
    return str(ticket.id)


async def test_ended_tickets_go_after_the_retention_and_recent_ones_stay(store: QueueStore) -> None:
    old = [await served_ticket(store) for _ in range(3)]
    waiting = (await store.issue_ticket("A", False, KIOSK)).id  # still in line weeks later
    move(store, 40)
    recent = await served_ticket(store, "B", "2")  # counter 2 serves B only: the A ticket waits on
    redis = store.redis
    assert await redis.exists(*(keys.ticket("hall", t) for t in old)) == 3

    assert await prune_tickets(store, days=30) == 3
    assert await redis.exists(*(keys.ticket("hall", t) for t in old)) == 0
    assert await redis.exists(keys.ticket("hall", waiting)) == 1, "a ticket still waiting must stay"
    assert await redis.exists(keys.ticket("hall", recent)) == 1
    # The old day's number table keeps only the ticket still waiting (reactivate and call look it up).
    assert list((await redis.hgetall(keys.numbers("hall", "2026-03-02"))).values()) == [waiting]
    # The waiting ticket is still served as usual.
    assert (await store.get_ticket(str(waiting))).status == "waiting"
    # Running again removes nothing more: safe from several processes.
    assert await prune_tickets(store, days=30) == 0


async def test_a_fully_ended_day_loses_its_number_tables(store: QueueStore) -> None:
    await served_ticket(store)
    move(store, 2)
    assert await prune_tickets(store, days=1) == 1
    assert not await store.redis.exists(keys.numbers("hall", "2026-03-02"), keys.numbering("hall", "2026-03-02"))


async def test_zero_days_keeps_everything(store: QueueStore) -> None:
    ticket = await served_ticket(store)
    move(store, 4000)
    assert await prune_tickets(store, days=0) == 0
    assert await prune_audit(store, days=0) == 0
    assert await store.redis.exists(keys.ticket("hall", ticket))


async def test_audit_entries_older_than_the_retention_go(store: QueueStore) -> None:
    now_ms = int(store.clock.now().timestamp() * 1000)
    day_ms = 86_400_000
    key = keys.audit("hall")
    await store.redis.delete(key)  # entries of the fixture's changes carry the real time
    for age_days in (400, 370, 10, 0):
        await store.redis.xadd(key, {"action": "test", "age": str(age_days)}, id=f"{now_ms - age_days * day_ms}-0")
    assert await prune_audit(store, days=365) == 2
    ages = [fields["age"] for _, fields in await store.redis.xrange(key)]
    assert ages == ["10", "0"]


async def test_one_pass_reports_what_it_removed(store: QueueStore) -> None:
    await served_ticket(store)
    move(store, 100)
    removed = await prune_once(store, Retention(ticket_days=90, audit_days=365), PhoneSettings())
    assert removed == {"tickets": 1, "audit_entries": 0, "complaint_phones": 0}
