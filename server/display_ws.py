"""The lobby display: its websocket ``/ws/branches/{branch}/display`` and its page ``/display/{branch}``.

Websocket contract (the message shapes are in ``server.events``):

- Connect to ``/ws/branches/{branch}/display[?since=<seq>]`` with the token in the ``nextup_device``
  cookie (what the page does: set by pairing, or by opening the page with ``?token=``), in
  ``Authorization: Bearer``, or in ``?token=<token>`` (``pairing.presented_token``). Any valid
  token of a display, staff, manager or admin account of the branch is accepted.
- The first message is a snapshot, ``{"type": "snapshot", "seq", "state"}``, unless ``since`` is
  given and the stream still holds that event: then every event after it comes first, in order
  (at most ``BACKLOG_LIMIT``; beyond that, a snapshot instead). Live events follow, with no gap and
  no duplicate.
- The server sends ``{"type": "ping"}`` every ``fanout.HEARTBEAT_S`` seconds and closes a client it
  has heard nothing from for ``SILENCE_LIMIT_S`` seconds; a client answers each ping with
  ``{"type": "pong"}`` (a ``{"type": "ping"}`` from the client gets a pong).
- A display account's screen reports its voices, ``{"type": "health", "voices": {"zh": bool,
  "en": bool, "languages": ["zh", "en"]}}`` (``events.VoiceHealth``), when it connects and whenever
  its browser's voices change; the devices report shows the last one. Nothing is answered, and a
  malformed report is ignored.
- Close codes are ``events.CloseCode``: 4401 bad token, 4403 wrong account or Origin, 4404 unknown
  branch, 4408 silent client, 1013 client too slow (reconnect with ``since``); 1011 when Redis
  fails while the first messages are read; 1012 when the server shuts down. With ``since`` and
  nothing after it, the first message is simply the next live event. An Origin header, when sent,
  must name the host the request was sent to (``Host``), so another web site cannot open the socket.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
import msgspec
from redis.exceptions import RedisError
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from server import devices, events, keys
from server.auth import Identity, Role
from server.background import Loop
from server.config import Branch
from server.context import Context
from server.errors import ApiError
from server.events import CloseCode, VoiceHealth
from server.fanout import Outgoing, Subscription
from server.pairing import DEVICE_COOKIE, presented_token, set_device_cookie
from server.presence import DISPLAY_PRESENCE_S, PresenceThrottle
from server.shapes.branch import BranchPlace, CounterInfo, DisplayState, ServiceInfo
from server.shapes.messages import Snapshot
from server.socket_session import TokenWatch, admit, close_quietly, message_type, receive_pings, run_together
from server.store import QueueStore
from server.web.i18n import CATALOGUE, section
from server.web.live_socket import LIVE_SOCKET_JS

log = logging.getLogger("nextup.display")

#: Most events replayed to a resuming client; a screen away longer gets a snapshot instead.
BACKLOG_LIMIT = 1_000
#: Seconds without any message from a client before the server drops it.
SILENCE_LIMIT_S = 12.0
#: Longest ``health`` message a display may send; a longer one is ignored.
MAX_HEALTH_CHARS = 1_000
#: Roles that may watch a branch's display stream.
WATCHERS = frozenset({Role.DISPLAY, Role.STAFF, Role.MANAGER, Role.ADMIN})
#: Page security headers: a token may be in the page's URL, so it is never cached or sent as a referrer.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; media-src 'self' blob: data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


async def watcher(ctx: Context, token: str, branch: str) -> Identity:
    """The account behind a display token, if it may watch ``branch``; ApiError 401/403 if not."""
    identity = await ctx.verify(token)
    identity.require_branch(branch)
    identity.require_role(*WATCHERS)
    return identity


async def backlog_after(store: QueueStore, since: str) -> list[tuple[str, dict[str, str]]] | None:
    """Events after ``since`` in order, or None when the stream no longer holds ``since`` or too many."""
    key = keys.events(store.branch.id)
    # One transaction: a trim between the two reads could otherwise drop entries after ``since``.
    async with store.redis.pipeline(transaction=True) as pipe:
        pipe.xrange(key, since, since)
        pipe.xrange(key, f"({since}", "+", count=BACKLOG_LIMIT + 1)
        held, entries = await pipe.execute()
    if not held or len(entries) > BACKLOG_LIMIT:
        return None
    return list(entries)


async def snapshot(store: QueueStore) -> Snapshot:
    """The branch state and the seq of the last event it includes, read in one atomic step."""
    state = (await store.state()).public()
    branch = store.branch
    shown = DisplayState(
        branch=state.branch, name_zh=branch.name_zh, name_en=branch.name_en, timezone=branch.timezone,
        services=state.services, counters=state.counters, recent_calls=state.recent_calls, notice=state.notice,
        emergency=state.emergency,
    )  # fmt: skip
    return Snapshot(seq=state.seq, state=shown)


async def opening(store: QueueStore, since: str) -> tuple[list[str], tuple[int, int]]:
    """The first messages for a client and the stream position they bring it to."""
    after = events.parse_seq(since)
    if after is not None:
        backlog = await backlog_after(store, since)
        if backlog is not None:
            texts = [events.encode(events.public_message(events.message_from_entry(s, f))) for s, f in backlog]
            last = events.parse_seq(backlog[-1][0]) if backlog else after
            return texts, last or after
    first = await snapshot(store)
    return [events.encode(first)], events.parse_seq(first.seq or "") or (0, 0)


@dataclass
class DisplayConnection:
    websocket: WebSocket
    subscription: Subscription
    #: The connection's ASGI send: live messages go straight to it, skipping the WebSocket wrapper.
    send: Send
    token: TokenWatch
    #: What the client's messages other than pings go to (a display device's health reports).
    on_text: Callable[[str], Awaitable[None]] | None = None

    async def serve(self, first: list[str], position: tuple[int, int]) -> None:
        ended = await run_together(
            self.subscription, self._send(first, position),
            receive_pings(self.websocket, self.subscription, SILENCE_LIMIT_S, self.on_text), self.token.run(),
        )  # fmt: skip
        if ended.result(2) == "unauthorized":
            await close_quietly(self.websocket, CloseCode.UNAUTHORIZED, "The token no longer holds; log in again")
        elif self.subscription.overflowed:
            log.warning(
                "display %s fell %d messages behind; disconnected with %d",
                self.websocket.client, self.subscription.limit, CloseCode.TRY_AGAIN_LATER,
            )  # fmt: skip
            await close_quietly(self.websocket, CloseCode.TRY_AGAIN_LATER, "too slow; reconnect with since")
        elif ended.result(1) == "silent":
            await close_quietly(self.websocket, CloseCode.HEARTBEAT_TIMEOUT, "no heartbeat")

    async def _send(self, first: list[str], position: tuple[int, int]) -> None:
        for text in first:
            await self.websocket.send_text(text)
        queue = self.subscription.queue
        while True:
            item: Outgoing = await queue.get()
            if item.key is not None:
                if item.key <= position:
                    continue  # already in the snapshot or backlog
                position = item.key
            await self.send(item.asgi)


class DisplaySocket:
    """The endpoint as a plain ASGI app, so that its hot path can keep the ASGI ``send``."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await display_socket(WebSocket(scope, receive, send), send)


async def display_socket(websocket: WebSocket, send: Send) -> None:
    ctx: Context = websocket.app.state.nextup
    fanout = ctx.fanout
    branch: str = websocket.path_params["branch"]
    if not await admit(websocket, ctx, fanout, branch):
        return
    try:
        token = presented_token(websocket)
        identity = await watcher(ctx, token, branch)
    except ApiError as exc:
        code = CloseCode.UNAUTHORIZED if exc.status == 401 else CloseCode.FORBIDDEN
        await websocket.close(code, exc.message[:120])
        return
    with fanout.subscribe(branch) as subscription:
        subscription.hold()
        try:
            first, position = await opening(ctx.store, websocket.query_params.get("since", ""))
        except RedisError as exc:
            log.warning("display of branch %s: reading the state failed: %s", branch, exc)
            await websocket.close(CloseCode.UNAVAILABLE, "Redis unavailable; reconnect")
            return
        subscription.resume_after(position)
        watch = TokenWatch(ctx, token, identity)
        if identity.role != Role.DISPLAY:
            await DisplayConnection(websocket, subscription, send, watch).serve(first, position)
            return
        # A hall screen: the devices report shows it (staff watching from a PC are not devices).
        address = websocket.client.host if websocket.client else ""
        screen = DisplayPresence(ctx.store, ctx.presence, identity.username, address)
        presence = screen.loop().start()
        try:
            await DisplayConnection(websocket, subscription, send, watch, screen.on_text).serve(first, position)
        finally:
            await presence.stop()
            ctx.presence.forget(branch, identity.username)
            with contextlib.suppress(RedisError):
                await devices.record_disconnect(ctx.store.redis, branch, identity.username)


def reported_voices(text: str) -> VoiceHealth | None:
    """The voices of a display's ``health`` message; None for any other or malformed message."""
    if len(text) > MAX_HEALTH_CHARS or message_type(text) != events.MessageType.HEALTH:
        return None
    try:
        return VoiceHealth.from_json(json.loads(text).get("voices"))
    except ValueError:
        return None


class DisplayPresence:
    """A display screen in the devices report: recorded every DISPLAY_PRESENCE_S while it is
    connected (once per period for all the screens sharing the account, through ``throttle``), and
    at once when it reports voices other than before."""

    def __init__(self, store: QueueStore, throttle: PresenceThrottle, device: str, address: str) -> None:
        self.store = store
        self.throttle = throttle
        self.device = device
        self.address = address
        #: What the screen last said of its voices; None until it says.
        self.voices: VoiceHealth | None = None

    async def record(self) -> None:
        store = self.store
        await devices.record_heartbeat(
            store.redis, store.branch.id, self.device, Role.DISPLAY.value, self.address, None, store.clock.now(),
            self.voices,
        )  # fmt: skip

    async def on_text(self, text: str) -> None:
        voices = reported_voices(text)
        if voices is None or voices == self.voices:
            return
        self.voices = voices
        try:
            await self.record()
        except RedisError as exc:  # the next periodic record carries it
            log.warning("display %s: recording its voices failed: %s", self.device, exc)

    async def _tick(self) -> None:
        if self.throttle.due(self.store.branch.id, self.device):
            await self.record()

    def loop(self) -> Loop:
        return Loop(
            f"presence of display {self.device}", self._tick, every_s=DISPLAY_PRESENCE_S, retry_on=(RedisError,),
            logger=log,
        )  # fmt: skip


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("display", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )


@functools.cache
def _asset_version() -> str:
    """A hash of the static files, appended to their URLs so a TV never runs an old script."""
    digest = hashlib.sha256()
    folder = resources.files("display") / "static"
    for name in sorted(entry.name for entry in folder.iterdir()):
        digest.update(name.encode() + (folder / name).read_bytes())
    digest.update(LIVE_SOCKET_JS.read_bytes())
    return digest.hexdigest()[:12]


#: How often a display announces an emergency state again while it lasts (``?emergency_repeat_s=``
#: changes it on one screen, within the bounds below).
EMERGENCY_REPEAT_S = 180
EMERGENCY_REPEAT_BOUNDS_S = (5, 3600)


def _repeat_s(query: QueryParams) -> int:
    raw = query.get("emergency_repeat_s", "")
    if not raw.isdigit():
        return EMERGENCY_REPEAT_S
    low, high = EMERGENCY_REPEAT_BOUNDS_S
    return min(high, max(low, int(raw)))


def _selection(query: QueryParams, name: str, known: list[str]) -> list[str] | None:
    """The ids listed in ``?name=a,b`` that exist, in configured order; None for no selection."""
    raw = query.get(name, "")
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    chosen = [item for item in known if item in wanted]
    return chosen or None


def page_config(branch: Branch, query: QueryParams) -> dict[str, Any]:
    """What the page's script needs, embedded as JSON: names, filters and the socket (no token: a cookie)."""
    only_counters = _selection(query, "counters", list(branch.counters))
    only_services = _selection(query, "services", list(branch.services))
    counters = [
        c for c in branch.counters.values()
        if (only_counters is None or c.id in only_counters)
        and (only_services is None or any(s in only_services for s in c.services))
    ]  # fmt: skip
    if only_services is not None:
        services = only_services
    elif only_counters is not None:
        services = [s for s in branch.services if any(s in c.services for c in counters)]
    else:
        services = list(branch.services)
    lang = query.get("lang", "")
    return {
        "branch": msgspec.to_builtins(BranchPlace.of(branch)),
        "counters": msgspec.to_builtins([CounterInfo.of(c) for c in counters]),
        "services": msgspec.to_builtins([ServiceInfo.of(branch.services[i]) for i in services]),
        "filtered": only_counters is not None or only_services is not None,
        "lang": lang if lang in ("zh", "en") else "both",
        "socket": f"/ws/branches/{branch.id}/display",
        "silence_s": 10,
        "texts": section("display."),
        # The words of each kind of emergency state ("title.evacuation" ...), and how often it is announced.
        "emergency": section("emergency."),
        "emergency_repeat_s": _repeat_s(query),
    }  # fmt: skip


#: What a display's address may carry on to its pairing screen: its filters and language, never a token.
_KEPT_QUERY = ("lang", "counters", "services")


def _error_page(request: Request, branch: Branch, status: int, title: str, what: str) -> Response:
    """A plain page for whoever stands at the TV: what happened (``title``, ``what``: catalogue keys)
    and what to do, in Chinese and English (or the ``?lang=`` one); its button opens this server's
    pairing screen. No API path, no token: nothing a person at a TV could act on."""
    names = {"zh": branch.name_zh, "en": branch.name_en}
    lang = request.query_params.get("lang", "")
    kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k in _KEPT_QUERY])
    html = _templates().get_template("error.html").render(
        lang=lang if lang in ("zh", "en") else "both",
        title=CATALOGUE[title],
        lines=[{lang: CATALOGUE[key][lang].format(branch=names[lang]) for lang in names}
               for key in (what, "display.error.todo")],
        pair={"href": f"/display/{quote(branch.id)}" + (f"?{kept}" if kept else ""),
              "text": CATALOGUE["display.error.pair"]},
    )  # fmt: skip
    return HTMLResponse(html, status_code=status, headers=_PAGE_HEADERS)


async def display_page(request: Request) -> Response:
    """The display page: ``/display/{branch}`` on a paired TV, or ``?token=<display token>``.

    A token in the query is moved into the HttpOnly device cookie (and the page's script removes it
    from the address bar); the page and its socket then work from the cookie. With no credential,
    or a cookie that no longer works, the page shows a pairing code for an admin to approve.
    """
    ctx: Context = request.app.state.nextup
    branch = ctx.store.branch
    if request.path_params["branch"] != branch.id:
        return _error_page(request, branch, 404, "display.error.no_branch", "display.error.no_branch_what")
    token = request.query_params.get("token", "")
    if token:
        try:
            identity = await watcher(ctx, token, branch.id)
        except ApiError as exc:
            what = "display.error.unauthorised_what"
            return _error_page(request, branch, exc.status, "display.error.unauthorised", what)
    else:
        try:
            identity = await watcher(ctx, request.cookies.get(DEVICE_COOKIE, ""), branch.id)
        except ApiError:
            return _pairing_page(branch, request)
    config = page_config(branch, request.query_params)
    html = _templates().get_template("display.html").render(
        config=config, branch=config["branch"], counters=config["counters"], services=config["services"],
        lang=config["lang"], texts=config["texts"], version=_asset_version(),
    )  # fmt: skip
    response = HTMLResponse(html, headers=_PAGE_HEADERS)
    if token:
        set_device_cookie(response, request, token, int(identity.expires - time.time()))
    return response


def _pairing_page(branch: Branch, request: Request) -> Response:
    """The screen of a display that has no credential yet: it asks for a code and waits for approval."""
    config = {"branch": branch.id, "kind": "display", "texts": section("display.pairing.")}
    html = (
        _templates()
        .get_template("pairing.html")
        .render(
            config=config,
            branch={"name_zh": branch.name_zh, "name_en": branch.name_en},
            texts=config["texts"],
            version=_asset_version(),
        )
    )
    response = HTMLResponse(html, headers=_PAGE_HEADERS)
    if DEVICE_COOKIE in request.cookies:
        response.delete_cookie(DEVICE_COOKIE, path="/")
    return response


ROUTES: list[BaseRoute] = [
    WebSocketRoute("/ws/branches/{branch}/display", DisplaySocket()),
    Mount("/display/static", StaticFiles(packages=[("display", "static")]), name="display-static"),
    Route("/display/{branch}", display_page, methods=["GET"]),
]
