"""What every websocket endpoint (display, kiosk, staff, phone) does the same way.

- ``run_together``: a connection is a few tasks (a sender fed by its fan-out subscription, a
  receiver reading the client); the first to end ends them all, and an overflowing subscription
  ends the task that feeds it.
- ``receive_pings``: a receiver for clients that only send heartbeats (and, for the display, its
  ``health`` reports, handed to a callback).
- ``close_quietly``: a close that never waits long on a client that stopped reading.
- ``admit``: accept, then refuse a foreign Origin or an unknown branch with a close code.
- ``TokenWatch``: the socket's token checked again (``Context.verify``) every ``RECHECK_S`` and at
  once when its account changes or its session ends, on whichever process that happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from starlette.datastructures import Headers
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import events
from server.auth import Identity
from server.context import Context
from server.errors import ApiError
from server.events import CloseCode
from server.fanout import HEARTBEAT_S, Fanout, Outgoing, Subscription

#: Seconds a close frame may take to go out; a client that stopped reading never takes it, and the
#: connection is dropped when the handler returns.
CLOSE_TIMEOUT_S = 2.0
#: Longest time an open socket goes without its token being checked again, in seconds.
RECHECK_S = HEARTBEAT_S


def origin_allowed(headers: Headers) -> bool:
    """No Origin (a device, not a browser page) or an Origin naming this very host."""
    origin = headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == headers.get("host", "").lower()


async def admit(websocket: WebSocket, ctx: Context, fanout: Fanout, branch: str) -> bool:
    """Accept the socket, then close it (and say False) for a foreign Origin or a branch not served here."""
    # Accept first: a close code reaches the client only on an open websocket.
    await websocket.accept()
    if not origin_allowed(websocket.headers):
        await websocket.close(CloseCode.FORBIDDEN, "Origin does not match Host")
        return False
    if branch != ctx.store.branch.id or not fanout.serves(branch):
        await websocket.close(CloseCode.NOT_FOUND, f"No branch {branch[:40]}")
        return False
    return True


def message_type(text: str) -> str:
    """The ``type`` of a JSON object message, or "" for anything else."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        # RecursionError: arrays or objects nested deeper than the parser follows.
        return ""
    return str(data.get("type", "")) if isinstance(data, dict) else ""


async def close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(TimeoutError, WebSocketDisconnect, RuntimeError, OSError):
        await asyncio.wait_for(websocket.close(code, reason), CLOSE_TIMEOUT_S)


async def receive_pings(
    websocket: WebSocket,
    subscription: Subscription,
    silence_limit_s: float,
    on_text: Callable[[str], Awaitable[None]] | None = None,
) -> str:
    """Read the client until it goes ("gone") or says nothing for ``silence_limit_s`` ("silent").

    Its pings are answered through the subscription, so the answer keeps its place among the
    messages being sent. Any other text goes to ``on_text`` when given (else it only counts as a
    sign of life).
    """
    while True:
        try:
            message = await asyncio.wait_for(websocket.receive(), silence_limit_s)
        except TimeoutError:
            return "silent"
        if message["type"] == "websocket.disconnect":
            return "gone"
        text = message.get("text") or ""
        if '"ping"' in text and message_type(text) == events.MessageType.PING:
            subscription.offer(Outgoing(None, events.PONG_TEXT))
        elif on_text is not None and text:
            await on_text(text)


@dataclass(frozen=True)
class Ended:
    """How the tasks of a connection ended."""

    tasks: tuple[asyncio.Task[Any], ...]

    def result(self, index: int) -> Any:
        """What task ``index`` returned; None if it was cancelled or failed."""
        task = self.tasks[index]
        if task.cancelled() or task.exception() is not None:
            return None
        return task.result()

    def error(self, index: int) -> BaseException | None:
        """The exception task ``index`` raised; None if it returned or was cancelled."""
        task = self.tasks[index]
        return None if task.cancelled() else task.exception()


async def run_together(
    subscription: Subscription, fed: Coroutine[Any, Any, Any], *others: Coroutine[Any, Any, Any]
) -> Ended:
    """Run the coroutines until the first ends, then cancel the rest.

    ``fed`` is the one reading ``subscription``: an overflow cancels it (the caller then closes
    with "too slow", seeing ``subscription.overflowed``).
    """
    tasks = tuple(asyncio.create_task(coroutine) for coroutine in (fed, *others))
    subscription.on_overflow(tasks[0].cancel)
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return Ended(tasks)


class TokenWatch:
    """A socket's token, checked again every ``RECHECK_S`` and at once when its account or session changes.

    The check is ``Context.verify`` (signature, expiry, logout, account), answered from memory
    unless the account has just changed. A Redis failure counts as still valid: a Redis hiccup
    must not close every screen, and whatever the socket does next needs Redis anyway.
    """

    def __init__(self, ctx: Context, token: str, identity: Identity) -> None:
        self.ctx = ctx
        self.token = token
        self.identity = identity
        self._changed = asyncio.Event()

    async def holds(self) -> bool:
        """Whether the token is still good; if not, ``run`` ends at once."""
        try:
            await self.ctx.verify(self.token)
        except ApiError:
            self._changed.set()
            return False
        except RedisError:
            return True
        return True

    async def run(self) -> str:
        """Return "unauthorized" once the token no longer holds; run it beside the socket's other tasks."""
        with self.ctx.account_cache.watch(self.identity, self._changed):
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RECHECK_S):
                        await self._changed.wait()
                self._changed.clear()
                if not await self.holds():
                    return "unauthorized"
