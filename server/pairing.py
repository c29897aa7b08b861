"""Device credentials: how a display or kiosk gets its token without anyone typing or copying it.

Pairing, in three steps (documented in docs/api.md, "Pairing a device"):

1. The device asks, anonymously: ``POST /api/pairing {"kind": "display"|"kiosk", "branch"}`` ->
   201 ``{"code", "claim", "expires_in"}``. It shows the 6-digit ``code`` and keeps the ``claim``
   secret. Redis keeps only the code -> ``{kind, branch, sha256(claim), status, account}``, for
   ``keys.PAIRING_TTL_S``; never a token. Each client address may ask ``keys.PAIRING_ASKS_LIMIT``
   times a minute (429 beyond).
2. An admin of the branch enters the code and names the device:
   ``POST /api/branches/{branch}/pairing {"code", "name"}`` -> 201. A ``display`` or ``kiosk``
   account of that name is created if new (a random password nobody knows); an existing device
   account of the same role and branch is paired again; any other account of that name is 409.
3. The device claims, polling: ``POST /api/pairing/claim {"claim"}`` -> 202 ``{"status": "waiting"}``
   until approved, then once 200 ``{"token", "name", "role", "branch", "expires_in"}``; a display
   also gets the token as the HttpOnly ``nextup_device`` cookie. The token is minted here, its
   session recorded so that disabling the account ends it; the request is gone (a second claim: 404).

How devices present their token (``presented_token``): the ``?token=`` query (the public contract
for clients that cannot do better; redacted from logs), ``Authorization: Bearer`` (the kiosk), or
the ``nextup_device`` cookie (display pages: browsers cannot set headers on websockets).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from typing import Any

from redis.exceptions import WatchError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server import keys
from server.admin_api import account_changed
from server.api import branch_store, identify
from server.auth import Identity, Role
from server.context import Context, context
from server.errors import ApiError, not_found
from server.http import JSONResponse, read_body
from server.shapes.devices import (
    DeviceKind,
    PairingApproval,
    PairingApproved,
    PairingAsked,
    PairingClaim,
    PairingClaimed,
    PairingRequest,
    PairingWaiting,
)

#: The HttpOnly cookie holding a paired display's token (SameSite=Strict, Path=/).
DEVICE_COOKIE = "nextup_device"
#: Device kinds that can pair, and the role of the account each gets.
KINDS: dict[str, Role] = {"display": Role.DISPLAY, "kiosk": Role.KIOSK}
KIND_OF: dict[Role, DeviceKind] = {Role.DISPLAY: "display", Role.KIOSK: "kiosk"}
CODE_DIGITS = 6


def presented_token(connection: HTTPConnection) -> str:
    """The token a device sent: ``?token=``, else ``Authorization: Bearer``, else the device cookie."""
    token = connection.query_params.get("token", "")
    if token:
        return token
    scheme, _, bearer = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and bearer.strip():
        return bearer.strip()
    return connection.cookies.get(DEVICE_COOKIE, "")


def set_device_cookie(response: Response, request: Request, token: str, max_age: int) -> None:
    response.set_cookie(
        DEVICE_COOKIE, token, max_age=max(0, max_age), path="/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip


def _claim_hash(claim: str) -> str:
    return hashlib.sha256(claim.encode()).hexdigest()


def _address(request: Request) -> str:
    return request.client.host if request.client else ""


async def _count_ask(ctx: Context, address: str) -> None:
    key = keys.pairing_asks(address)
    async with ctx.store.redis.pipeline(transaction=True) as pipe:
        # The window starts with the first request (EXPIRE ... NX needs Redis 7; we support 6.2).
        pipe.set(key, 0, nx=True, ex=keys.PAIRING_WINDOW_S)
        pipe.incr(key)
        _, asked = await pipe.execute()
    if int(asked) > keys.PAIRING_ASKS_LIMIT:
        raise ApiError(429, "rate_limited", "Too many pairing requests from this address; wait a minute")


async def request_pairing(request: Request) -> Response:
    """A device asks to be paired: a code to show, a claim secret to keep."""
    ctx = context(request)
    body = await read_body(request, ctx.settings.max_body_bytes, PairingRequest)
    kind, branch = body.kind, body.branch
    if branch != ctx.store.branch.id:
        raise not_found(f"Branch {branch}")
    await _count_ask(ctx, _address(request))
    claim = secrets.token_urlsafe(16)  # 128 random bits
    record = {"kind": kind, "branch": branch, "claim": _claim_hash(claim), "status": "waiting", "account": "",
              "address": _address(request)}  # fmt: skip
    redis = ctx.store.redis
    for _ in range(20):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if await redis.set(keys.pairing_code(code), json.dumps(record), nx=True, ex=keys.PAIRING_TTL_S):
            break
    else:
        raise ApiError(503, "unavailable", "No free pairing code; try again in a minute")
    await redis.set(keys.pairing_claim(record["claim"]), code, ex=keys.PAIRING_TTL_S)
    return JSONResponse(PairingAsked(code=code, claim=claim, expires_in=keys.PAIRING_TTL_S), status_code=201)


def _unknown_code(code: str, branch: str) -> ApiError:
    return ApiError(
        404, "not_found",
        f"No pairing request with code {code} for branch {branch}: check the code on the device's screen "
        f"(codes expire after {keys.PAIRING_TTL_S // 60} minutes; the device then shows a new one)",
    )  # fmt: skip


async def _device_account(ctx: Context, name: str, role: Role, branch: str) -> bool:
    """Create the device's account if new (True); an existing one must be this kind of device of the branch."""
    account = await ctx.accounts.account(name)
    if account is not None:
        if account["role"] != role.value or account["branch"] != branch:
            raise ApiError(409, "exists", f"An account named {name} exists and is not a {role.value} of "
                                            f"branch {branch}; choose another name")  # fmt: skip
        if account["disabled"]:
            raise ApiError(409, "account_disabled", f"The account {name} is disabled; enable it or choose another name")
        return False
    created: bool = await ctx.accounts.create(name, secrets.token_urlsafe(32), role, branch, [], only_if_new=True)
    if not created:  # made by a concurrent request in between: check it again
        return await _device_account(ctx, name, role, branch)
    return True


async def approve_pairing(request: Request) -> Response:
    """An admin of the branch approves a device's code and names its account."""
    ctx = context(request)
    identity = await identify(request, ctx)
    store = branch_store(request, ctx)
    branch = store.branch.id
    identity.require_branch(branch)
    identity.require_role(Role.ADMIN)
    body = await read_body(request, ctx.settings.max_body_bytes, PairingApproval)
    code, name = body.code.replace(" ", ""), body.name
    if not code.isdigit():
        raise _unknown_code(code, branch)
    key = keys.pairing_code(code)
    raw = await store.redis.get(key)
    record: dict[str, Any] = json.loads(raw) if raw else {}
    if record.get("branch") != branch:
        raise _unknown_code(code, branch)
    if record["status"] != "waiting":
        raise ApiError(409, "already_approved", f"The code {code} is already approved for device {record['account']}")
    role = KINDS[record["kind"]]
    created = await _device_account(ctx, name, role, branch)
    async with store.redis.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(key)
            current = await pipe.get(key)
            if current != raw:
                raise _unknown_code(code, branch)  # expired, or approved by someone else meanwhile
            pipe.multi()  # type: ignore[no-untyped-call]
            pipe.set(key, json.dumps({**record, "status": "approved", "account": name}), xx=True, keepttl=True)
            await pipe.execute()
        except WatchError as exc:
            raise _unknown_code(code, branch) from exc
    await account_changed(request, identity, name, branch, "device_paired",
                          {"device_role": role.value, "created": created,
                           "device_address": record.get("address", "")})  # fmt: skip
    approved = PairingApproved(name=name, role=KIND_OF[role], branch=branch, created=created)
    return JSONResponse(approved, status_code=201)


async def claim_pairing(request: Request) -> Response:
    """The device polls with its claim secret; once approved it gets its token, once."""
    ctx = context(request)
    body = await read_body(request, ctx.settings.max_body_bytes, PairingClaim)
    claim = body.claim
    redis = ctx.store.redis
    claim_key = keys.pairing_claim(_claim_hash(claim))
    code = str(await redis.get(claim_key) or "")
    raw = await redis.get(keys.pairing_code(code)) if code else None
    if not raw:
        raise ApiError(404, "not_found", "No such pairing request (expired or already claimed); ask for a new code")
    record: dict[str, Any] = json.loads(raw)
    if record["status"] != "approved":
        return JSONResponse(PairingWaiting("waiting", max(0, await redis.ttl(claim_key))), status_code=202)
    if await redis.getdel(claim_key) is None:
        raise ApiError(404, "not_found", "This pairing request was already claimed; ask for a new code")
    await redis.delete(keys.pairing_code(code))
    ttl = ctx.settings.device_token_ttl_s
    role = KINDS[record["kind"]]
    identity = Identity(record["account"], role, record["branch"], frozenset(), time.time() + ttl,
                        secrets.token_urlsafe(12))  # fmt: skip
    await ctx.revocations.remember(identity.username, identity.session, identity.expires)
    token = ctx.signer.issue(identity)
    response = JSONResponse(
        PairingClaimed(token=token, name=identity.username, role=KIND_OF[role], branch=identity.branch, expires_in=ttl)
    )
    if role == Role.DISPLAY:
        set_device_cookie(response, request, token, ttl)
    return response


ROUTES: list[BaseRoute] = [
    Route("/api/pairing", request_pairing, methods=["POST"]),
    Route("/api/pairing/claim", claim_pairing, methods=["POST"]),
    Route("/api/branches/{branch}/pairing", approve_pairing, methods=["POST"]),
]
