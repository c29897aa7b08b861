"""Following each branch's event stream and fanning every event out to the websocket clients.

One ``Fanout`` per server process. It follows the stream of every branch it serves with
``XREAD BLOCK`` from the last id it saw, on a Redis client of its own (a blocking read holds its
connection), so every process sees every event, in stream order, and a Redis hiccup loses nothing:
the follower retries from the same id.

Each event is encoded to JSON text once and offered to every subscriber of its branch. Offering
never awaits: a subscriber has a bounded queue, drained by its own sender task; a subscriber whose
queue is full is marked overflowed and its connection closed (it resyncs on reconnect), so one slow
screen never delays the others.

Subscribers register before reading their snapshot or backlog, so everything after the position the
follower had then reaches their queue; the sender drops what the snapshot or backlog already
covered by comparing stream positions (``Outgoing.key``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server import events, keys

log = logging.getLogger("nextup.fanout")

#: Messages a client may have waiting before it counts as too slow: minutes of a busy hall.
QUEUE_SIZE = 512
#: Seconds between the server's heartbeat pings.
HEARTBEAT_S = 5.0
#: Longest XREAD BLOCK, in milliseconds; an idle follower wakes this often.
BLOCK_MS = 5_000
#: Entries read per XREAD.
READ_COUNT = 500


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as sent: its stream position (None for heartbeats) and its JSON text."""

    key: tuple[int, int] | None
    text: str


class Subscription:
    """One client's outgoing queue. ``offer`` never blocks; overflowing it ends the subscription."""

    def __init__(self, branch: str, queue_size: int) -> None:
        self.branch = branch
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue(queue_size)
        self.overflowed = False
        self._on_overflow: Callable[[], object] | None = None

    def on_overflow(self, callback: Callable[[], object]) -> None:
        self._on_overflow = callback
        if self.overflowed:
            callback()

    def offer(self, item: Outgoing) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            if self._on_overflow is not None:
                self._on_overflow()


class Fanout:
    def __init__(
        self,
        redis: Redis,
        branches: Iterable[str],
        *,
        queue_size: int = QUEUE_SIZE,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.redis = redis
        self.queue_size = queue_size
        self.heartbeat_s = heartbeat_s
        self._subscribers: dict[str, set[Subscription]] = {branch: set() for branch in branches}
        self._positions: dict[str, str] = {}
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    async def start(
        cls,
        redis_url: str,
        branches: Iterable[str],
        *,
        queue_size: int = QUEUE_SIZE,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> Fanout:
        """Connect, note where each stream ends, and start following them."""
        redis = Redis.from_url(redis_url, decode_responses=True)
        fanout = cls(redis, branches, queue_size=queue_size, heartbeat_s=heartbeat_s)
        try:
            # Where each stream ends now, before any client can subscribe: a client's snapshot is read
            # later, so it can only be at or past this point, and the follower delivers everything after.
            for branch in fanout._subscribers:
                last = await redis.xrevrange(keys.events(branch), count=1)
                fanout._positions[branch] = str(last[0][0]) if last else "0-0"
        except BaseException:
            await redis.aclose()
            raise
        fanout._tasks = [asyncio.create_task(fanout._follow(b), name=f"follow {b}") for b in fanout._subscribers]
        fanout._tasks.append(asyncio.create_task(fanout._heartbeat(), name="heartbeat"))
        return fanout

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.redis.aclose()

    def serves(self, branch: str) -> bool:
        return branch in self._subscribers

    def subscriber_count(self, branch: str) -> int:
        return len(self._subscribers.get(branch, ()))

    @contextlib.contextmanager
    def subscribe(self, branch: str) -> Iterator[Subscription]:
        """A subscription to one branch's events from now on; removed when the block ends."""
        subscription = Subscription(branch, self.queue_size)
        subscribers = self._subscribers[branch]
        subscribers.add(subscription)
        try:
            yield subscription
        finally:
            subscribers.discard(subscription)

    def publish(self, branch: str, seq: str, fields: dict[str, str]) -> None:
        """Offer one stream entry to every subscriber of its branch, encoded once."""
        self._positions[branch] = seq
        subscribers = self._subscribers.get(branch)
        if not subscribers:
            return
        message = events.public_message(events.message_from_entry(seq, fields))
        item = Outgoing(events.parse_seq(seq), events.encode(message))
        # A copy: an overflowing subscriber's callback may end its subscription while we iterate.
        for subscription in list(subscribers):
            subscription.offer(item)

    async def _follow(self, branch: str) -> None:
        key = keys.events(branch)
        delay = 0.1
        while True:
            try:
                reply = cast(
                    list[tuple[str, list[tuple[str, dict[str, str]]]]],
                    await self.redis.xread({key: self._positions[branch]}, count=READ_COUNT, block=BLOCK_MS),
                )
            except RedisError as exc:
                log.warning("reading the events of branch %s failed (%s); retrying in %.1f s", branch, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            delay = 0.1
            for _stream, entries in reply or ():
                for seq, fields in entries:
                    self.publish(branch, seq, fields)

    async def _heartbeat(self) -> None:
        ping = Outgoing(None, events.PING_TEXT)
        while True:
            await asyncio.sleep(self.heartbeat_s)
            for subscribers in self._subscribers.values():
                for subscription in list(subscribers):
                    subscription.offer(ping)
