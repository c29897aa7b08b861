"""Runs script calls from concurrent requests together, one pipeline per batch.

Under load many requests wait on Redis at once; sending their EVALSHAs in one write and reading
the replies in one go costs one system call pair instead of one per request, and one pooled
connection instead of dozens. Each call is still its own atomic script run. A batch is sent as
soon as the event loop is free (no timer), so a lone request is not delayed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from server.scripts import SCRIPT_NAMES, script_source

#: Most calls in one pipeline; more wait for the next batch.
BATCH_LIMIT = 256
#: Pipelines in flight at once; while they are, new calls gather into the next batch.
MAX_IN_FLIGHT = 2

_Call = tuple[str, Sequence[str], Sequence[str | int | float], "asyncio.Future[str]"]


class ScriptBatcher:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.sources = {name: script_source(name) for name in SCRIPT_NAMES}
        self.shas: dict[str, str] = {}
        self.pending: list[_Call] = []
        self.in_flight = 0
        self.flush_scheduled = False

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
            async with self.redis.pipeline(transaction=False) as pipe:
                for name, keys, args, _ in batch:
                    pipe.evalsha(self.shas[name], len(keys), *keys, *args)
                replies = await pipe.execute(raise_on_error=False)
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

    async def _run_alone(self, name: str, keys: Sequence[str], args: Sequence[str | int | float]) -> str:
        self.shas[name] = str(await self.redis.script_load(self.sources[name]))
        return str(await self.redis.evalsha(self.shas[name], len(keys), *keys, *args))
