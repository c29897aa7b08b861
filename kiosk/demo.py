"""The demo kiosk of ``nextup serve``: the touch page at ``/kiosk/{branch}/``, printing PNG previews.

Only the built-in demo branch gets it (``nextup serve`` without ``--config``), so a newcomer can
click through the whole flow on one machine: take a number at ``/kiosk/main/``, find its picture
in ``<data dir>/tickets``, watch the display call it.

It is the real kiosk, not a shortcut: the same ``Kiosk`` and page as ``nextup kiosk``, mounted in
the server's app and connected to the server's own kiosk websocket over loopback. Its account,
``demo-kiosk``, is a real kiosk account of the branch (created at the first start with a random
password nobody knows), so an admin sees it in the account list and can disable it; its token is
issued like a login's (the session recorded, so disabling the account ends it), lives
``DEMO_TOKEN_TTL_S`` and is renewed at every start and every ``DEMO_TOKEN_TTL_S / 2``. It starts
when its page is first requested, so a demo server nobody uses as a kiosk has no phantom kiosk
connected, and it stops before the server shuts down.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path

from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from kiosk.app import create_app
from kiosk.config import KioskConfig
from kiosk.kiosk import Kiosk

DEMO_ACCOUNT = "demo-kiosk"
#: Lifetime of the demo kiosk's token: short, since the demo kiosk renews it itself.
DEMO_TOKEN_TTL_S = 24 * 3600


def _loopback(host: str) -> str:
    """Where this machine reaches a server listening on ``host``."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


class DemoKiosk:
    """The kiosk and its page app, made at server start-up and started on first use."""

    def __init__(self, branch: str, *, host: str, port: int, data_dir: Path, public_url: str | None) -> None:
        self.branch = branch
        self.server_url = f"http://{_loopback(host)}:{port}"
        self.printer_url = f"preview://{data_dir / 'tickets'}"
        self.public_url = public_url
        self.kiosk: Kiosk | None = None
        self.page: Starlette | None = None
        self.started = False
        self._lock = asyncio.Lock()

    def renew(self, token: str) -> None:
        """Use ``token`` from the next (re)connection on."""
        if self.kiosk is not None:
            self.kiosk.token = token

    def prepare(self, token: str) -> None:
        config = KioskConfig(
            server_url=self.server_url,
            branch=self.branch,
            token=token,
            printer_url=self.printer_url,
            public_url=self.public_url,
        )
        self.kiosk = Kiosk(config)
        self.page = create_app(self.kiosk, run_kiosk=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.kiosk is None or self.page is None:
            raise RuntimeError("the demo kiosk is used before the server started")
        if not self.started:
            async with self._lock:
                if not self.started:
                    await self.kiosk.start()
                    self.started = True
        await self.page(scope, receive, send)

    async def stop(self) -> None:
        if self.kiosk is not None and self.started:
            await self.kiosk.stop()
            self.started = False


def attach_demo_kiosk(
    app: Starlette, branch: str, *, host: str, port: int, data_dir: Path, public_url: str | None
) -> str:
    """Mount the demo kiosk on the server's app; returns its path (``/kiosk/{branch}/``)."""
    # Imported here: the kiosk package does not need the server, only this demo does.
    from server.auth import Identity, Role
    from server.context import Context

    demo = DemoKiosk(branch, host=host, port=port, data_dir=data_dir, public_url=public_url)
    server_lifespan = app.router.lifespan_context

    async def issue_token(ctx: Context) -> str:
        """A token of the real ``demo-kiosk`` account, recorded as a login's session."""
        if not await ctx.accounts.exists(DEMO_ACCOUNT):
            await ctx.accounts.create(DEMO_ACCOUNT, secrets.token_urlsafe(32), Role.KIOSK, branch, [], only_if_new=True)
        expires = time.time() + DEMO_TOKEN_TTL_S
        identity = Identity(DEMO_ACCOUNT, Role.KIOSK, branch, frozenset(), expires, secrets.token_urlsafe(12))
        await ctx.revocations.remember(DEMO_ACCOUNT, identity.session, expires)
        return ctx.signer.issue(identity)

    async def keep_renewing(ctx: Context) -> None:
        while True:
            await asyncio.sleep(DEMO_TOKEN_TTL_S / 2)
            with contextlib.suppress(RedisError):
                demo.renew(await issue_token(ctx))

    @contextlib.asynccontextmanager
    async def lifespan(server_app: Starlette) -> AsyncIterator[None]:
        # The server's own lifespan keeps its clients on app.state and yields no state.
        async with server_lifespan(server_app):
            ctx: Context = server_app.state.nextup
            demo.prepare(await issue_token(ctx))
            renewal = asyncio.create_task(keep_renewing(ctx), name="demo kiosk token renewal")
            try:
                yield
            finally:
                renewal.cancel()
                await asyncio.gather(renewal, return_exceptions=True)
                await demo.stop()

    app.router.lifespan_context = lifespan
    path = f"/kiosk/{branch}"
    app.mount(path, demo)
    return path + "/"
