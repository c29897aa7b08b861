"""Capping the websockets one client address holds open, so one machine cannot exhaust the server.

``SocketCap`` is a pure ASGI middleware counting the open websockets of each client address
(``scope["client"]``, the real client once ``server.proxies`` has read a trusted proxy's
``X-Forwarded-For``). The socket over ``Settings.max_sockets_per_address`` is accepted, so that
the client can read why, then closed at once with ``CloseCode.TRY_AGAIN_LATER`` (1013).

The count is per server process, in memory: with N processes behind a balancer an address may hold
N times the cap, which still bounds each process. The size of every message a client sends is
bounded by uvicorn (``ws_max_size``, close 1009), see ``server.cli``.
"""

from __future__ import annotations

from collections import Counter

from starlette.types import ASGIApp, Receive, Scope, Send

from server.events import CloseCode

SOCKET_CAP_REASON = "too many connections from this address; try again later"


class SocketCap:
    """Refuses (accept, then close 1013) a websocket beyond ``limit`` open ones from its address."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.open: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        address = scope["client"][0] if scope.get("client") else ""
        if self.open[address] >= self.limit:
            await receive()  # websocket.connect
            # Accepted first: a close code reaches a browser only on an open websocket.
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CloseCode.TRY_AGAIN_LATER, "reason": SOCKET_CAP_REASON})
            return
        self.open[address] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open[address] -= 1
            if self.open[address] <= 0:
                del self.open[address]

