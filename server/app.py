"""The Starlette application: clients are made in the lifespan and handed on through app.state."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import (
    admin_api,
    devices,
    display_ws,
    emergency,
    feedback,
    keyring,
    kiosk_ws,
    migrations,
    openapi,
    pairing,
    phone,
    retention,
)
from server.account_cache import AccountCache
from server.api import ROUTES
from server.auth import Accounts, TokenSigner, bootstrap_admin
from server.branch_config import BranchConfig
from server.clock import Clock, SystemClock
from server.config import Branch
from server.context import Context
from server.fanout import Fanout
from server.http import EXCEPTION_HANDLERS, JSONResponse
from server.lookup_limit import TicketLookupGuard
from server.metrics import dashboard
from server.metrics import routes as metrics_routes
from server.metrics.consumer import MetricsConsumer
from server.metrics.estimate import WaitEstimator
from server.phone_cipher import PhoneCipher
from server.proxies import proxy_middleware
from server.redis_connect import connect as connect_redis
from server.sessions import Revocations
from server.settings import Settings
from server.socket_limit import SocketCap
from server.store import QueueStore
from server.web import admin, complaints, counter, login, pages, staff_ws
from server.web.security_headers import SecurityHeaders

log = logging.getLogger("nextup")


async def openapi_document(request: Request) -> Response:
    return JSONResponse(openapi.document())


def create_app(settings: Settings, branch: Branch, redis_url: str, clock: Clock | None = None) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Each component started registers its own stop on the stack: they stop in reverse order.
        async with contextlib.AsyncExitStack() as stack:
            redis = connect_redis(redis_url, decode_responses=True, max_connections=256)
            stack.push_async_callback(redis.aclose)
            await migrations.check(redis)
            accounts = Accounts(redis)
            stack.callback(accounts.gate.close)
            store = QueueStore(redis, branch, clock or SystemClock())
            if settings.redis_wait_replicas:
                store.scripts.require_replicas(settings.redis_wait_replicas, settings.redis_wait_timeout_ms)
            config = BranchConfig(store)
            await config.seed(branch)
            await config.start_watching()
            stack.push_async_callback(config.stop)
            revocations = Revocations(redis)
            await revocations.start()
            stack.push_async_callback(revocations.stop)
            account_cache = AccountCache(redis)
            await account_cache.start()
            stack.push_async_callback(account_cache.stop)
            revocations.listeners.append(account_cache.session_ended)
            ring = await keyring.load(settings, redis)
            signer = TokenSigner(ring.signing_key, revocations, ring.previous_signing_keys())
            if await bootstrap_admin(accounts, settings.data_dir, settings.admin_password):
                # Where it is, never the password: the console of a service is its journal.
                print(
                    f"First admin account: admin; its password is in {settings.data_dir / 'admin-password.txt'} "
                    "(readable by this user only)",
                    flush=True,
                )
            fanout = await Fanout.start(redis_url, [branch.id])
            stack.push_async_callback(fanout.stop)
            metrics = await MetricsConsumer.start(redis_url, branch, store.clock, current_branch=lambda: store.branch)
            stack.push_async_callback(metrics.stop)
            estimator = await WaitEstimator.start(store)
            stack.push_async_callback(estimator.stop)
            app.state.nextup = Context(
                settings=settings,
                store=store,
                accounts=accounts,
                signer=signer,
                revocations=revocations,
                config=config,
                account_cache=account_cache,
                phone_cipher=PhoneCipher.from_keys(settings.feedback_key, ring.phone_keys()),
                fanout=fanout,
                metrics=metrics,
                estimator=estimator,
            )
            await stack.enter_async_context(retention.pruning(store, settings.retention, phone.phone_settings(app)))
            # Long-lived start-up objects never need collecting; freezing them keeps full
            # collections short while requests are served.
            gc.collect()
            gc.freeze()
            log.info("branch %s ready", branch.id)
            yield

    return Starlette(
        routes=[
            *ROUTES,
            *admin_api.ROUTES,
            *emergency.ROUTES,
            *login.ROUTES,
            *counter.ROUTES,
            *admin.ROUTES,
            *staff_ws.ROUTES,
            Route("/api/openapi.json", openapi_document, methods=["GET"]),
            *display_ws.ROUTES,
            *kiosk_ws.ROUTES,
            *devices.ROUTES,
            *pairing.ROUTES,
            *metrics_routes.ROUTES,
            *dashboard.ROUTES,
            *complaints.ROUTES,
            *phone.ROUTES,
            *feedback.ROUTES,
        ],
        exception_handlers={**EXCEPTION_HANDLERS, HTTPException: pages.not_found_or_error},
        middleware=[
            # The real client address first: every limit below is keyed by it.
            *proxy_middleware(settings.trusted_proxies),
            Middleware(SocketCap, limit=settings.max_sockets_per_address),
            Middleware(SecurityHeaders),
            Middleware(TicketLookupGuard),
        ],
        lifespan=lifespan,
    )
