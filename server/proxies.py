"""Which address a request comes from: the TCP peer, or what a trusted reverse proxy says it forwarded.

Every limit keyed by address (login throttling, the websocket cap, unknown-ticket lookups) and the
audit log's source read ``scope["client"]``, so it must be the real client and nothing a client can
forge. With no trusted proxy (``Settings.trusted_proxies`` empty, the default) the TCP peer is the
client and ``X-Forwarded-For`` is ignored; NextUp runs uvicorn with its own proxy handling off
(it would trust 127.0.0.1 by default). With proxies, the client is the right-most address of
``X-Forwarded-For`` that is not itself a trusted proxy, and ``X-Forwarded-Proto`` sets the scheme.
"""

from __future__ import annotations

from starlette.middleware import Middleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


def proxy_middleware(trusted_proxies: tuple[str, ...]) -> list[Middleware]:
    """The middleware putting the forwarded client in ``scope["client"]``; none without trusted proxies."""
    if not trusted_proxies:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(trusted_proxies))]
