"""Runs script calls from concurrent requests together, one pipeline per batch.

Under load many requests wait on Redis at once; sending their EVALSHAs in one write and reading
the replies in one go costs one system call pair instead of one per request, and one pooled
connection instead of dozens. Each call is still its own atomic script run. A batch is sent as
soon as the event loop is free (no timer), so a lone request is not delayed.

A batch is packed here (``pack_evalsha``) and written on a pooled connection, its replies read in
order: redis-py's pipeline costs about three times as much CPU per call for the same bytes, in the
hottest path of the server. Like the pipeline, a batch whose connection fails is sent again under
the client's retry policy, and an error reply fails its own call only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.asyncio.connection import Connection
from redis.exceptions import NoScriptError, RedisError, ResponseError

from server.scripts import SCRIPT_NAMES, script_source

#: Most calls in one pipeline; more wait for the next batch.
BATCH_LIMIT = 256
#: Pipelines in flight at once; while they are, new calls gather into the next batch.
MAX_IN_FLIGHT = 2

_Call = tuple[str, Sequence[str], Sequence[str | int | float], "asyncio.Future[str]"]
#: Scripts that only read: a batch of nothing else waits for no replica.
READ_ONLY = frozenset({"ticket_view", "branch_state", "phone_view"})


class ReplicaAckError(RedisError):
    """Fewer replicas than required confirmed a batch's writes in time. The change was made on the
    primary and may yet reach the replicas, or be lost in a failover: the caller is told it failed
    (503), and a kiosk retrying with its Idempotency-Key gets its ticket if it was kept."""


def _bulk(value: str | int | float) -> bytes:
    # As redis-py's encoder: text in UTF-8, an int in decimal, a float by repr.
    if isinstance(value, str):
        data = value.encode()
    elif isinstance(value, bool):
        raise TypeError("a bool is not a Redis argument; send '1'/'0'")
    elif isinstance(value, int):
        data = b"%d" % value
    else:
        data = repr(value).encode()
    return b"$%d\r\n%b\r\n" % (len(data), data)


def pack_command(*parts: str | int | float) -> bytes:
    return b"*%d\r\n" % len(parts) + b"".join(_bulk(part) for part in parts)


def pack_evalsha(sha: str, keys: Sequence[str], args: Sequence[str | int | float]) -> bytes:
    """``EVALSHA sha numkeys key... arg...`` in the Redis protocol (RESP)."""
    parts = [b"*%d\r\n" % (3 + len(keys) + len(args)), _bulk("EVALSHA"), _bulk(sha), _bulk(len(keys))]
    parts += [_bulk(key) for key in keys]
    parts += [_bulk(arg) for arg in args]
    return b"".join(parts)


class ScriptBatcher:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.sources = {name: script_source(name) for name in SCRIPT_NAMES}
        self.shas: dict[str, str] = {}
        self.pending: list[_Call] = []
        self.in_flight = 0
        self.flush_scheduled = False
        #: Replicas that must confirm a batch's writes (WAIT) before its calls succeed; 0: none.
        self.wait_replicas = 0
        self.wait_timeout_ms = 0

    def require_replicas(self, count: int, timeout_ms: int) -> None:
        """Acknowledge writes only once ``count`` replicas have them (``WAIT count timeout_ms`` after
        each batch that writes, on its connection): a failover then cannot lose an acknowledged one."""
        self.wait_replicas, self.wait_timeout_ms = count, timeout_ms

    async def load(self) -> None:
        for name, source in self.sources.items():
            self.shas[name] = str(await self.redis.script_load(source))

    async def run(self, name: str, keys: Sequence[str], args: Sequence[str | int | float]) -> str:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.pending.append((name, keys, args, future))
        self._schedule()
        return await future

    def _schedule(self) -> None:
        if self.pending and not self.flush_scheduled and self.in_flight < MAX_IN_FLIGHT:
            self.flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._start_flush)

    def _start_flush(self) -> None:
        self.flush_scheduled = False
        if not self.pending or self.in_flight >= MAX_IN_FLIGHT:
            return
        batch, self.pending = self.pending[:BATCH_LIMIT], self.pending[BATCH_LIMIT:]
        self.in_flight += 1
        task = asyncio.get_running_loop().create_task(self._flush(batch))
        task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self.in_flight -= 1
        self._schedule()

    async def _flush(self, batch: list[_Call]) -> None:
        try:
            if not self.shas:
                await self.load()
            packed = b"".join(pack_evalsha(self.shas[name], keys, args) for name, keys, args, _ in batch)
            waits = self.wait_replicas > 0 and any(name not in READ_ONLY for name, *_ in batch)
            if waits:
                packed += pack_command("WAIT", self.wait_replicas, self.wait_timeout_ms)
            replies = await self._send(packed, len(batch) + waits)
            if waits:
                confirmed = replies.pop()
                if not isinstance(confirmed, int) or confirmed < self.wait_replicas:
                    shortfall = ReplicaAckError(
                        f"{confirmed} of {self.wait_replicas} replicas confirmed within {self.wait_timeout_ms} ms"
                    )
                    replies = [shortfall if name not in READ_ONLY else reply
                               for (name, *_), reply in zip(batch, replies, strict=True)]  # fmt: skip
        except Exception as exc:  # a connection failure fails every call of the batch
            for *_, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (name, keys, args, future), reply in zip(batch, replies, strict=True):
            if isinstance(reply, NoScriptError):
                # Redis restarted and lost its script cache: load again and run this call alone.
                try:
                    reply = await self._run_alone(name, keys, args)
                except Exception as exc:
                    reply = exc
            if future.done():
                continue
            if isinstance(reply, Exception):
                future.set_exception(reply)
            else:
                future.set_result(str(reply))

    async def _send(self, packed: bytes, count: int) -> list[object]:
        """Write ``count`` packed commands on one pooled connection and read their replies, in order."""
        pool = self.redis.connection_pool
        connection: Connection = await pool.get_connection()  # type: ignore[no-untyped-call]

        async def exchange() -> list[object]:
            await connection.send_packed_command(packed, check_health=False)
            replies: list[object] = []
            for _ in range(count):
                try:
                    replies.append(await connection.read_response())
                except ResponseError as error:
                    replies.append(error)
            return replies

        async def failed(error: Exception) -> None:
            await connection.disconnect()

        try:
            return await connection.retry.call_with_retry(exchange, failed)
        finally:
            await pool.release(connection)

    async def _run_alone(self, name: str, keys: Sequence[str], args: Sequence[str | int | float]) -> str:
        self.shas[name] = str(await self.redis.script_load(self.sources[name]))
        return str(await self.redis.evalsha(self.shas[name], len(keys), *keys, *args))
