"""The staff pages' websocket ``/ws/branches/{branch}/staff``: their views, pushed after every event.

- ``?counter=<id>``: the counter workstation's view (``server.web.counter_view``), for the staff of
  that counter, admins and managers: ``{"type": "counter", "now", "counter", "current", "next",
  "no_shows", "today", "transfer_to"}``.
- without ``counter``: the branch overview, for admins and managers: ``{"type": "branch", "now",
  "state" (as ``GET /api/branches/{b}/state``), "devices" (as ``GET .../devices``), "events" (the
  event types since the last message, so the page knows to reload the configuration)}``.

It is authenticated by the pages' session cookie (a browser sends cookies with a websocket but
cannot set headers on it). Because a cookie goes along whichever site opens the socket, the Origin
header is required and must name this host. The session is checked again at every heartbeat and
at once when it is logged out or its account changes (``socket_session.TokenWatch``): logging out,
expiry or a disabled account closes the socket (4401).

A view is recomputed when events arrive, once for everything queued at that moment, and sent only
when it changed. The server's heartbeat pings (``fanout.HEARTBEAT_S``) pass through; the client
answers them with ``{"type": "pong"}`` and is dropped after ``SILENCE_LIMIT_S`` of silence (4408).
The branch overview is also recomputed at every heartbeat, because device heartbeats are not events.
Close codes are ``events.CloseCode``: 1011 when Redis cannot be read, 1013 when the page reads too slowly.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from redis.exceptions import RedisError
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import devices, events
from server.api import SESSION_COOKIE
from server.auth import Identity, Role
from server.context import Context
from server.errors import ApiError, forbidden
from server.events import CloseCode
from server.fanout import Outgoing, Subscription
from server.metrics.consumer import MetricsConsumer
from server.socket_session import (
    TokenWatch,
    close_quietly,
    message_type,
    origin_allowed,
    receive_pings,
    run_together,
)
from server.store import QueueStore
from server.web.counter_view import CounterView

log = logging.getLogger("nextup.staff")

Json = dict[str, Any]

#: Seconds without any message from a client before the server drops it (heartbeats come every 5 s).
SILENCE_LIMIT_S = 12.0
#: Events the metrics apply in one go before a counter view is read, at most.
METRICS_CATCH_UP = 5_000
#: Events after which the counter's recent no-shows are looked up again in the stream.
_NO_SHOW_EVENTS = frozenset({events.EventType.TICKET_NO_SHOW.value, "config_changed"})


class View(Protocol):
    #: Whether the view is recomputed at every heartbeat too, not only after events.
    refresh_on_heartbeat: bool

    async def message(self, kinds: frozenset[str], first: bool) -> Json | None:
        """The message to show now; None when its subject no longer exists."""


@dataclass
class CounterPage:
    view: CounterView
    refresh_on_heartbeat: bool = False

    async def message(self, kinds: frozenset[str], first: bool) -> Json | None:
        return await self.view.read(rescan_no_shows=first or bool(kinds & _NO_SHOW_EVENTS))


@dataclass
class BranchPage:
    store: QueueStore
    refresh_on_heartbeat: bool = True

    async def message(self, kinds: frozenset[str], first: bool) -> Json | None:
        store = self.store
        state = await store.state()
        now = store.clock.now()
        return {
            "type": "branch",
            "now": now.astimezone(store.branch.zone).isoformat(timespec="milliseconds"),
            "state": state,
            "devices": await devices.list_devices(store.redis, store.branch.id, now),
            "events": sorted(kinds),
        }


def same_origin(websocket: WebSocket) -> bool:
    """A browser always sends Origin on a websocket: it must be present and name this host."""
    return "origin" in websocket.headers and origin_allowed(websocket.headers)


async def viewer(ctx: Context, token: str, branch: str, counter: str | None) -> Identity:
    """The person behind a session cookie, if they may watch this view; ApiError 401/403 if not."""
    identity = await ctx.verify(token)
    identity.require_branch(branch)
    if counter is None:
        identity.require_role(Role.ADMIN, Role.MANAGER)
    else:
        identity.require_role(Role.ADMIN, Role.MANAGER, Role.STAFF)
        if identity.role == Role.STAFF and counter not in identity.counters:
            raise forbidden(f"You do not work at counter {counter}")
    return identity


def metrics_catch_up(consumer: MetricsConsumer) -> Callable[[], Awaitable[object]]:
    return lambda: consumer.catch_up(limit=METRICS_CATCH_UP)


class StaffConnection:
    def __init__(self, websocket: WebSocket, subscription: Subscription, ctx: Context, token: TokenWatch,
                 view: View) -> None:  # fmt: skip
        self.websocket = websocket
        self.subscription = subscription
        self.ctx = ctx
        self.token = token
        self.view = view
        self._last: Json | None = None

    async def serve(self) -> None:
        ended = await run_together(
            self.subscription, self._send(), receive_pings(self.websocket, self.subscription, SILENCE_LIMIT_S),
            self.token.run(),
        )
        error = ended.error(0)
        if ended.result(2) == "unauthorized":
            await close_quietly(self.websocket, CloseCode.UNAUTHORIZED, "The session has ended; log in again")
        elif self.subscription.overflowed:
            await close_quietly(self.websocket, CloseCode.TRY_AGAIN_LATER, "too slow; reconnect")
        elif isinstance(error, RedisError):
            log.warning("staff view: reading Redis failed: %s", error)
            await close_quietly(self.websocket, CloseCode.UNAVAILABLE, "Redis unavailable; reconnect")
        elif error is not None and not isinstance(error, WebSocketDisconnect | OSError):
            log.error("staff view failed", exc_info=error)
            await close_quietly(self.websocket, CloseCode.UNAVAILABLE, "Server error; reconnect")
        elif ended.result(0) == "gone":
            await close_quietly(self.websocket, CloseCode.NOT_FOUND, "The counter no longer exists")
        elif ended.result(1) == "silent":
            await close_quietly(self.websocket, CloseCode.HEARTBEAT_TIMEOUT, "no heartbeat")

    async def _show(self, kinds: frozenset[str], first: bool = False) -> bool:
        if "config_changed" in kinds:
            # The event can arrive before this process has reloaded the configuration it announces.
            await self.ctx.config.reload()
        message = await self.view.message(kinds, first)
        if message is None:
            return False
        unchanged = {**message, "now": None, "events": None}
        if unchanged != self._last:
            self._last = unchanged
            await self.websocket.send_text(events.encode(message))
        return True

    async def _send(self) -> str:
        if not await self._show(frozenset(), first=True):
            return "gone"
        queue = self.subscription.queue
        while True:
            batch: list[Outgoing] = [await queue.get()]
            while not queue.empty():
                batch.append(queue.get_nowait())
            kinds: set[str] = set()
            heartbeat = False
            for item in batch:
                if item.key is not None:
                    kinds.add(message_type(item.text))
                elif item.text == events.PING_TEXT:
                    heartbeat = True
                else:
                    await self.websocket.send_text(item.text)  # the pong to a client's ping
            if heartbeat:
                await self.websocket.send_text(events.PING_TEXT)
            if (kinds or (heartbeat and self.view.refresh_on_heartbeat)) and not await self._show(frozenset(kinds)):
                return "gone"



async def staff_socket(websocket: WebSocket) -> None:
    ctx: Context = websocket.app.state.nextup
    fanout = ctx.fanout
    branch: str = websocket.path_params["branch"]
    counter = websocket.query_params.get("counter") or None
    # Accept first: a close code reaches the browser only on an open websocket.
    await websocket.accept()
    if not same_origin(websocket):
        await websocket.close(CloseCode.FORBIDDEN, "Origin missing or not this host")
        return
    if branch != ctx.store.branch.id or not fanout.serves(branch):
        await websocket.close(CloseCode.NOT_FOUND, f"No branch {branch[:40]}")
        return
    token = websocket.cookies.get(SESSION_COOKIE, "")
    try:
        identity = await viewer(ctx, token, branch, counter)
    except ApiError as exc:
        code = CloseCode.UNAUTHORIZED if exc.status == 401 else CloseCode.FORBIDDEN
        await websocket.close(code, exc.message[:120])
        return
    view: View
    if counter is not None:
        if counter not in ctx.store.branch.counters:
            await websocket.close(CloseCode.NOT_FOUND, f"No counter {counter[:40]}")
            return
        catch_up = metrics_catch_up(ctx.metrics)
        view = CounterPage(CounterView(ctx.store, counter, identity.username, catch_up))
    else:
        view = BranchPage(ctx.store)
    # A client gone while a view was being sent has nothing left to be told.
    with fanout.subscribe(branch) as subscription, contextlib.suppress(WebSocketDisconnect, OSError):
        await StaffConnection(websocket, subscription, ctx, TokenWatch(ctx, token, identity), view).serve()


ROUTES: list[BaseRoute] = [WebSocketRoute("/ws/branches/{branch}/staff", staff_socket)]
