"""The one live socket script of every page, ``static/live_socket.js`` (connect, answer pings,
reconnect with backoff, close codes by name).

The server serves it with the staff pages' static files at ``/static/live_socket.js`` (the phone and
the lobby display load it from there too); the kiosk's page app, a separate process, serves this same
file at its own ``static/live_socket.js``.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

LIVE_SOCKET_JS = Path(__file__).parent / "static" / "live_socket.js"


async def _script(request: Request) -> Response:
    return FileResponse(LIVE_SOCKET_JS, media_type="text/javascript")


def live_socket_route(path: str = "/static/live_socket.js") -> Route:
    """A route serving the script, for an app that does not mount the staff pages' static files."""
    return Route(path, _script, methods=["GET"])
