"""The script batcher against a real Redis: calls sent together, each answered on its own."""

from __future__ import annotations

import asyncio
import json

import pytest
import redis
from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import ResponseError

from server.script_batcher import ScriptBatcher, pack_evalsha

pytestmark = pytest.mark.redis


def test_a_packed_call_is_the_bytes_redis_py_sends() -> None:
    """Text, non-ASCII text, integers, negative integers and floats are encoded as redis-py encodes them."""
    args = [1733000000000, "2026-12-01T16:00:00.000+08:00", "管理员", "", 0, -3, 1.5]
    expected = b"".join(Connection().pack_commands([("EVALSHA", "f" * 40, 1, "nextup:b:", *args)]))
    assert pack_evalsha("f" * 40, ["nextup:b:"], args) == expected


async def test_concurrent_calls_each_get_their_own_reply(redis_client: redis.Redis, redis_url: str) -> None:
    """Fifty calls made at once: each gets the reply of its own arguments."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        batcher = ScriptBatcher(client)
        await batcher.load()
        batcher.shas["echo"] = str(await client.script_load("return KEYS[1] .. ARGV[1]"))
        replies = await asyncio.gather(*(batcher.run("echo", [f"k{i}:"], [i]) for i in range(50)))
        assert replies == [f"k{i}:{i}" for i in range(50)]
    finally:
        await client.aclose()


async def test_a_flushed_script_cache_is_loaded_again(redis_client: redis.Redis, redis_url: str) -> None:
    """After Redis loses its scripts (a restart), the next call loads them again and succeeds."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        batcher = ScriptBatcher(client)
        args: list[str | int | float] = [0, "", "", "nobranch", 100, "", "", "t1"]
        await batcher.run("ticket_view", ["nextup:nobranch:"], args)
        redis_client.script_flush()
        reply = await batcher.run("ticket_view", ["nextup:nobranch:"], args)
        assert json.loads(reply)["error"] == "not_found"
    finally:
        await client.aclose()


async def test_an_error_reply_fails_only_its_own_call(redis_client: redis.Redis, redis_url: str) -> None:
    """A script error raises in the call that caused it; the call sent with it still gets its reply."""
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        batcher = ScriptBatcher(client)
        await batcher.load()
        batcher.shas["broken"] = str(await client.script_load("return redis.call('INCRBY', KEYS[1], ARGV[1])"))
        good = batcher.run("broken", ["batcher:n"], [2])
        bad = batcher.run("broken", ["batcher:n"], ["not a number"])
        results = await asyncio.gather(good, bad, return_exceptions=True)
        assert results[0] == "2"
        assert isinstance(results[1], ResponseError)
    finally:
        await client.aclose()
