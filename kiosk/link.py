"""The kiosk's one websocket to the server: services in, issue requests out, health heartbeats.

``ServerLink`` keeps the connection up by itself: ``async for ws in connect(...)`` reconnects with
jittered exponential backoff (``reconnect_delays``) whatever went wrong, because a kiosk must
never give up. It is ``online`` from the server's first ``services`` message until the connection
drops; the kiosk issues nothing while it is not.

An issue request waits for its answer across a reconnect: requests still unanswered are sent again
on the new connection with the same ``request_id``, which the server uses as idempotency key, so
the retry returns the ticket the first attempt made (if it made one) rather than a second ticket.
The message shapes are documented in ``server.kiosk_ws``.

A token the server refuses (close 4401: expired, revoked, its account disabled) is retried like
any other failure, unless ``on_unauthorized`` says to give it up: then ``run`` returns, and the
kiosk pairs again (``kiosk.kiosk``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable, Generator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.errors import NextUpError
from server.events import CloseCode

log = logging.getLogger("nextup.kiosk.link")

Message = dict[str, Any]

#: First reconnect within this many seconds (random, so kiosks restarted together spread out) ...
FIRST_DELAY_S = 0.5
#: ... then doubling, each delay drawn from its upper half, up to this.
MAX_DELAY_S = 5.0
#: Websocket pings: a server that stops answering for this long counts as gone.
PING_S = 5.0
OPEN_TIMEOUT_S = 5.0


class LinkDown(NextUpError):
    """The server did not answer in time; nothing is known to have been issued."""


def reconnect_delays(first: float = FIRST_DELAY_S, cap: float = MAX_DELAY_S) -> Generator[float]:
    """Seconds to wait before each reconnection attempt: jittered, doubling, capped."""
    yield random.uniform(0, first)
    delay = first
    while True:
        delay = min(cap, delay * 2)
        yield random.uniform(delay / 2, delay)


def _retry_everything(exc: Exception) -> Exception | None:
    # The default gives up on some errors (a 4xx handshake, a bad URI); a kiosk reconnecting
    # forever, with the error in its log, is better than a kiosk whose process has quit.
    log.warning("cannot reach the server: %s", exc)
    return None


class ServerLink:
    def __init__(
        self,
        url: str,
        *,
        headers: Callable[[], dict[str, str]],
        health: Callable[[], Message],
        on_change: Callable[[], None],
        on_unauthorized: Callable[[], bool] = lambda: False,
        heartbeat_s: float = 5.0,
    ) -> None:
        self.url = url
        #: The handshake's headers (the ``Authorization`` of the kiosk's token), read before every
        #: connection attempt so a renewed token is used on the next reconnect.
        self.headers = headers
        self.health = health
        self.on_change = on_change
        #: Called when the server refuses the token (close 4401); True ends ``run``.
        self.on_unauthorized = on_unauthorized
        self.heartbeat_s = heartbeat_s
        #: The server's latest ``services`` message; kept while offline so the page can still show names.
        self.services: Message | None = None
        self.online = False
        #: The close reason of the last connection, for the log and the page ("" when none).
        self.last_close = ""
        self._ws: ClientConnection | None = None
        self._pending: dict[str, tuple[str, asyncio.Future[Message]]] = {}

    async def issue(self, request_id: str, service: str, priority: bool, within_s: float) -> Message:
        """The server's ``issued`` or ``refused`` answer; LinkDown when none came within ``within_s``."""
        text = json.dumps({"type": "issue", "request_id": request_id, "service": service, "priority": priority})
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (text, future)
        try:
            ws = self._ws
            if ws is not None and self.online:
                # If this send is lost with the connection, the reconnect sends it again.
                with contextlib.suppress(ConnectionClosed):
                    await ws.send(text)
            return await asyncio.wait_for(future, within_s)
        except TimeoutError as exc:
            raise LinkDown(f"no answer from the server within {within_s:g} s") from exc
        finally:
            self._pending.pop(request_id, None)

    async def send_health(self) -> None:
        """Send a heartbeat now (also sent every ``heartbeat_s`` while online)."""
        ws = self._ws
        if ws is not None and self.online:
            with contextlib.suppress(ConnectionClosed):
                await ws.send(json.dumps(self.health()))

    async def run(self) -> None:
        """Stay connected, reconnecting for ever; returns only when ``on_unauthorized`` gives the token up."""
        delays = reconnect_delays()
        connector = connect(
            self.url,
            additional_headers=self.headers(),
            open_timeout=OPEN_TIMEOUT_S,
            ping_interval=PING_S,
            ping_timeout=PING_S,
            close_timeout=2,
            max_size=2**20,
            compression=None,
            reconnect_delays=reconnect_delays,
            process_exception=_retry_everything,
        )
        async for ws in connector:
            greeted = await self._session(ws)
            if ws.close_code == CloseCode.UNAUTHORIZED and self.on_unauthorized():
                return
            if greeted:
                delays = reconnect_delays()
            else:
                # Connected but turned away (bad token, unknown branch): the library saw a
                # successful connection and would retry at once, so back off here.
                await asyncio.sleep(next(delays))
            # The library reads its headers at each attempt; they carry the current token.
            connector.additional_headers = self.headers()

    async def _session(self, ws: ClientConnection) -> bool:
        """Serve one connection; True if the server greeted it with its services."""
        heartbeat: asyncio.Task[None] | None = None
        greeted = False
        try:
            first = _parse(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT_S))
            if first.get("type") != "services":
                log.warning("the server opened with %r instead of services", first.get("type"))
                return False
            greeted = True
            self._ws = ws
            self.services = first
            self.online = True
            self.last_close = ""
            log.info("connected to %s", self.url.split("?", 1)[0])
            self.on_change()
            await ws.send(json.dumps(self.health()))
            for text, _ in list(self._pending.values()):
                await ws.send(text)
            heartbeat = asyncio.create_task(self._heartbeat(ws))
            async for raw in ws:
                await self._receive(ws, _parse(raw))
        except (ConnectionClosed, TimeoutError, OSError):
            pass
        finally:
            if heartbeat is not None:
                heartbeat.cancel()
            self._ws = None
            was_online, self.online = self.online, False
            if ws.close_code is not None and ws.close_code != 1000:
                self.last_close = f"{ws.close_code} {ws.close_reason}".strip()
                log.warning("server closed the connection: %s", self.last_close)
            if was_online:
                self.on_change()
        return greeted

    async def _receive(self, ws: ClientConnection, message: Message) -> None:
        kind = message.get("type")
        if kind == "services":
            self.services = message
            self.on_change()
        elif kind in ("issued", "refused"):
            pending = self._pending.get(str(message.get("request_id")))
            if pending is not None and not pending[1].done():
                pending[1].set_result(message)
        elif kind == "ping":
            await ws.send('{"type":"pong"}')
        elif kind == "error":
            log.warning("the server did not understand a message: %s", message.get("error"))

    async def _heartbeat(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            while True:
                await asyncio.sleep(self.heartbeat_s)
                await ws.send(json.dumps(self.health()))


def _parse(raw: str | bytes) -> Message:
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
