"""The kiosk websocket ``/ws/branches/{branch}/kiosk``: services, issuing, health.

One connection per kiosk (``nextup kiosk``), authenticated by the token of a ``kiosk`` account of
the branch (an ``admin`` token is accepted too, for testing), sent as ``Authorization: Bearer
<token>`` (``nextup kiosk`` does) or, for clients that cannot set headers, ``?token=<token>``
(``pairing.presented_token``). Messages are JSON objects with a
``type``.

Server -> kiosk:

- ``{"type": "services", "services": [...], "branch": {...}, "allow_priority": bool}``: first,
  and again whenever it changes: the fan-out's events for the branch trigger a refresh, coalesced to
  at most one every ``REFRESH_MIN_INTERVAL_S``, and it is recomputed every ``REFRESH_EVERY_S``
  anyway because opening hours end without any event. Each service is ``{id, prefix, name_zh,
  name_en, waiting, estimated_wait_s, issuing, refusal}``: ``estimated_wait_s`` is what a regular
  ticket issued now would be told (``QueueStore.wait_s``, as its phone page), null while no open
  counter serves the service; ``refusal`` is null while ``issuing``, else ``{code, message,
  message_zh}`` with code ``closed``, ``stopped_issuing`` or ``daily_cap_reached``. ``branch`` is
  ``{id, name_zh, name_en, timezone, counters: [{id, name_zh, name_en, services}]}``.
- ``{"type": "issued", "request_id", "ticket": {...}}``: the ticket JSON of the HTTP API (with its
  id: the kiosk prints it in the QR code).
- ``{"type": "refused", "request_id", "error": {code, message, message_zh}}``: the branch's
  refusal (as above), ``rate_limited``, ``invalid_field`` (unknown service, priority where the
  branch has none), ``unavailable`` (Redis is down) or ``unauthorized`` (the account was disabled or
  the session ended; the socket is then closed with 4401).
- ``{"type": "error", "error": {code, message, message_zh}}``: a message that was not understood.
- ``{"type": "pong"}``: the answer to the kiosk's ``{"type": "ping"}``.

Kiosk -> server:

- ``{"type": "issue", "request_id": "<uuid>", "service": "A", "priority": false}``: issued with
  the request id as idempotency key, so a request repeated (after a lost reply or a reconnect)
  returns the same ticket instead of a second one.
- ``{"type": "health", "printer": {"online", "paper_out", "paper_near_end", "cover_open",
  "error": str | null}}``: every few seconds; stored as the kiosk's device health
  (``server.devices``). A kiosk silent for ``SILENCE_LIMIT_S`` is disconnected (close 4408).
- ``{"type": "ping"}``.

Each kiosk may issue at most ``NEXTUP_KIOSK_TICKETS_PER_MINUTE`` tickets (default
``settings.DEFAULT_KIOSK_TICKETS_PER_MINUTE``; 0 turns the limit off) in any 60 seconds, counted in Redis so the
limit holds whichever server process the kiosk reaches; a repeated request id does not count
twice. The issue script checks and counts it (``store.IssueLimit``) in the same window as a kiosk
account's ``POST /api/branches/{branch}/tickets``. Close codes are ``events.CloseCode``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import deque
from typing import Any, cast

from redis.exceptions import RedisError
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server import devices, events, keys, rules
from server.auth import Identity, Role
from server.config import Branch
from server.context import Context
from server.errors import ApiError, NextUpError
from server.events import CloseCode
from server.fanout import Subscription
from server.pairing import presented_token
from server.shapes.branch import CounterInfo
from server.shapes.messages import Issued, KioskBranch, KioskError, KioskService, KioskServices, Refusal, Refused
from server.socket_session import TokenWatch, admit, close_quietly, run_together
from server.store import Actor, IssueLimit, QueueStore, emergency_refusal

log = logging.getLogger("nextup.kiosk")

#: Roles whose token opens the kiosk socket.
ISSUERS = frozenset({Role.KIOSK, Role.ADMIN})
#: Seconds without any message from a kiosk (it sends health every 5 s) before it is dropped.
SILENCE_LIMIT_S = 20.0
#: Least time between two services messages: a busy hall changes several times a second.
REFRESH_MIN_INTERVAL_S = 0.5
#: Longest time between two recomputations, for changes no event announces (closing time).
REFRESH_EVERY_S = 30.0
#: Largest message a kiosk may send; real ones are under 300 bytes.
MAX_MESSAGE_CHARS = 4096

#: Replies waiting to go out at most: a kiosk that sends but does not read is dropped (1013)
#: instead of making the server queue without bound.
MAX_PENDING_REPLIES = 256

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")

UNAUTHORIZED = Refusal(
    code="unauthorized",
    message="This kiosk's account is disabled or its session has ended; no ticket was issued.",
    message_zh="本机账号已停用或登录已失效，未能出号。",
)
UNAVAILABLE = Refusal(
    code="unavailable",
    message="The queue system is unavailable; no ticket was issued. Please try again shortly.",
    message_zh="排队系统暂时不可用，未能出号，请稍后再试。",
)


def refusal_of(error: ApiError) -> Refusal:
    """An ApiError as the kiosk shows it: code, English and Chinese text."""
    message_zh = error.extra.get("message_zh")
    return Refusal(code=error.code, message=error.message,
                   message_zh=message_zh if isinstance(message_zh, str) else error.message)  # fmt: skip


def kiosk_branch(branch: Branch) -> KioskBranch:
    return KioskBranch.of(branch, counters=[CounterInfo.of(c) for c in branch.counters.values()])


async def services_message(store: QueueStore) -> KioskServices:
    """What the kiosk shows now: per service its queue, the wait a new ticket faces, and any refusal."""
    branch = store.branch
    state = await store.state()
    now = store.clock.now()
    issued: dict[str, str] = {}
    if any(s.daily_cap for s in branch.services.values()):
        day = rules.business_day(branch, now).isoformat()
        issued = cast(dict[str, str], await store.redis.hgetall(keys.numbering(branch.id, day)))
    open_counters = [branch.counters[c.id] for c in state.counters
                     if c.status == rules.CounterStatus.OPEN and c.id in branch.counters]  # fmt: skip
    emergency = state.emergency
    services = []
    for entry in state.services:
        service = branch.services.get(entry.id)
        if service is None:
            continue  # removed by an admin while the state was read: gone from the next message
        regular_waiting = entry.waiting - entry.priority_waiting
        ahead = rules.tickets_ahead(False, regular_waiting, entry.priority_waiting, branch.priority_cap)
        serving = sum(1 for c in open_counters if service.id in c.services)
        refusal: Refusal | None = None
        why = rules.issue_refusal(branch, service.id, now)
        if emergency is not None:
            refusal = refusal_of(emergency_refusal(emergency.kind.value))
        elif why is not None:
            refusal = Refusal(code=why.code, message=why.message, message_zh=why.message_zh)
        elif service.daily_cap and int(issued.get(service.id, 0)) >= service.daily_cap:
            # The same words the issue request would be refused with.
            refusal = refusal_of(store.daily_cap_refusal(service.id, service.daily_cap))
        # What a regular ticket issued now would be told (None while no open counter serves it).
        wait_s = store.wait_s(service.id, False, regular_waiting, ahead, serving)
        services.append(KioskService(
            id=service.id, prefix=service.prefix, name_zh=service.name_zh, name_en=service.name_en,
            waiting=entry.waiting, estimated_wait_s=wait_s, issuing=refusal is None, refusal=refusal,
        ))  # fmt: skip
    return KioskServices(services=services, branch=kiosk_branch(branch), allow_priority=branch.allow_priority,
                         emergency=emergency)  # fmt: skip


class _TooSlow(NextUpError):
    """The kiosk does not read its replies."""


class KioskConnection:
    """One kiosk's socket: a writer, a services refresher and a receiver, ended together."""

    def __init__(
        self,
        websocket: WebSocket,
        store: QueueStore,
        identity: Identity,
        subscription: Subscription,
        limit: IssueLimit | None,
        token: TokenWatch,
    ) -> None:
        self.websocket = websocket
        self.token = token
        self.store = store
        self.identity = identity
        self.subscription = subscription
        self.limit = limit
        address = websocket.client.host if websocket.client else ""
        self.actor = Actor(identity.username, identity.role.value, address)
        # Replies go out in order; only the latest services message matters, so it takes one slot.
        self._replies: deque[str] = deque()
        self._services: str | None = None
        self._wake = asyncio.Event()

    def _post(self, message: Issued | Refused | KioskError) -> None:
        self._queue_reply(events.encode(message))

    def _queue_reply(self, text: str) -> None:
        if len(self._replies) >= MAX_PENDING_REPLIES:
            raise _TooSlow
        self._replies.append(text)
        self._wake.set()

    async def serve(self) -> None:
        first = events.encode(await services_message(self.store))
        await self.websocket.send_text(first)
        # The refresher reads the subscription: an overflow ends it.
        ended = await run_together(
            self.subscription, self._refresh(first), self._write(), self._receive(), self.token.run()
        )
        if ended.result(3) == "unauthorized":
            await close_quietly(self.websocket, CloseCode.UNAUTHORIZED, "The token no longer holds; log in again")
        elif self.subscription.overflowed or isinstance(ended.error(2), _TooSlow):
            await close_quietly(self.websocket, CloseCode.TRY_AGAIN_LATER, "too slow; reconnect")
        elif ended.result(2) == "silent":
            await close_quietly(self.websocket, CloseCode.HEARTBEAT_TIMEOUT, "no heartbeat")
        elif isinstance(ended.error(0), RedisError):
            await close_quietly(self.websocket, CloseCode.UNAVAILABLE, "Redis unavailable; reconnect")

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._replies:
                await self.websocket.send_text(self._replies.popleft())
            if self._services is not None:
                text, self._services = self._services, None
                await self.websocket.send_text(text)

    async def _refresh(self, last_sent: str) -> None:
        queue = self.subscription.queue
        refreshed = time.monotonic()
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), max(0.0, refreshed + REFRESH_EVERY_S - time.monotonic()))
                if item.key is None:
                    continue  # the fan-out's heartbeat: the kiosk has its own
            except TimeoutError:
                pass
            # Let a burst of events (a counter calling, finishing, calling again) settle into one message.
            await asyncio.sleep(max(0.0, refreshed + REFRESH_MIN_INTERVAL_S - time.monotonic()))
            while not queue.empty():
                queue.get_nowait()
            text = events.encode(await services_message(self.store))
            refreshed = time.monotonic()
            if text != last_sent:
                last_sent = self._services = text
                self._wake.set()

    async def _receive(self) -> str:
        while True:
            try:
                message = await asyncio.wait_for(self.websocket.receive(), SILENCE_LIMIT_S)
            except TimeoutError:
                return "silent"
            if message["type"] == "websocket.disconnect":
                return "gone"
            data = _parse(message.get("text") or "")
            kind = data.get("type") if data is not None else None
            if kind == "issue" and data is not None:
                await self._issue(data)
            elif kind == events.MessageType.HEALTH and data is not None:
                await self._health(data)
            elif kind == events.MessageType.PING:
                self._queue_reply(events.PONG_TEXT)
                self._wake.set()
            elif kind != events.MessageType.PONG:
                self._post(KioskError(_bad("Send a JSON object with type issue, health or ping")))

    async def _issue(self, data: dict[str, Any]) -> None:
        request_id = data.get("request_id")
        if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
            self._post(KioskError(_bad("'request_id' must be 1-100 letters, digits or ._:-")))
            return
        refusal = self._check_request(data)
        if refusal is None and not await self.token.holds():
            refusal = UNAUTHORIZED
        if refusal is None:
            try:
                ticket = await self.store.issue_ticket(
                    data["service"], data.get("priority") is True, self.actor, request_id, self.limit
                )
                self._post(Issued(request_id=request_id, ticket=ticket))
                return
            except ApiError as exc:
                refusal = refusal_of(exc)
            except RedisError as exc:
                log.warning("kiosk %s: issuing failed: %s", self.identity.username, exc)
                refusal = UNAVAILABLE
        self._post(Refused(request_id=request_id, error=refusal))

    def _check_request(self, data: dict[str, Any]) -> Refusal | None:
        branch = self.store.branch
        service = data.get("service")
        if not isinstance(service, str) or service not in branch.services:
            return Refusal(code="invalid_field", message=f"Unknown service {str(service)[:32]!r}",
                           message_zh="没有这项业务。")  # fmt: skip
        priority = data.get("priority", False)
        if not isinstance(priority, bool):
            return _bad("'priority' must be true or false")
        if priority and not branch.allow_priority:
            return Refusal(code="invalid_field", message="This branch does not issue priority tickets",
                           message_zh="本网点不提供优先号。")  # fmt: skip
        return None

    async def _health(self, data: dict[str, Any]) -> None:
        try:
            printer = events.PrinterHealth.from_json(data.get("printer"))
        except ValueError as exc:
            self._post(KioskError(_bad(str(exc))))
            return
        try:
            await devices.record_heartbeat(
                self.store.redis, self.store.branch.id, self.identity.username, self.identity.role.value,
                self.actor.source, printer, self.store.clock.now(),
            )  # fmt: skip
        except RedisError as exc:
            log.warning("kiosk %s: storing its health failed: %s", self.identity.username, exc)


def _bad(message: str) -> Refusal:
    return Refusal(code="malformed", message=message, message_zh="请求格式错误。")


def _parse(text: str) -> dict[str, Any] | None:
    if len(text) > MAX_MESSAGE_CHARS:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        # RecursionError: arrays or objects nested deeper than the parser follows.
        return None
    return data if isinstance(data, dict) else None


async def kiosk_socket(websocket: WebSocket) -> None:
    ctx: Context = websocket.app.state.nextup
    fanout = ctx.fanout
    branch: str = websocket.path_params["branch"]
    if not await admit(websocket, ctx, fanout, branch):
        return
    try:
        token = presented_token(websocket)
        identity = await ctx.verify(token)
        identity.require_branch(branch)
        identity.require_role(*ISSUERS)
    except ApiError as exc:
        code = CloseCode.UNAUTHORIZED if exc.status == 401 else CloseCode.FORBIDDEN
        await websocket.close(code, exc.message[:120])
        return
    per_minute = ctx.settings.kiosk_tickets_per_minute
    # Also for an admin token here (testing a kiosk); over HTTP only kiosk accounts are limited.
    limit = IssueLimit(identity.username, per_minute) if per_minute > 0 else None
    with fanout.subscribe(branch) as subscription:
        connection = KioskConnection(websocket, ctx.store, identity, subscription, limit,
                                     TokenWatch(ctx, token, identity))  # fmt: skip
        try:
            await connection.serve()
        except (WebSocketDisconnect, OSError):
            pass  # gone before the first message: nothing to tell it
        except RedisError as exc:
            log.warning("kiosk %s: reading the state failed: %s", identity.username, exc)
            await close_quietly(websocket, CloseCode.UNAVAILABLE, "Redis unavailable; reconnect")
        finally:
            with contextlib.suppress(RedisError, OSError):
                await devices.record_disconnect(ctx.store.redis, branch, identity.username)


ROUTES: list[BaseRoute] = [WebSocketRoute("/ws/branches/{branch}/kiosk", kiosk_socket)]
