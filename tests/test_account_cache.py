"""The in-process account cache against a real Redis: one load per miss, invalidation, watchers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis
from redis.asyncio import Redis

from server import keys
from server.account_cache import AccountCache, AccountRecord
from server.auth import Identity, Role
from server.errors import ApiError

pytestmark = pytest.mark.redis


@pytest.fixture
async def cache(redis_url: str, redis_client: redis.Redis) -> AsyncIterator[AccountCache]:
    client = Redis.from_url(redis_url, decode_responses=True)
    account_cache = AccountCache(client)
    await account_cache.start()
    yield account_cache
    await account_cache.stop()
    await client.aclose()


def store(redis_client: redis.Redis, username: str, role: str = "manager", disabled: str = "0") -> None:
    redis_client.hset(keys.user(username), mapping={"role": role, "branch": "main", "disabled": disabled})


def identity(username: str, role: Role = Role.MANAGER) -> Identity:
    return Identity(username, role, "main", frozenset(), time.time() + 60, "s1")


async def test_concurrent_misses_share_one_load(
    cache: AccountCache, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hundred checks of an account not yet cached read Redis once; later checks read none."""
    store(redis_client, "boss")
    reads: list[str] = []
    real_hmget = cache.redis.hmget

    async def counted_hmget(name: str, *args: Any) -> Any:
        reads.append(name)
        return await real_hmget(name, *args)

    monkeypatch.setattr(cache.redis, "hmget", counted_hmget)
    await asyncio.gather(*(cache.check(identity("boss")) for _ in range(100)))
    await cache.check(identity("boss"))
    assert reads == [keys.user("boss")]


async def test_a_change_is_seen_after_changed(cache: AccountCache, redis_client: redis.Redis) -> None:
    """A cached record is replaced once ``changed`` is called; a missing account is cached as missing too."""
    with pytest.raises(ApiError):
        await cache.check(identity("late"))
    store(redis_client, "late")
    await cache.changed("late")
    await cache.check(identity("late"))
    store(redis_client, "late", disabled="1")
    await cache.changed("late")
    with pytest.raises(ApiError) as refused:
        await cache.check(identity("late"))
    assert refused.value.status == 401


async def test_a_change_published_by_another_process_reaches_the_cache_and_wakes_watchers(
    cache: AccountCache, redis_client: redis.Redis, redis_url: str
) -> None:
    """Another process's ``changed`` drops the record here and sets the event of a socket watching it."""
    store(redis_client, "tv1", role="display")
    assert await cache.record("tv1") == AccountRecord("display", "main", False)
    other = AccountCache(Redis.from_url(redis_url, decode_responses=True))
    woken = asyncio.Event()
    with cache.watch(identity("tv1", Role.DISPLAY), woken):
        store(redis_client, "tv1", role="display", disabled="1")
        await other.changed("tv1")
        async with asyncio.timeout(3):
            await woken.wait()
    await other.redis.aclose()
    assert await cache.record("tv1") == AccountRecord("display", "main", True)


async def test_a_load_overtaken_by_a_change_is_not_kept(cache: AccountCache, redis_client: redis.Redis) -> None:
    """A record read before a change but returned after it is not cached."""
    store(redis_client, "boss")
    loading = asyncio.create_task(cache.record("boss"))
    await asyncio.sleep(0)  # the load has started
    cache._forget("boss")  # what the channel does when a change arrives
    await loading
    store(redis_client, "boss", disabled="1")
    assert (await cache.record("boss")) == AccountRecord("manager", "main", True)
