"""Rate-limiting lookups of unknown ticket ids, so guessing ids gets nowhere.

Ticket ids are 128 random bits, so guessing one is hopeless anyway; the limit keeps a guesser from
even trying at speed. Every ticket lookup (the phone page ``/t/{id}``, its websocket, the ticket API
and the phone's own endpoints) that finds no ticket costs its client address one token of a bucket
holding ``PhoneSettings.lookups_per_min`` tokens and refilled at that rate. While an address's
bucket is empty its lookups of unknown ids are refused with 429 ``rate_limited`` (a plain sentence
for the page, close code 4429 on the websocket); lookups of existing tickets keep working, so a
customer sharing a hall's Wi-Fi address with a guesser still sees their ticket.

One bucket set per server process, in memory: with N processes a guesser gets N times the rate,
still nothing against 2^128 ids.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import keys, phone
from server.api import TICKET_ID
from server.context import Context
from server.errors import ApiError
from server.events import CloseCode
from server.http import error_response

#: Addresses remembered at most; past it, addresses whose bucket is full again are forgotten.
MAX_ADDRESSES = 50_000

#: Paths that look a ticket up by its id: (scope type, pattern whose group 1 is the id).
_LOOKUPS: list[tuple[str, re.Pattern[str]]] = [
    ("http", re.compile(r"^/t/([^/]+)/?$")),
    ("http", re.compile(r"^/api/branches/[^/]+/tickets/([^/]+)(?:/(?:cancel|updates|rating|complaints))?/?$")),
    ("websocket", re.compile(r"^/ws/tickets/([^/]+)/?$")),
]


class LookupLimiter:
    """Token buckets per client address: ``per_minute`` tokens, refilled continuously."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, when counted)

    @property
    def enabled(self) -> bool:
        return self.capacity > 0

    def tokens(self, address: str) -> float:
        tokens, at = self._buckets.get(address, (self.capacity, 0.0))
        return min(self.capacity, tokens + (self.clock() - at) * self.rate)

    def exhausted(self, address: str) -> bool:
        return self.enabled and self.tokens(address) < 1.0

    def charge(self, address: str) -> None:
        """One lookup of an unknown id from ``address``."""
        if not self.enabled:
            return
        if len(self._buckets) >= MAX_ADDRESSES and address not in self._buckets:
            self._forget_full()
        self._buckets[address] = (max(0.0, self.tokens(address) - 1.0), self.clock())

    def retry_after_s(self, address: str) -> int:
        """Whole seconds until ``address`` has a token again."""
        missing = 1.0 - self.tokens(address)
        return max(1, math.ceil(missing / self.rate)) if self.rate else 60

    def _forget_full(self) -> None:
        for address in [a for a in self._buckets if self.tokens(a) >= self.capacity]:
            del self._buckets[address]
        if len(self._buckets) >= MAX_ADDRESSES:
            # Under a flood of addresses, forgetting is the lesser evil than growing without bound.
            self._buckets.clear()


#: Every path of ``_LOOKUPS`` starts with one of these: other paths need no pattern tried.
_LOOKUP_PREFIXES = ("/t/", "/api/branches/", "/ws/tickets/")


def looked_up_ticket(scope: Scope) -> str | None:
    """The ticket id a request or websocket looks up, or None when it looks none up."""
    path: str = scope.get("path", "")
    if not path.startswith(_LOOKUP_PREFIXES) or (path.startswith("/api/branches/") and "/tickets/" not in path):
        return None
    for kind, pattern in _LOOKUPS:
        if scope["type"] == kind:
            match = pattern.match(path)
            if match:
                return match.group(1)
    return None


class TicketLookupGuard:
    """Pure ASGI middleware charging lookups that found no ticket and refusing them once exhausted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.limiter: LookupLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ticket_id = looked_up_ticket(scope) if scope["type"] in ("http", "websocket") else None
        if ticket_id is None:
            await self.app(scope, receive, send)
            return
        if self.limiter is None:
            self.limiter = LookupLimiter(phone.phone_settings(scope["app"]).lookups_per_min)
        limiter = self.limiter
        address = scope["client"][0] if scope.get("client") else ""
        if limiter.exhausted(address) and not await _ticket_exists(scope, ticket_id):
            await _refuse(scope, receive, send, limiter.retry_after_s(address))
            return

        async def send_watching(message: Message) -> None:
            # A 404 page or answer, or a websocket closed with "no such ticket": a miss.
            if (message["type"] == "http.response.start" and message["status"] == 404) or (
                message["type"] == "websocket.close" and message.get("code") == CloseCode.NOT_FOUND
            ):
                limiter.charge(address)
            await send(message)

        await self.app(scope, receive, send_watching)


async def _ticket_exists(scope: Scope, ticket_id: str) -> bool:
    if not TICKET_ID.match(ticket_id):
        return False
    ctx: Context = scope["app"].state.nextup
    return bool(await ctx.store.redis.exists(keys.ticket(ctx.store.branch.id, ticket_id)))


async def _refuse(scope: Scope, receive: Receive, send: Send, retry_after_s: int) -> None:
    headers = {"Retry-After": str(retry_after_s)}
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        # Accepted first: a close code reaches the browser only on an open websocket.
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.close", "code": CloseCode.RATE_LIMITED, "reason": "rate limited"})
        return
    request = Request(scope, receive)
    if scope["path"].startswith("/t/"):
        response = phone.error_page(request, 429, headers)
    else:
        response = error_response(
            ApiError(429, "rate_limited", f"Too many lookups of unknown tickets; retry in {retry_after_s} s")
        )
        response.headers.update(headers)
    await response(scope, receive, send)
