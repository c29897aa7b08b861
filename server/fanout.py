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
import functools
import gc
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server import events, keys
from server.background import BackgroundTask, Backoff, Loop
from server.redis_connect import connect as connect_redis

log = logging.getLogger("nextup.fanout")

#: Messages a client may have waiting before it counts as too slow: minutes of a busy hall.
QUEUE_SIZE = 512
#: Seconds between the server's heartbeat pings.
HEARTBEAT_S = 5.0
#: Longest XREAD BLOCK, in milliseconds; an idle follower wakes this often.
BLOCK_MS = 5_000
#: Entries read per XREAD.
READ_COUNT = 500
#: Seconds without a client arriving or leaving after which the heap is frozen again (see ``_settle_heap``).
SETTLE_S = 2.0
#: Shortest time between two such freezes, in seconds.
SETTLE_EVERY_S = 30.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message as sent: its stream position (None for heartbeats) and its JSON text.

    ``asgi`` is the ASGI send message, built once and shared by every client that sends it.
    """

    key: tuple[int, int] | None
    text: str
    asgi: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "asgi", {"type": "websocket.send", "text": self.text})


class OutgoingQueue:
    """The part of ``asyncio.Queue`` a sender needs, without its bookkeeping.

    A fan-out to a thousand screens puts into a thousand queues per event, so the few microseconds
    ``asyncio.Queue`` spends on task counting and waiter lists add up. One reader per queue.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Outgoing] = deque()
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Outgoing) -> None:
        self._items.append(item)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def get(self) -> Outgoing:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def get_nowait(self) -> Outgoing:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


class Subscription:
    """One client's outgoing queue. ``offer`` never blocks; overflowing it ends the subscription.

    A client reading its snapshot or backlog (between ``hold`` and ``resume_after``) may collect
    events without limit: a burst the snapshot already covers must not count against it.
    """

    def __init__(self, branch: str, queue_size: int) -> None:
        self.branch = branch
        self.limit = queue_size
        # Unbounded as a queue: ``offer`` enforces the limit, so that it can be lifted while holding.
        self.queue = OutgoingQueue()
        self.overflowed = False
        self._holding = False
        self._floor: tuple[int, int] | None = None
        self._on_overflow: Callable[[], object] | None = None

    def on_overflow(self, callback: Callable[[], object]) -> None:
        self._on_overflow = callback
        if self.overflowed:
            callback()

    def hold(self) -> None:
        """Collect events without limit until ``resume_after``."""
        self._holding = True

    def resume_after(self, position: tuple[int, int]) -> None:
        """Drop events at or before ``position`` (already sent another way) and apply the limit again."""
        self._floor = position
        self._holding = False
        kept = [item for item in self._drain() if item.key is None or item.key > position]
        for item in kept:
            self.queue.put_nowait(item)
        if len(kept) > self.limit:
            self._overflow()

    def _drain(self) -> list[Outgoing]:
        items = []
        while not self.queue.empty():
            items.append(self.queue.get_nowait())
        return items

    def offer(self, item: Outgoing) -> None:
        if self.overflowed:
            return
        if item.key is not None and self._floor is not None and item.key <= self._floor:
            return
        if not self._holding and self.queue.qsize() >= self.limit:
            self._overflow()
            return
        self.queue.put_nowait(item)

    def _overflow(self) -> None:
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
        self._clients_changed = asyncio.Event()
        self._tasks: list[BackgroundTask] = [
            Loop(f"events of branch {branch}", functools.partial(self._read, branch), retry_on=(RedisError,),
                 backoff=Backoff(0.1, 2.0), logger=log)
            for branch in self._subscribers
        ]  # fmt: skip
        self._tasks += [BackgroundTask("heartbeat", self._heartbeat), BackgroundTask("settle heap", self._settle_heap)]

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
        # redis-py's default socket timeout (5 s) would cut a blocked XREAD short: allow the block and more.
        redis = connect_redis(redis_url, decode_responses=True, socket_timeout=BLOCK_MS / 1000 + 10)
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
        for task in fanout._tasks:
            task.start()
        return fanout

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        # redis-py may hold on to a cancelled blocking read until the server answers; closing the
        # connections ends it now.
        await self.redis.connection_pool.disconnect()
        await asyncio.gather(*(task.stop() for task in self._tasks))
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
        self._clients_changed.set()
        try:
            yield subscription
        finally:
            subscribers.discard(subscription)
            self._clients_changed.set()

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

    async def _read(self, branch: str) -> None:
        """Wait for the branch's next events (up to BLOCK_MS) and publish them."""
        reply = cast(
            list[tuple[str, list[tuple[str, dict[str, str]]]]],
            await self.redis.xread({keys.events(branch): self._positions[branch]}, count=READ_COUNT, block=BLOCK_MS),
        )
        for _stream, entries in reply or ():
            for seq, fields in entries:
                self.publish(branch, seq, fields)

    async def _settle_heap(self) -> None:
        """Freeze the heap again once clients stop arriving, so that no full collection scans them.

        The app freezes the heap after start-up; a thousand screens connecting later add objects that
        a full garbage collection would scan for over 100 ms, in the middle of a call. Once the
        connections settle: unfreeze (so the cycles of connections that closed meanwhile are freed),
        collect, freeze. One full collection per wave of connections, at a quiet moment.
        """
        last = -SETTLE_EVERY_S
        while True:
            await self._clients_changed.wait()
            while True:
                # Quiet for SETTLE_S? (Sleeping rather than wait_for: on Python 3.11 wait_for can
                # swallow a cancellation that arrives as the event is set, and stop would hang.)
                self._clients_changed.clear()
                await asyncio.sleep(SETTLE_S)
                if not self._clients_changed.is_set():
                    break
            await asyncio.sleep(max(0.0, last + SETTLE_EVERY_S - time.monotonic()))
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            last = time.monotonic()

    async def _heartbeat(self) -> None:
        ping = Outgoing(None, events.PING_TEXT)
        while True:
            await asyncio.sleep(self.heartbeat_s)
            for subscribers in self._subscribers.values():
                for subscription in list(subscribers):
                    subscription.offer(ping)
