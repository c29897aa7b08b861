"""Following a branch's event stream into the metrics, every event counted exactly once.

Each server process joins the consumer group ``metrics`` of each branch it serves under a name of
its own. The group spreads new entries over the processes and remembers what each has not yet
acknowledged, so entries held by a process that died are claimed by another (``XAUTOCLAIM``).

Counting exactly once does not rest on the group: ``apply_pending`` applies, in one MULTI/EXEC
guarded by WATCH on ``metrics:applied``, every entry after the last applied id, in stream order, and
moves that id forward in the same transaction. Whichever process is handed an entry first applies
it and everything before it; an entry delivered again (after a crash between applying and
``XACK``, or to a second process) finds its id already applied and only gets acknowledged. So a
restart can neither count an event twice nor skip one, and the order of application is the
stream's even with several processes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError, WatchError

from server import events, keys
from server.background import Backoff, Loop
from server.clock import Clock
from server.config import Branch
from server.metrics.prometheus import Exporter
from server.metrics.report import rollup_from_raw
from server.metrics.tally import CounterState, Tally, counters_named, decode, fold_decoded
from server.redis_connect import connect as connect_redis

log = logging.getLogger("nextup.metrics")


#: Consumer group every server process joins to follow a branch's event stream for the metrics.
GROUP = "metrics"
#: Days the raw figures of a day (its tallies and its wait and handling samples) are kept; older
#: days are folded into their rollup and the raw keys deleted.
RAW_RETENTION_DAYS = 90

#: Entries applied per transaction: large enough to catch up quickly, small enough to keep one
#: transaction well under a millisecond of Redis time per hundred events.
APPLY_BATCH = 200
#: Entries read from the group at a time.
READ_COUNT = 200
#: Longest XREADGROUP BLOCK, in milliseconds; an idle consumer wakes this often.
BLOCK_MS = 5_000
#: An entry delivered to another process and unacknowledged this long is claimed (its process died).
CLAIM_IDLE_MS = 60_000
#: Seconds between looking for purgeable days.
PURGE_EVERY_S = 3_600


def consumer_name() -> str:
    """This process's name in the consumer groups: host and pid, unique among live processes."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _ids(reply: Any) -> list[str]:
    """Entry ids of an XREADGROUP reply for one stream, in RESP2 (list) or RESP3 (dict) form.

    Ids of entries trimmed from the stream while pending are kept (their fields are nil), so they
    get acknowledged too.
    """
    if not reply:
        return []
    streams = reply.items() if isinstance(reply, dict) else reply
    found: list[str] = []
    for _stream, entries in streams:
        # RESP3 nests the entries one level deeper.
        for entry in entries[0] if entries and isinstance(entries[0], list) else entries:
            if entry:
                found.append(str(entry[0]))
    return found


def _seq_key(seq: str) -> tuple[int, int]:
    return events.parse_seq(seq) or (0, 0)


async def apply_pending(
    redis: Redis,
    branch: Branch,
    up_to: str = "+",
    on_applied: Callable[[Tally], None] | None = None,
    limit: int | None = None,
) -> int:
    """Apply every entry after the last applied one, up to ``up_to`` (at most about ``limit``
    entries); the number applied."""
    total = 0
    while limit is None or total < limit:
        applied = await _apply_batch(redis, branch, up_to, on_applied)
        if applied is None:
            continue  # another process applied meanwhile: look again from where it got
        if applied == 0:
            return total
        total += applied
        if up_to != "+" and applied < APPLY_BATCH:
            return total  # the batch held every entry up to ``up_to``: nothing is left to look for
    return total


async def _apply_batch(
    redis: Redis, branch: Branch, up_to: str, on_applied: Callable[[Tally], None] | None
) -> int | None:
    marker = keys.metrics_applied(branch.id)
    async with redis.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(marker)
            last = cast(str | None, await pipe.get(marker)) or "0-0"
            if up_to != "+" and _seq_key(up_to) <= _seq_key(last):
                return 0
            entries = cast(
                list[tuple[str, dict[str, str]]],
                await pipe.xrange(keys.events(branch.id), min=f"({last}", max=up_to, count=APPLY_BATCH),
            )
            if not entries:
                return 0
            decoded = decode(entries)
            # Only the counters these events name: a branch's other counters are neither read nor written.
            named = sorted(counters_named(decoded))
            raw = cast(list[str | None], await pipe.hmget(keys.metrics_counters(branch.id), named)) if named else []
            counters = {cid: CounterState.from_json(text) for cid, text in zip(named, raw, strict=True) if text}
            tally = fold_decoded(branch, counters, decoded)
            pipe.multi()  # type: ignore[no-untyped-call]
            _write(pipe, branch.id, tally)
            pipe.set(marker, entries[-1][0])
            await pipe.execute()
        except WatchError:
            return None
    if on_applied is not None:
        on_applied(tally)
    return len(entries)


def _write(pipe: Any, branch: str, tally: Tally) -> None:
    for day, increments in tally.increments.items():
        fields = {name: amount for name, amount in increments.items() if amount}
        for name, amount in fields.items():
            pipe.hincrby(keys.metrics_day_tally(branch, day), name, amount)
        pipe.zadd(keys.metrics_days(branch), {day: date.fromisoformat(day).toordinal()})
    for day, samples in tally.samples.items():
        pipe.rpush(keys.metrics_day_samples(branch, day), *(s.to_json() for s in samples))
        pipe.zadd(keys.metrics_days(branch), {day: date.fromisoformat(day).toordinal()})
    if tally.changed_counters:
        pipe.hset(
            keys.metrics_counters(branch),
            mapping={cid: tally.counters[cid].to_json() for cid in tally.changed_counters},
        )
    started = {tid: since for tid, since in tally.waiting.items() if since is not None}
    ended = [tid for tid, since in tally.waiting.items() if since is None]
    if started:
        pipe.zadd(keys.metrics_waiting(branch), started)
    if ended:
        pipe.zrem(keys.metrics_waiting(branch), *ended)


async def purge_old_days(redis: Redis, branch: Branch, today: date, retention_days: int) -> list[str]:
    """Fold days older than ``retention_days`` into their rollups and delete their raw figures."""
    cutoff = (today - timedelta(days=retention_days)).toordinal()
    purged: list[str] = []
    old = cast(list[str], await redis.zrangebyscore(keys.metrics_days(branch.id), "-inf", f"({cutoff}"))
    for day in old:
        tally_key, samples_key = keys.metrics_day_tally(branch.id, day), keys.metrics_day_samples(branch.id, day)
        async with redis.pipeline(transaction=True) as pipe:
            try:
                # A late event for this day changes the marker; then the rollup is made again.
                await pipe.watch(keys.metrics_applied(branch.id))
                tallies = cast(dict[str, str], await pipe.hgetall(tally_key))
                samples = cast(list[str], await pipe.lrange(samples_key, 0, -1))
                summary = rollup_from_raw(branch, day, tallies, samples)
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(keys.metrics_rollup(branch.id, day), summary)
                pipe.delete(tally_key, samples_key)
                pipe.zrem(keys.metrics_days(branch.id), day)
                await pipe.execute()
                purged.append(day)
            except WatchError:
                continue
    return purged


class MetricsConsumer:
    """One process's member of a branch's ``metrics`` consumer group; ``start`` and ``stop`` it."""

    def __init__(
        self,
        redis: Redis,
        branch: Branch,
        clock: Clock,
        *,
        name: str | None = None,
        retention_days: int = RAW_RETENTION_DAYS,
        block_ms: int = BLOCK_MS,
        claim_idle_ms: int = CLAIM_IDLE_MS,
        on_applied: Callable[[Tally], None] | None = None,
        current_branch: Callable[[], Branch] | None = None,
    ) -> None:
        self.redis = redis
        self._branch = branch
        #: The branch configuration as it is now (it can change live); targets and time zone come from it.
        self._current_branch = current_branch
        self.clock = clock
        self.name = name or consumer_name()
        self.retention_days = retention_days
        self.block_ms = block_ms
        self.claim_idle_ms = claim_idle_ms
        self.on_applied = on_applied
        self.stream = keys.events(branch.id)
        self.exporter = Exporter()
        self._loop = Loop(
            f"metrics of branch {branch.id}", self._step, retry_on=(RedisError,), backoff=Backoff(0.1, 5.0),
            on_error=self._failed, logger=log,
        )  # fmt: skip
        self._group_ready = False
        self._next_claim = self._next_purge = 0.0
        self._owns_redis = False

    @property
    def branch(self) -> Branch:
        return self._current_branch() if self._current_branch is not None else self._branch

    @classmethod
    async def start(cls, redis_url: str, branch: Branch, clock: Clock, **options: Any) -> MetricsConsumer:
        """Connect (a blocking read holds its connection, so on a client of its own) and start following.

        The consumer's ``exporter`` serves ``/metrics`` and observes every event this process applies.
        """
        redis = connect_redis(redis_url, decode_responses=True)
        exporter = Exporter()
        consumer = cls(redis, branch, clock, on_applied=exporter.observe, **options)
        consumer.exporter = exporter
        consumer._owns_redis = True
        consumer.run_in_background()
        return consumer

    def run_in_background(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        if self._owns_redis:
            await self.redis.aclose()

    async def ensure_group(self) -> None:
        try:
            # From the stream's start: a new group counts the history the stream still holds.
            await self.redis.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def catch_up(self, up_to: str = "+", limit: int | None = None) -> int:
        """Apply everything not yet applied (up to ``up_to``); the number of entries applied."""
        return await apply_pending(self.redis, self.branch, up_to, self.on_applied, limit)

    async def read(self, block_ms: int | None) -> list[str]:
        """Ids handed to this consumer: its own unacknowledged ones first, then new ones."""
        own = _ids(await self.redis.xreadgroup(GROUP, self.name, {self.stream: "0"}, count=READ_COUNT))
        if own:
            return own
        reply = await self.redis.xreadgroup(
            GROUP, self.name, {self.stream: ">"}, count=READ_COUNT, block=block_ms
        )
        return _ids(reply)

    async def claim_abandoned(self) -> list[str]:
        """Ids another process was handed and never acknowledged for ``claim_idle_ms``: it died."""
        # Whole entries, not JUSTID: redis-py flattens a JUSTID reply differently across versions.
        reply = await self.redis.xautoclaim(
            self.stream, GROUP, self.name, self.claim_idle_ms, start_id="0-0", count=READ_COUNT
        )
        return [str(entry[0]) for entry in reply[1] if entry] if reply and len(reply) > 1 else []

    async def process(self, ids: list[str]) -> None:
        """Apply up to the newest of ``ids`` (and everything before it), then acknowledge them."""
        if not ids:
            return
        await self.catch_up(max(ids, key=_seq_key))
        await self.redis.xack(self.stream, GROUP, *ids)

    async def purge(self) -> list[str]:
        today = self.clock.now().astimezone(self.branch.zone).date()
        return await purge_old_days(self.redis, self.branch, today, self.retention_days)

    async def _step(self) -> None:
        """One turn of the background loop: claim, purge when due, then read and apply."""
        now = asyncio.get_running_loop().time
        if not self._group_ready:
            await self.ensure_group()
            self._group_ready = True
        if now() >= self._next_claim:
            await self.process(await self.claim_abandoned())
            self._next_claim = now() + self.claim_idle_ms / 1000 / 2
        if now() >= self._next_purge:
            purged = await self.purge()
            if purged:
                log.info("metrics of branch %s: rolled up and purged %s", self.branch.id, ", ".join(purged))
            self._next_purge = now() + PURGE_EVERY_S
        await self.process(await self.read(self.block_ms))

    def _failed(self, _exc: Exception) -> None:
        # NOGROUP after the stream was deleted: make the group again before reading.
        self._group_ready = False
