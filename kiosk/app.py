"""The touch page's web app: the page, its static files and its local websocket ``ws``.

Every URL is relative (``static/kiosk.js``, ``ws``), so the same app serves a kiosk PC at ``/`` and
the server's demo kiosk mounted at ``/kiosk/{branch}/`` (``kiosk.demo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import re
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jinja2
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from kiosk.kiosk import Kiosk, PageClient
from server.events import CloseCode
from server.web.i18n import section
from server.web.live_socket import LIVE_SOCKET_JS, live_socket_route

_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("kiosk", "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True
    )


@functools.cache
def _asset_version() -> str:
    """A hash of the static files, in their URLs, so a kiosk left running never keeps an old script."""
    digest = hashlib.sha256()
    folder = resources.files("kiosk") / "static"
    for name in sorted(entry.name for entry in folder.iterdir()):
        digest.update(name.encode() + (folder / name).read_bytes())
    digest.update(LIVE_SOCKET_JS.read_bytes())
    return digest.hexdigest()[:12]


def _same_origin(headers: Headers) -> bool:
    """Only this page may drive the kiosk: a page from any other site could otherwise pull tickets."""
    origin = headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == headers.get("host", "").lower()


def create_app(kiosk: Kiosk, *, run_kiosk: bool = True) -> Starlette:
    """The page app; with ``run_kiosk`` its lifespan starts and stops the kiosk too."""

    async def page(request: Request) -> Response:
        texts = section("kiosk.")
        # The words of each kind of emergency state ("title.evacuation" ...), shown while one is in force.
        config = {"idle_s": kiosk.config.idle_s, "texts": texts, "emergency": section("emergency.")}
        html = _templates().get_template("kiosk.html").render(config=config, texts=texts, version=_asset_version())
        return HTMLResponse(html, headers=_PAGE_HEADERS)

    async def page_socket(websocket: WebSocket) -> None:
        await websocket.accept()
        if not _same_origin(websocket.headers):
            await websocket.close(CloseCode.FORBIDDEN, "Origin does not match Host")
            return
        client = kiosk.add_page()
        sender = asyncio.create_task(_send(websocket, client))
        try:
            while not sender.done():
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                request = parse_issue(message.get("text") or "")
                if request is not None:
                    kiosk.submit(*request)
        except WebSocketDisconnect:
            pass
        finally:
            kiosk.remove_page(client)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
                await sender

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_kiosk:
            await kiosk.start()
        try:
            yield
        finally:
            if run_kiosk:
                await kiosk.stop()

    return Starlette(
        routes=[
            Route("/", page, methods=["GET"]),
            WebSocketRoute("/ws", page_socket),
            live_socket_route(),
            Mount("/static", StaticFiles(packages=[("kiosk", "static")]), name="kiosk-static"),
        ],
        lifespan=lifespan,
    )


async def _send(websocket: WebSocket, client: PageClient) -> None:
    while not client.dropped:
        await websocket.send_text(await client.queue.get())
    await websocket.close(CloseCode.TRY_AGAIN_LATER, "too far behind; reload")


def parse_issue(text: str) -> tuple[str, str, bool] | None:
    """(request id, service, priority) from a page's issue message; None for anything else."""
    if len(text) > 1024:
        return None
    try:
        data: Any = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "issue":
        return None
    request_id, service, priority = data.get("request_id"), data.get("service"), data.get("priority", False)
    if not isinstance(request_id, str) or not _REQUEST_ID.match(request_id):
        return None
    if not isinstance(service, str) or not 0 < len(service) <= 32 or not isinstance(priority, bool):
        return None
    return request_id, service, priority
