"""The fan-out on a real Redis, in this process: following the stream and never waiting on a client."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
import redis

from server import events, keys
from server.fanout import Fanout, Outgoing

pytestmark = pytest.mark.redis


def add_event(client: redis.Redis, branch: str, n: int) -> str:
    data = json.dumps({"type": "ticket_issued", "branch": branch, "ticket": {"id": "secret", "number": f"A{n:03d}"}})
    entry_id: str = client.xadd(keys.events(branch), {"type": "ticket_issued", "data": data})
    return entry_id


async def receive(queue: asyncio.Queue[Outgoing], count: int, within_s: float = 5.0) -> list[Outgoing]:
    deadline = time.monotonic() + within_s
    items: list[Outgoing] = []
    while len(items) < count:
        item = await asyncio.wait_for(queue.get(), max(0.01, deadline - time.monotonic()))
        if item.key is not None:
            items.append(item)
    return items


async def test_followers_deliver_every_new_event_in_order(redis_url: str, redis_client: redis.Redis) -> None:
    """Events added to the stream after start reach a subscriber in stream order, ids removed."""
    add_event(redis_client, "main", 0)  # before start: covered by a client's snapshot, not sent
    fanout = await Fanout.start(redis_url, ["main"])
    try:
        with fanout.subscribe("main") as subscription:
            ids = [add_event(redis_client, "main", n) for n in range(1, 21)]
            items = await receive(subscription.queue, 20)
    finally:
        await fanout.stop()
    assert [json.loads(i.text)["seq"] for i in items] == ids
    assert [json.loads(i.text)["ticket"]["number"] for i in items] == [f"A{n:03d}" for n in range(1, 21)]
    assert all("secret" not in i.text for i in items)


async def test_each_event_is_encoded_once_for_all_subscribers(redis_url: str, redis_client: redis.Redis) -> None:
    """Every subscriber gets the very same encoded message object."""
    fanout = await Fanout.start(redis_url, ["main"])
    try:
        with fanout.subscribe("main") as one, fanout.subscribe("main") as two:
            add_event(redis_client, "main", 1)
            (first,), (second,) = await receive(one.queue, 1), await receive(two.queue, 1)
    finally:
        await fanout.stop()
    assert first is second


async def test_a_full_queue_drops_only_that_subscriber(redis_url: str, redis_client: redis.Redis) -> None:
    """A subscriber that stops draining overflows and is told once; the others get every event."""
    fanout = await Fanout.start(redis_url, ["main"], queue_size=5)
    dropped: list[str] = []
    try:
        with fanout.subscribe("main") as stalled, fanout.subscribe("main") as healthy:
            stalled.on_overflow(lambda: dropped.append("stalled"))
            got: list[Outgoing] = []
            for n in range(12):
                add_event(redis_client, "main", n)
                got += await receive(healthy.queue, 1)
    finally:
        await fanout.stop()
    assert stalled.overflowed and dropped == ["stalled"]
    assert stalled.queue.qsize() == 5
    assert len(got) == 12 and not healthy.overflowed


async def test_other_branches_events_are_not_delivered(redis_url: str, redis_client: redis.Redis) -> None:
    """A subscriber of one branch never gets another branch's events."""
    fanout = await Fanout.start(redis_url, ["main", "north"])
    try:
        with fanout.subscribe("north") as north:
            add_event(redis_client, "main", 1)
            north_id = add_event(redis_client, "north", 1)
            (item,) = await receive(north.queue, 1)
            await asyncio.sleep(0)  # let a wrongly routed event show up, if any
            assert north.queue.empty()
    finally:
        await fanout.stop()
    assert json.loads(item.text)["seq"] == north_id


async def test_heartbeats_reach_every_subscriber(redis_url: str, redis_client: redis.Redis) -> None:
    """Each subscriber gets a ping every heartbeat interval."""
    fanout = await Fanout.start(redis_url, ["main"], heartbeat_s=0.05)
    try:
        with fanout.subscribe("main") as subscription:
            item = await asyncio.wait_for(subscription.queue.get(), 2)
    finally:
        await fanout.stop()
    assert item == Outgoing(None, '{"type":"ping"}')


async def test_a_burst_covered_by_the_snapshot_does_not_overflow(redis_url: str, redis_client: redis.Redis) -> None:
    """Events collected while a client reads its snapshot are dropped, not counted, once it covers them."""
    fanout = await Fanout.start(redis_url, ["main"], queue_size=5)
    try:
        with fanout.subscribe("main") as subscription:
            subscription.hold()
            ids = [add_event(redis_client, "main", n) for n in range(12)]
            await receive(subscription.queue, 12)  # every one of them arrived while holding
            for n in range(12):  # offered again, as if still waiting in the queue
                fanout.publish("main", ids[n], {"type": "ticket_issued", "data": "{}"})
            subscription.resume_after(events.parse_seq(ids[9]) or (0, 0))
            later = add_event(redis_client, "main", 12)
            items = await receive(subscription.queue, 3)
    finally:
        await fanout.stop()
    assert not subscription.overflowed
    assert [json.loads(i.text)["seq"] for i in items] == [ids[10], ids[11], later]
