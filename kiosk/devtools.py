"""The little of Chromium's DevTools protocol the watchdog needs: find the page, evaluate, reload.

The browser listens on loopback only (``--remote-debugging-address=127.0.0.1``). Its HTTP endpoint
lists the targets (``/json/list``); each page target has a websocket on which commands are sent as
``{"id", "method", "params"}`` and answered with the same ``id``. Events on the socket are ignored.

Exceptions::

    DevToolsError              the root: anything that went wrong talking to the browser
    ├── DevToolsUnreachable    the HTTP endpoint or the page's socket did not answer, or has no page
    └── NoAnswer               a command was not answered in time (a hung page)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

Json = dict[str, Any]


class DevToolsError(Exception):
    """Talking to the browser over DevTools failed."""


class DevToolsUnreachable(DevToolsError):
    """The endpoint did not answer, or the browser has no page."""


class NoAnswer(DevToolsError):
    """A command got no answer in time: the page's main thread is busy or hung."""


async def first_page(port: int, within_s: float) -> Json:
    """The browser's first page target (``id``, ``url``, ``webSocketDebuggerUrl``)."""
    try:
        async with httpx.AsyncClient(timeout=within_s) as client:
            response = await client.get(f"http://127.0.0.1:{port}/json/list")
            targets = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise DevToolsUnreachable(f"DevTools on port {port} did not answer: {exc!r}") from exc
    pages = [t for t in targets if isinstance(t, dict) and t.get("type") == "page"] if isinstance(targets, list) else []
    if not pages or not pages[0].get("webSocketDebuggerUrl"):
        raise DevToolsUnreachable(f"the browser on DevTools port {port} has no page")
    page: Json = pages[0]
    return page


class PageSession:
    """One page target's DevTools socket: ``call`` a command and wait for its answer, with a deadline."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[Json]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, websocket_url: str, within_s: float) -> PageSession:
        try:
            async with asyncio.timeout(within_s):
                socket = await connect(websocket_url, max_size=None, ping_interval=None, open_timeout=within_s)
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise DevToolsUnreachable(f"the page's DevTools socket did not open: {exc!r}") from exc
        return cls(socket)

    @property
    def closed(self) -> bool:
        return self._reader.done()

    async def call(self, method: str, params: Json | None = None, within_s: float = 5.0) -> Json:
        """The command's ``result``; NoAnswer after ``within_s``, DevToolsError for an error answer."""
        if self.closed:
            raise DevToolsUnreachable("the page's DevTools socket is closed")
        ident = next(self._ids)
        answer: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = answer
        try:
            await self._socket.send(json.dumps({"id": ident, "method": method, "params": params or {}}))
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
            # comes as the answer does, and the watchdog would not stop.
            async with asyncio.timeout(within_s):
                reply = await answer
        except TimeoutError as exc:
            raise NoAnswer(f"{method} got no answer within {within_s} s") from exc
        except (OSError, WebSocketException) as exc:
            raise DevToolsUnreachable(f"{method}: the page's DevTools socket failed: {exc!r}") from exc
        finally:
            self._waiting.pop(ident, None)
        if "error" in reply:
            raise DevToolsError(f"{method}: {reply['error']}")
        result: Json = reply.get("result") or {}
        return result

    async def _read(self) -> None:
        try:
            async for text in self._socket:
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    message = json.loads(text)
                    waiting = self._waiting.get(message.get("id"))
                    if waiting is not None and not waiting.done():
                        waiting.set_result(message)
        except (OSError, WebSocketException):
            pass
        finally:
            gone = DevToolsUnreachable("the page's DevTools socket closed")
            for waiting in self._waiting.values():
                if not waiting.done():
                    waiting.set_exception(gone)

    async def close(self) -> None:
        self._reader.cancel()
        # gather: the reader's own CancelledError is its result, a cancellation of this task is not swallowed.
        await asyncio.gather(self._reader, return_exceptions=True)
        with contextlib.suppress(OSError, WebSocketException):
            await self._socket.close()
