"""The kiosk rate limit's default (issue #16): never refuses a real morning rush, still stops a flood."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import redis
from redis.asyncio import Redis

from server.clock import ManualClock
from server.errors import ApiError
from server.settings import DEFAULT_KIOSK_TICKETS_PER_MINUTE
from server.store import Actor, IssueLimit, QueueStore
from tests.metrics.conftest import hall, shanghai

pytestmark = pytest.mark.redis

KIOSK = Actor("kiosk1", "kiosk")
#: A kiosk at its fastest: tap, print, tear off, next customer.
SECONDS_PER_CUSTOMER = 5


@pytest.fixture
async def store(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[QueueStore]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield QueueStore(client, hall(), ManualClock(shanghai(2026, 3, 2, 9, 0)))
    await client.aclose()


async def test_a_kiosk_at_full_speed_for_ten_minutes_is_never_refused(store: QueueStore) -> None:
    limit = IssueLimit(KIOSK.name, DEFAULT_KIOSK_TICKETS_PER_MINUTE)
    clock = store.clock
    assert isinstance(clock, ManualClock)
    for n in range(10 * 60 // SECONDS_PER_CUSTOMER):
        await store.issue_ticket("A", False, KIOSK, f"rush-{n}", limit)
        clock.set(clock.now() + timedelta(seconds=SECONDS_PER_CUSTOMER))


async def test_a_flood_from_one_kiosk_is_refused_past_the_default(store: QueueStore) -> None:
    limit = IssueLimit(KIOSK.name, DEFAULT_KIOSK_TICKETS_PER_MINUTE)
    for n in range(DEFAULT_KIOSK_TICKETS_PER_MINUTE):
        await store.issue_ticket("A", False, KIOSK, f"flood-{n}", limit)
    with pytest.raises(ApiError) as refused:
        await store.issue_ticket("A", False, KIOSK, "flood-extra", limit)
    assert refused.value.status == 429 and refused.value.code == "rate_limited"
