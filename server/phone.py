"""The customer's phone: the live ticket page ``/t/{ticket id}`` and the channels that keep it live.

No login: the ticket id (128 random bits, printed as the ticket's QR code) is the only key, and
everything here shows that one ticket and nothing of anyone else's. Lookups of unknown ids are
rate-limited per client address (``server.lookup_limit``).

The message a page receives, on every channel::

    {"type": "ticket", "version": "<16 hex>", "ticket": {...the ticket JSON of the HTTP API...},
     "feedback": {"rating": 1-5 | null, "complaints": n, "complaints_left": n, "accepting": bool,
                  "filed": [{"state", "text", "filed_at", "answer_due_at", "answer", "answered_at"}]},
     "expires_at": "<ISO 8601>" | null}

``version`` changes exactly when anything else in the message does. ``expires_at`` is when the page
of a finished ticket (served, no-show, cancelled) stops working: ``PhoneSettings.finished_page_ttl_s``
after it finished, later for a ticket with complaints, whose holder reads the answers there (null
while one waits for its answer; ``server.follow_up``); from then on the page, the socket and the
API answer 410 ``gone``. ``feedback.accepting`` is whether a rating or a complaint is still taken
(until the finished page's own time); ``feedback.filed`` the ticket's complaints, oldest first.

Websocket ``/ws/tickets/{ticket id}``: the message on connect, then again after any event of the
branch that may change the ticket or its place in line (an event of its service, a counter or a
configuration change), coalesced into one reload per burst and sent only when ``version`` changed.
The server sends ``{"type": "ping"}`` every few seconds and closes a client silent for
``SILENCE_LIMIT_S``; a client answers pings with ``{"type": "pong"}``. An Origin header, when sent,
must name this host. Close codes: 4403 foreign Origin, 4404 unknown ticket, 4408 silent client,
4410 the page expired, 4429 rate-limited, 1011 Redis unavailable, 1013 client too slow
(``events.CloseCode``).

Fallback where a proxy blocks websockets: long polling, plain HTTP that every proxy forwards (SSE is
held back by buffering proxies). ``GET /api/branches/{b}/tickets/{id}/updates?since=<version>&wait=<s>``
answers the message at once when its version differs from ``since``; otherwise it waits up to
``wait`` seconds (at most ``LONG_POLL_MAX_S``) for a change and then answers the current message.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from server import events, follow_up
from server.api import TICKET_ID, branch_store, ticket_id_of
from server.context import Context, context
from server.errors import ApiError, NextUpError, invalid_field, not_found
from server.events import CloseCode
from server.fanout import Outgoing, Subscription
from server.http import JSONResponse
from server.rules import TicketStatus
from server.settings import PhoneSettings
from server.shapes.branch import BranchNames, Emergency
from server.shapes.feedback import (
    COMMENT_MAX,
    COMPLAINT_MAX,
    COMPLAINTS_PER_TICKET,
    Feedback,
    FiledComplaint,
    TicketMessage,
)
from server.shapes.tickets import Ticket
from server.socket_session import close_quietly, origin_allowed, receive_pings, run_together
from server.store import NOBODY, QueueStore, TicketReply
from server.web.i18n import LANG_COOKIE, page_language, section, section_in, translate
from server.web.templating import templates

log = logging.getLogger("nextup.phone")

Json = dict[str, Any]

#: Longest a long poll is held open, in seconds: under the idle timeout of common proxies (30-60 s).
LONG_POLL_MAX_S = 25.0
#: Seconds without any message from a phone (it answers pings) before the server drops it.
SILENCE_LIMIT_S = 15.0
#: Seconds after which a waiting ticket's view is reloaded even without an event.
REFRESH_S = 30.0

#: Statuses after which a ticket's page counts down to its expiry.
FINISHED = frozenset({"served", "no_show", "cancelled"})

_PAGE_HEADERS = {"Cache-Control": "no-store"}
_EVENT_TYPE = re.compile(r'^\{"type":"([a-z_]+)"')


def phone_settings(app: Starlette) -> PhoneSettings:
    """This app's phone settings (``Settings.phone``)."""
    ctx: Context = app.state.nextup
    return ctx.settings.phone


# ---- The ticket as the phone sees it ------------------------------------------------------------


class PhoneViewReply(TicketReply):
    """``lua/phone_view.lua``'s reply: the ticket, its place, and what its holder did."""

    rating: int | None = None
    complaints: int = 0
    #: When the ticket finished (ms since the epoch); None while it is not finished.
    ended_ms: int | None = None
    #: Its complaints' stored fields (``follow_up.STORED_FIELDS``); cjson writes an empty list as {}.
    filed: list[dict[str, str]] | dict[str, Any] = msgspec.field(default_factory=list)
    emergency: Emergency | None = None


@dataclass(frozen=True)
class TicketView:
    message: TicketMessage
    service: str
    #: When the page stops working (ms since the epoch); None while the ticket is not finished.
    expires_ms: int | None

    @property
    def version(self) -> str:
        return self.message.version

    def expired(self, now_ms: int) -> bool:
        return self.expires_ms is not None and now_ms > self.expires_ms

    @property
    def changes_unannounced(self) -> bool:
        """Whether the view may change with no event: the wait estimate of a waiting ticket learns
        from recent handling times; a finished ticket's complaints are answered (complaints are
        never in the stream) and its feedback window closes. Such a view is reloaded every
        ``REFRESH_S`` on a heartbeat."""
        status = self.message.ticket.status
        return status == TicketStatus.WAITING or status in FINISHED


def gone(ticket: Ticket) -> ApiError:
    return ApiError(410, "gone", f"The page of ticket {ticket.number} has expired", state=ticket.status.value)


async def read_view(store: QueueStore, settings: PhoneSettings, ticket_id: str) -> TicketView:
    """The ticket's view in one script call; 404 for an unknown ticket (expired or not: see ``current_view``)."""
    result = await store.run_ticket_script(
        PhoneViewReply, "phone_view", NOBODY, ticket_id, *follow_up.STORED_FIELDS, context={"what": "Ticket"}
    )
    if result.ticket is None:
        raise not_found("Ticket")
    ticket = store.with_position(result.ticket, result.position)
    filed = result.filed if isinstance(result.filed, list) else []  # an empty Lua table arrives as {}
    expires_ms = follow_up.page_expires_ms(result.ended_ms, filed, settings)
    feedback = Feedback(
        rating=result.rating,
        complaints=result.complaints,
        complaints_left=max(0, COMPLAINTS_PER_TICKET - result.complaints),
        accepting=follow_up.accepting(result.ended_ms, now_ms(store), settings),
        filed=msgspec.convert(
            follow_up.holder_complaints(filed, settings, lambda ms: _iso(store, ms) or ""), list[FiledComplaint]
        ),
    )
    expires_at = _iso(store, expires_ms)
    unversioned = TicketMessage(
        version="", ticket=ticket, feedback=feedback, expires_at=expires_at, emergency=result.emergency
    )
    version = hashlib.sha256(msgspec.json.encode(unversioned)).hexdigest()[:16]
    return TicketView(msgspec.structs.replace(unversioned, version=version), ticket.service, expires_ms)


async def current_view(store: QueueStore, settings: PhoneSettings, ticket_id: str) -> TicketView:
    """The view of a ticket whose page still works: 404 unknown, 410 expired."""
    view = await read_view(store, settings, ticket_id)
    if view.expired(now_ms(store)):
        raise gone(view.message.ticket)
    return view


def now_ms(store: QueueStore) -> int:
    return int(store.clock.now().timestamp() * 1000)


def _iso(store: QueueStore, ms: int | None) -> str | None:
    if ms is None:
        return None
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(store.branch.zone)
    return moment.isoformat(timespec="seconds")


def concerns(text: str, service: str) -> bool:
    """Whether an event (its wire text) may change a ticket of ``service`` or its place in line.

    Any event of that service may move it (issue, call, cancel, transfer, reactivate ...); counter
    and configuration changes alter its wait estimate, and an emergency state concerns everybody. Events
    of other services cannot touch it.
    """
    match = _EVENT_TYPE.match(text)
    if match is None:
        return False
    kind = match.group(1)
    if kind.startswith(("counter_", "config_", "emergency_")):
        return True
    if not kind.startswith("ticket_"):
        return False
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return True
    ticket = message.get("ticket") if isinstance(message.get("ticket"), dict) else {}
    return service in (ticket.get("service"), message.get("from_service"), message.get("to_service"))


def drain_concerning(subscription: Subscription, first: Outgoing, service: str) -> bool:
    """Whether ``first`` or anything already queued behind it concerns ``service``; empties the queue.

    One reload then covers a whole burst of events (a busy minute at the counters).
    """
    stale = first.key is not None and concerns(first.text, service)
    queue = subscription.queue
    while not queue.empty():
        item = queue.get_nowait()
        if not stale and item.key is not None:
            stale = concerns(item.text, service)
    return stale


# ---- The websocket -------------------------------------------------------------------------------


class _Closing(NextUpError):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass
class PhoneConnection:
    websocket: WebSocket
    subscription: Subscription
    store: QueueStore
    settings: PhoneSettings
    ticket_id: str
    view: TicketView

    async def serve(self) -> None:
        ended = await run_together(
            self.subscription, self._send(), receive_pings(self.websocket, self.subscription, SILENCE_LIMIT_S)
        )
        closing = next((e for e in (ended.error(0), ended.error(1)) if isinstance(e, _Closing)), None)
        if self.subscription.overflowed:
            await close_quietly(self.websocket, CloseCode.TRY_AGAIN_LATER, "too slow; reconnect")
        elif closing is not None:
            await close_quietly(self.websocket, closing.code, closing.reason)
        elif ended.result(1) == "silent":
            await close_quietly(self.websocket, CloseCode.HEARTBEAT_TIMEOUT, "no heartbeat")

    async def _send(self) -> None:
        loop = asyncio.get_running_loop()
        await self.websocket.send_text(events.encode(self.view.message))
        loaded = loop.time()
        while True:
            item = await self.subscription.queue.get()
            if self.view.expired(now_ms(self.store)):
                raise _Closing(CloseCode.GONE, "the ticket page has expired")
            if item.key is None:
                await self.websocket.send_text(item.text)  # a heartbeat ping or the answer to one
                if not (self.view.changes_unannounced and loop.time() - loaded >= REFRESH_S):
                    continue
            elif not drain_concerning(self.subscription, item, self.view.service):
                continue
            loaded = loop.time()
            try:
                view = await read_view(self.store, self.settings, self.ticket_id)
            except ApiError as exc:
                raise _Closing(CloseCode.NOT_FOUND, "no such ticket") from exc
            except RedisError as exc:
                raise _Closing(CloseCode.UNAVAILABLE, "Redis unavailable; reconnect") from exc
            if view.version != self.view.version:
                await self.websocket.send_text(events.encode(view.message))
            self.view = view


async def ticket_socket(websocket: WebSocket) -> None:
    ctx: Context = websocket.app.state.nextup
    fanout = ctx.fanout
    settings = phone_settings(websocket.app)
    ticket_id: str = websocket.path_params["ticket"]
    # Accept first: a close code reaches the browser only on an open websocket.
    await websocket.accept()
    if not origin_allowed(websocket.headers):
        await websocket.close(CloseCode.FORBIDDEN, "Origin does not match Host")
        return
    store = ctx.store
    if not TICKET_ID.match(ticket_id) or not fanout.serves(store.branch.id):
        await websocket.close(CloseCode.NOT_FOUND, "no such ticket")
        return
    # Subscribe before reading the view, so no event after the read is missed.
    with fanout.subscribe(store.branch.id) as subscription:
        try:
            view = await current_view(store, settings, ticket_id)
        except ApiError as exc:
            code = CloseCode.GONE if exc.status == 410 else CloseCode.NOT_FOUND
            await websocket.close(code, exc.message[:120])
            return
        except RedisError as exc:
            log.warning("phone socket: reading ticket failed: %s", exc)
            await websocket.close(CloseCode.UNAVAILABLE, "Redis unavailable; reconnect")
            return
        await PhoneConnection(websocket, subscription, store, settings, ticket_id, view).serve()


# ---- Long polling ----------------------------------------------------------------------------------


async def ticket_updates(request: Request) -> Response:
    """The ticket message once it differs from ``?since=``, or after ``?wait=`` seconds."""
    ctx = context(request)
    store = branch_store(request, ctx)
    ticket_id = ticket_id_of(request)
    settings = phone_settings(request.app)
    since = request.query_params.get("since", "")
    raw_wait = request.query_params.get("wait", str(int(LONG_POLL_MAX_S)))
    try:
        wait = min(max(float(raw_wait), 0.0), LONG_POLL_MAX_S)
    except ValueError as exc:
        raise invalid_field("wait", f"'wait' must be a number of seconds up to {LONG_POLL_MAX_S:g}") from exc
    fanout = context(request).fanout
    with fanout.subscribe(store.branch.id) as subscription:
        view = await current_view(store, settings, ticket_id)
        if view.version != since or wait <= 0:
            return JSONResponse(view.message, headers=_PAGE_HEADERS)
        # Reloaded whether an event came or the time ran out: the estimate moves without events.
        await _wait_for_change(request, subscription, view, wait)
        view = await current_view(store, settings, ticket_id)
    return JSONResponse(view.message, headers=_PAGE_HEADERS)


async def _client_left(request: Request) -> None:
    """Returns when the client disconnects: a GET's body is empty, so receive() has nothing else."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def _wait_for_change(request: Request, subscription: Subscription, view: TicketView, wait: float) -> bool:
    """Until an event concerning the ticket arrives (True), the time is up or the client left (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    left = asyncio.create_task(_client_left(request))
    try:
        while (remaining := deadline - loop.time()) > 0:
            getter = asyncio.create_task(subscription.queue.get())
            done, _ = await asyncio.wait({getter, left}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if getter not in done:
                getter.cancel()
                return bool(subscription.overflowed)
            if drain_concerning(subscription, getter.result(), view.service):
                return True
        return bool(subscription.overflowed)
    finally:
        left.cancel()


# ---- The page ----------------------------------------------------------------------------------------


def error_page(request: Request, status: int, headers: Mapping[str, str] | None = None) -> Response:
    """A plain sentence for a page that cannot be shown: in the phone's language, then the other."""
    key = {404: "error.not_found", 410: "error.gone", 429: "error.rate_limited"}.get(status, "error.failed")
    lang = page_language(request)
    other = "en" if lang == "zh" else "zh"
    first, second = translate(f"phone.{key}", lang), translate(f"phone.{key}", other)
    response = templates.TemplateResponse(
        request,
        "phone_error.html",
        {"lang": lang, "first": first, "second": second},
        status_code=status,
        headers={**_PAGE_HEADERS, **(headers or {})},
    )
    return response


def page_config(store: QueueStore, settings: PhoneSettings, view: TicketView, lang: str) -> Json:
    """What the page's script needs, embedded as JSON (the Content-Security-Policy forbids inline code)."""
    branch = store.branch
    ticket_id = str(view.message.ticket.id)
    base = f"/api/branches/{branch.id}/tickets/{ticket_id}"
    return {
        "lang": lang,
        "ticket_id": ticket_id,
        "branch": msgspec.to_builtins(BranchNames.of(branch)),
        "services": {s.id: {"name_zh": s.name_zh, "name_en": s.name_en} for s in branch.services.values()},
        "counters": {c.id: {"name_zh": c.name_zh, "name_en": c.name_en} for c in branch.counters.values()},
        "first": msgspec.to_builtins(view.message),
        "socket": f"/ws/tickets/{ticket_id}",
        "updates": f"{base}/updates",
        "cancel": f"{base}/cancel",
        "rating": f"{base}/rating",
        "complaints": f"{base}/complaints",
        "long_poll_s": LONG_POLL_MAX_S,
        "comment_max": COMMENT_MAX,
        "complaint_max": COMPLAINT_MAX,
        "answer_target_h": f"{settings.complaint_answer_target_h:g}",
        "phone_days": f"{settings.complaint_phone_days:g}",
        "texts": section("phone."),
        # The words of each kind of emergency state ("title.evacuation" ...), for its banner.
        "emergency": section("emergency."),
    }


async def ticket_page(request: Request) -> Response:
    """``/t/{ticket id}``: the page the ticket's QR code opens on the customer's phone."""
    ctx = context(request)
    store = ctx.store
    settings = phone_settings(request.app)
    ticket_id: str = request.path_params["ticket"]
    if not TICKET_ID.match(ticket_id):
        return error_page(request, 404)
    try:
        view = await current_view(store, settings, ticket_id)
    except ApiError as exc:
        return error_page(request, exc.status)
    lang = page_language(request)
    ticket = msgspec.to_builtins(view.message.ticket)
    service = store.branch.services.get(ticket["service"])
    response = templates.TemplateResponse(
        request,
        "phone.html",
        {
            "lang": lang,
            "t": section_in("phone.", lang),
            "ticket": ticket,
            "service_zh": service.name_zh if service else ticket["service"],
            "service_en": service.name_en if service else ticket["service"],
            "branch": store.branch,
            "config": page_config(store, settings, view, lang),
        },
        headers=_PAGE_HEADERS,
    )
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400)
    return response


ROUTES: list[BaseRoute] = [
    Route("/t/{ticket}", ticket_page, methods=["GET"]),
    WebSocketRoute("/ws/tickets/{ticket}", ticket_socket),
    Route("/api/branches/{branch}/tickets/{ticket}/updates", ticket_updates, methods=["GET"]),
]
