"""The public HTTP API (documented in ``server/openapi/`` and docs/api.md)."""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import PEOPLE, SCREENS, Identity, Role
from server.context import Context, context
from server.errors import ApiError, forbidden, invalid_field, not_found, unauthorized
from server.http import JSONResponse, read_body
from server.rules import TicketStatus
from server.settings import Settings
from server.shapes import fields
from server.shapes.accounts import Login, LoginRequest, Session
from server.shapes.branch import BranchInfo, CounterInfo, Health, ServiceInfo
from server.shapes.tickets import COUNTER_ACTIONS, NewTicket, NoFields, NumberChoice, PauseReason, ServiceChoice
from server.store import Actor, IssueLimit, QueueStore

USERNAME = re.compile(fields.USERNAME)
TICKET_ID = re.compile(fields.TICKET_ID)
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


SESSION_COOKIE = "nextup_session"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def identify(request: Request, ctx: Context) -> Identity:
    """Who sends the request: a Bearer token, or the session cookie of the staff pages.

    A cookie is sent by the browser whoever made the page, so a changing request authenticated by
    it must also carry the session's CSRF token and come from this server's own origin.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    from_cookie = False
    if not header and SESSION_COOKIE in request.cookies:
        token, scheme, from_cookie = request.cookies[SESSION_COOKIE], "bearer", True
    if scheme.lower() != "bearer" or not token:
        raise unauthorized()
    if not token.isascii():
        # Tokens we issue are ASCII, and the signature check refuses to compare anything else.
        raise unauthorized("The token is invalid; log in again")
    identity = await ctx.verify(token)
    if from_cookie and request.method not in _SAFE_METHODS:
        origin = request.headers.get("origin")
        if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
            raise forbidden("Cross-site request refused")
        sent = request.headers.get("x-csrf-token", "")
        if not hmac.compare_digest(sent.encode(), ctx.signer.csrf_token(identity).encode()):
            raise ApiError(403, "csrf", "Missing or wrong X-CSRF-Token; reload the page")
    return identity


def actor_of(identity: Identity, request: Request) -> Actor:
    return Actor(identity.username, identity.role.value, request.client.host if request.client else "")


def branch_store(request: Request, ctx: Context) -> QueueStore:
    if request.path_params["branch"] != ctx.store.branch.id:
        raise not_found(f"Branch {request.path_params['branch']}")
    return ctx.store


def counter_of(request: Request, store: QueueStore) -> str:
    counter: str = request.path_params["counter"]
    if counter not in store.branch.counters:
        raise not_found(f"Counter {counter}")
    return counter


def ticket_id_of(request: Request) -> str:
    ticket: str = request.path_params["ticket"]
    if not TICKET_ID.match(ticket):
        raise not_found("Ticket")
    return ticket


def known_service(service: str, store: QueueStore) -> str:
    """``service`` (a request's field) if the branch has it; 422 naming the field if not."""
    if service not in store.branch.services:
        known = ", ".join(store.branch.services)
        raise invalid_field("service", f"Unknown service {service!r}; this branch has {known}")
    return service


async def login(request: Request) -> Response:
    ctx = context(request)
    body = await read_body(request, ctx.settings.max_body_bytes, LoginRequest)
    if not USERNAME.match(body.username):
        raise unauthorized("Wrong username or password")
    address = request.client.host if request.client else ""
    role, branch, counters = await ctx.accounts.authenticate(body.username, body.password, address)
    ttl = ctx.settings.session_ttl_s if role in PEOPLE else ctx.settings.device_token_ttl_s
    identity = Identity(body.username, role, branch, counters, time.time() + ttl, secrets.token_urlsafe(12))
    await ctx.revocations.remember(body.username, identity.session, identity.expires)
    token = ctx.signer.issue(identity)
    return JSONResponse(Login(token=token, role=role, branch=branch, counters=sorted(counters), expires_in=ttl))


async def logout(request: Request) -> Response:
    """End the session: the token stops working on every server process; counters are released."""
    ctx = context(request)
    identity = await identify(request, ctx)
    await ctx.revocations.revoke(identity.session, identity.expires)
    if identity.role == Role.STAFF:
        actor = actor_of(identity, request)
        for counter in sorted(identity.counters & set(ctx.store.branch.counters)):
            with contextlib.suppress(ApiError):  # not held by this user: nothing to release
                await ctx.store.take_counter(counter, "release", actor)
    return Response(status_code=204)


async def session_info(request: Request) -> Response:
    """Who is logged in, and the CSRF token the pages send back with changes."""
    ctx = context(request)
    identity = await identify(request, ctx)
    return JSONResponse(
        Session(
            username=identity.username,
            role=identity.role,
            branch=identity.branch,
            counters=sorted(identity.counters),
            expires_at=int(identity.expires),
            csrf_token=ctx.signer.csrf_token(identity),
        )
    )


async def issue_ticket(request: Request) -> Response:
    ctx = context(request)
    identity = await identify(request, ctx)
    store = branch_store(request, ctx)
    identity.require_branch(store.branch.id)
    identity.require_role(Role.KIOSK, Role.STAFF, Role.MANAGER, Role.ADMIN)
    body = await read_body(request, ctx.settings.max_body_bytes, NewTicket)
    service = known_service(body.service, store)
    priority = body.priority
    if priority and not store.branch.allow_priority:
        raise invalid_field("priority", "This branch does not issue priority tickets")
    idempotency_key = request.headers.get("idempotency-key", "")
    if idempotency_key and not _IDEMPOTENCY_KEY.match(idempotency_key):
        raise invalid_field("Idempotency-Key", "Idempotency-Key must be 1-100 letters, digits or ._:-")
    ticket = await store.issue_ticket(
        service, priority, actor_of(identity, request), idempotency_key, kiosk_limit(identity, ctx.settings)
    )
    return JSONResponse(ticket, 201)


def kiosk_limit(identity: Identity, settings: Settings) -> IssueLimit | None:
    """The rate limit of a kiosk account's issues (HTTP and kiosk socket share it); None for people."""
    if identity.role != Role.KIOSK or settings.kiosk_tickets_per_minute <= 0:
        return None
    return IssueLimit(identity.username, settings.kiosk_tickets_per_minute)


async def get_ticket(request: Request) -> Response:
    store = branch_store(request, context(request))
    return JSONResponse(await store.get_ticket(ticket_id_of(request)))


async def cancel_ticket(request: Request) -> Response:
    ctx = context(request)
    store = branch_store(request, ctx)
    ticket_id = ticket_id_of(request)
    # Cancelling takes no fields, but its body is held to the same limits as every other POST.
    await read_body(request, ctx.settings.max_body_bytes, NoFields)
    return JSONResponse(await store.cancel(ticket_id))


async def transfer_ticket(request: Request) -> Response:
    ctx = context(request)
    identity = await identify(request, ctx)
    store = branch_store(request, ctx)
    identity.require_branch(store.branch.id)
    identity.require_role(Role.STAFF, Role.MANAGER, Role.ADMIN)
    body = await read_body(request, ctx.settings.max_body_bytes, ServiceChoice)
    service = known_service(body.service, store)
    return JSONResponse(await store.transfer(actor_of(identity, request), service, ticket_id=ticket_id_of(request)))


async def counter_actor(request: Request, ctx: Context, store: QueueStore, action: str) -> tuple[Identity, str]:
    identity = await identify(request, ctx)
    identity.require_branch(store.branch.id)
    counter = counter_of(request, store)
    if identity.role == Role.ADMIN or (identity.role == Role.MANAGER and action == "reactivate"):
        return identity, counter
    if identity.role != Role.STAFF:
        raise forbidden(f"A {identity.role.value} account cannot act on counters")
    if counter not in identity.counters:
        raise forbidden(f"You do not work at counter {counter}")
    return identity, counter


async def counter_action(request: Request) -> Response:
    ctx = context(request)
    store = branch_store(request, ctx)
    action: str = request.path_params["action"]
    if action not in COUNTER_ACTIONS:
        raise not_found(f"Counter action {action!r}")
    identity, counter = await counter_actor(request, ctx, store, action)
    body = await read_body(request, ctx.settings.max_body_bytes, COUNTER_ACTIONS[action])
    actor = actor_of(identity, request)
    if action in ("take", "release"):
        return JSONResponse(await store.take_counter(counter, action, actor))
    if action == "call-next":
        ticket = await store.call_next(counter, actor)
        return Response(status_code=204) if ticket is None else JSONResponse(ticket)
    if isinstance(body, NumberChoice):
        number = body.number.upper()
        if action == "call":
            return JSONResponse(await store.call_number(counter, number, actor))
        return JSONResponse(await store.reactivate(counter, number, actor))
    if isinstance(body, ServiceChoice):
        return JSONResponse(await store.transfer(actor, known_service(body.service, store), counter=counter))
    if action == "recall":
        return JSONResponse(await store.recall(counter, actor))
    if action == "finish":
        return JSONResponse(await store.end_call(counter, TicketStatus.SERVED, actor))
    if action == "no-show":
        return JSONResponse(await store.end_call(counter, TicketStatus.NO_SHOW, actor))
    reason = body.reason if isinstance(body, PauseReason) else ""
    return JSONResponse(await store.set_counter_status(counter, action, actor, reason))


async def branch_state(request: Request) -> Response:
    ctx = context(request)
    identity = await identify(request, ctx)
    store = branch_store(request, ctx)
    identity.require_branch(store.branch.id)
    state = await store.state()
    # A screen shows numbers, never the ticket ids that open the holder's phone page.
    return JSONResponse(state.public() if identity.role in SCREENS else state)


async def branch_info(request: Request) -> Response:
    """The branch's configuration as kiosks and displays need it: names, services, counters."""
    store = branch_store(request, context(request))
    branch = store.branch
    return JSONResponse(
        BranchInfo.of(
            branch,
            allow_priority=branch.allow_priority,
            services=[ServiceInfo.of(s) for s in branch.services.values()],
            counters=[CounterInfo.of(c) for c in branch.counters.values()],
        )
    )


async def health(request: Request) -> Response:
    ctx = context(request)
    await ctx.store.redis.ping()
    return JSONResponse(Health("ok", ctx.store.branch.id))


ROUTES = [
    Route("/api/login", login, methods=["POST"]),
    Route("/api/logout", logout, methods=["POST"]),
    Route("/api/session", session_info, methods=["GET"]),
    Route("/api/branches/{branch}", branch_info, methods=["GET"]),
    Route("/api/branches/{branch}/state", branch_state, methods=["GET"]),
    Route("/api/branches/{branch}/tickets", issue_ticket, methods=["POST"]),
    Route("/api/branches/{branch}/tickets/{ticket}", get_ticket, methods=["GET"]),
    Route("/api/branches/{branch}/tickets/{ticket}/cancel", cancel_ticket, methods=["POST"]),
    Route("/api/branches/{branch}/tickets/{ticket}/transfer", transfer_ticket, methods=["POST"]),
    Route("/api/branches/{branch}/counters/{counter}/{action}", counter_action, methods=["POST"]),
    Route("/healthz", health, methods=["GET"]),
]
