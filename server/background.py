"""Background loops: one way to start one, keep it going through Redis trouble and stop it.

``BackgroundTask`` runs a coroutine function in its own task; ``stop`` sets ``stopping`` before it
cancels and waits for the end. ``Loop`` runs one step over and over: a step that raises one of
``retry_on`` (Redis errors and the socket errors redis-py lets through) is logged and tried again
after a delay; anything else ends the loop and is logged. ``ChannelFollower`` follows a Redis
pub/sub channel in a ``Loop`` and subscribes again after an interruption.

Why the stopping flag: redis-py can turn the cancellation of a read in progress into a RedisError
(and on Python 3.11 a timeout racing the cancellation can even reset ``Task.cancelling()``), so a
loop that retries on RedisError could take its own cancellation for a Redis hiccup and go on for
ever (``errors.end_if_cancelled``). The loop checks the flag, and ``stop`` cancels again every
``RECANCEL_S`` while the task runs on, so stopping never hangs on a lost cancellation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Self

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from server.errors import end_if_cancelled

log = logging.getLogger("nextup.background")

#: What a loop retries unless told otherwise.
RETRYABLE: tuple[type[Exception], ...] = (RedisError, OSError)
#: While a stopped task runs on, ``stop`` cancels it again this often.
RECANCEL_S = 1.0
#: A channel follower waits this long for a message before ``on_idle`` (and waiting again).
IDLE_S = 30.0
#: Seconds between attempts to subscribe again to an interrupted channel.
RESUBSCRIBE_S = 1.0

Hook = Callable[[], Awaitable[None]]


class Backoff:
    """Seconds to wait before each retry: ``first``, doubling up to ``cap``; ``reset`` after a success."""

    def __init__(self, first: float, cap: float | None = None) -> None:
        self.first = first
        self.cap = first if cap is None else cap
        self.delay = first

    def next(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, self.cap)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class BackgroundTask:
    """A coroutine function run in its own task until it returns or ``stop`` ends it."""

    def __init__(self, name: str, run: Callable[[], Coroutine[Any, Any, None]]) -> None:
        self.name = name
        self._run = run
        #: Set before the task is cancelled; a loop checks it (see the module docstring).
        self.stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Self:
        self._task = asyncio.create_task(self._run(), name=self.name)
        self._task.add_done_callback(self._ended)
        return self

    def cancel(self) -> None:
        """Set ``stopping`` and cancel, without waiting (``stop`` waits)."""
        if not self.stopping and self._task is not None:
            self._task.cancel()
        self.stopping = True

    async def stop(self) -> None:
        """Cancel the task and wait for its end, cancelling again while it runs on."""
        self.cancel()
        task, self._task = self._task, None
        while task is not None and not task.done():
            await asyncio.wait({task}, timeout=RECANCEL_S)
            task.cancel()

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("background task %s ended", self.name, exc_info=exc)


class Loop(BackgroundTask):
    """``step`` run over and over until ``stop``, retried through the errors in ``retry_on``.

    After a step the loop waits ``every_s`` (a number, or a function giving it; first too when
    ``wait_first``). After a step that raised one of ``retry_on`` it logs a warning on ``logger``,
    calls ``on_error`` and waits ``backoff``'s next delay, or ``every_s`` without a backoff.
    """

    def __init__(
        self,
        name: str,
        step: Hook,
        *,
        every_s: float | Callable[[], float] = 0.0,
        wait_first: bool = False,
        retry_on: tuple[type[Exception], ...] = RETRYABLE,
        backoff: Backoff | None = None,
        on_error: Callable[[Exception], None] | None = None,
        logger: logging.Logger = log,
    ) -> None:
        super().__init__(name, self._loop)
        self.step = step
        self.every_s = every_s
        self.wait_first = wait_first
        self.retry_on = retry_on
        self.backoff = backoff
        self.on_error = on_error
        self.logger = logger

    def _pause_s(self) -> float:
        return self.every_s() if callable(self.every_s) else self.every_s

    async def _loop(self) -> None:
        if self.wait_first:
            await asyncio.sleep(self._pause_s())
        while not self.stopping:
            try:
                await self.step()
            except self.retry_on as exc:
                end_if_cancelled(exc, self.stopping)
                delay = self.backoff.next() if self.backoff is not None else self._pause_s()
                # The traceback of an error a loop retries though it is not the usual Redis trouble.
                self.logger.warning(
                    "%s: %s; retrying in %.1f s", self.name, str(exc) or type(exc).__name__, delay,
                    exc_info=None if isinstance(exc, RETRYABLE) else exc,
                )  # fmt: skip
                if self.on_error is not None:
                    self.on_error(exc)
                await asyncio.sleep(delay)
                continue
            if self.backoff is not None:
                self.backoff.reset()
            pause = self._pause_s()
            if pause > 0:
                await asyncio.sleep(pause)


async def _nothing() -> None:
    return None


class ChannelFollower:
    """A Redis pub/sub channel followed in a ``Loop``: ``on_message`` gets each message's data.

    ``start`` subscribes, then runs ``on_joined`` (load what the messages keep up to date: a message
    published in between is seen either way), then follows. When the channel is interrupted,
    ``on_lost`` runs at once (messages published meanwhile are lost); the loop subscribes again
    every ``RESUBSCRIBE_S`` until it can and runs ``on_joined`` again. ``on_idle`` runs after
    ``IDLE_S`` without a message.
    """

    def __init__(
        self,
        redis: Redis,
        channel: str,
        what: str,
        on_message: Callable[[str], Awaitable[None]],
        *,
        on_joined: Hook = _nothing,
        on_lost: Callable[[], None] | None = None,
        on_idle: Callable[[], None] | None = None,
        retry_on: tuple[type[Exception], ...] = RETRYABLE,
        logger: logging.Logger = log,
    ) -> None:
        self.channel = channel
        self.on_message = on_message
        self.on_joined = on_joined
        self.on_lost = on_lost
        self.on_idle = on_idle
        self._pubsub: PubSub = redis.pubsub()
        self._rejoin = False
        self._loop = Loop(
            f"{what} channel", self._step, retry_on=retry_on, backoff=Backoff(RESUBSCRIBE_S),
            on_error=self._lost, logger=logger,
        )  # fmt: skip

    async def start(self) -> None:
        await self._pubsub.subscribe(self.channel)
        await self.on_joined()
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _step(self) -> None:
        if self._rejoin:
            await self._pubsub.subscribe(self.channel)
            self._rejoin = False
            await self.on_joined()
        message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=IDLE_S)
        if message:
            await self.on_message(str(message["data"]))
        elif self.on_idle is not None:
            self.on_idle()

    def _lost(self, exc: Exception) -> None:
        self._rejoin = True
        if self.on_lost is not None:
            self.on_lost()
