"""Administration over HTTP: the branch configuration, accounts, notices and the audit log.

Configuration changes are saved in Redis (``server.branch_config``) and apply at once to every
server process; each is a ``config_changed`` event and an audit entry.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, cast

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import keys
from server.api import USERNAME, actor_of, branch_store, identify
from server.auth import Identity, Role
from server.config import branch_file
from server.context import context
from server.errors import ApiError, forbidden, invalid_field, not_found
from server.http import JSONResponse, decode_body, read_body, read_bytes
from server.shapes.accounts import Account, AccountChange, Accounts, NewUser, User
from server.shapes.branch import Audit, AuditEntry, Notice, NoticeRequest
from server.shapes.config import BranchConfig, BranchSettingsChange, CounterChange, HoursChange, ServiceChange
from server.shapes.fields import field_type, rule

Endpoint = Callable[[Request], Awaitable[Response]]


async def admin_of(request: Request, *roles: Role) -> Identity:
    ctx = context(request)
    identity = await identify(request, ctx)
    identity.require_branch(branch_store(request, ctx).branch.id)
    identity.require_role(*(roles or (Role.ADMIN,)))
    return identity


async def read_change(request: Request, shape: type[msgspec.Struct], where: str, *own: str) -> dict[str, Any]:
    """The fields a change sends, as configuration data: an unknown field is 422 naming it; a wrong
    value is 422 ``config``, as the whole configuration's check would name it (``where.field``).
    Fields in ``own`` are not configuration: a wrong one is 422 naming it."""
    limit = context(request).settings.max_body_bytes
    try:
        change = decode_body(await read_bytes(request, limit), shape)
    except ApiError as exc:
        field = exc.extra.get("field")
        declared = field_type(shape, field) if isinstance(field, str) else None
        if declared is None or field in own:
            raise
        raise invalid_field("config", f"{where}.{field}: {rule(declared)}") from exc
    data: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(change))  # as it is stored: JSON
    return data


async def get_config(request: Request) -> Response:
    await admin_of(request, Role.ADMIN, Role.MANAGER)
    ctx = context(request)
    await ctx.config.reload()
    return JSONResponse(configuration(request))


async def save(request: Request, change: Any, part: str, item: str | None = None) -> Response:
    """Apply ``change``; ``part`` and ``item`` (``"service"``, ``"A"``) say what it is about, for the audit."""
    identity = await admin_of(request)
    ctx = context(request)
    await ctx.config.update(change, actor_of(identity, request), part, item)
    return JSONResponse(configuration(request))


def configuration(request: Request) -> BranchConfig:
    """The branch configuration now, with its version."""
    ctx = context(request)
    now = branch_file(ctx.store.branch)
    return BranchConfig(
        branch=now.branch, hours=now.hours, services=now.services, counters=now.counters, version=ctx.config.version
    )


async def put_service(request: Request) -> Response:
    await admin_of(request)
    body = await read_change(request, ServiceChange, "service", "counters")
    service_id: str = request.path_params["service"]
    # A new service must be served by some counter to be valid: "counters" adds it to those counters
    # in the same change (a counter cannot name a service that does not exist yet either).
    served_at: list[str] = body.pop("counters", [])

    def change(data: dict[str, Any]) -> None:
        unknown = sorted(set(served_at) - {c["id"] for c in data["counters"]})
        if unknown:
            raise invalid_field("counters", f"Unknown counters: {', '.join(unknown)}")
        for counter in data["counters"]:
            if counter["id"] in served_at and service_id not in counter["services"]:
                counter["services"].append(service_id)
        for entry in data["services"]:
            if entry["id"] == service_id:
                entry.update(body)
                return
        data["services"].append({"id": service_id, "prefix": service_id[:1].upper(), **body})

    return await save(request, change, "service", service_id)


async def delete_service(request: Request) -> Response:
    await admin_of(request)
    service_id: str = request.path_params["service"]
    store = branch_store(request, context(request))
    if service_id not in store.branch.services:
        raise not_found(f"Service {service_id}")
    waiting = (await store.state()).services
    if any(s.id == service_id and s.waiting for s in waiting):
        raise ApiError(409, "service_busy", f"Tickets of service {service_id} are still waiting", state="waiting")

    def change(data: dict[str, Any]) -> None:
        data["services"] = [s for s in data["services"] if s["id"] != service_id]
        for counter in data["counters"]:
            counter["services"] = [s for s in counter["services"] if s != service_id]

    return await save(request, change, "service", service_id)


async def put_counter(request: Request) -> Response:
    await admin_of(request)
    body = await read_change(request, CounterChange, "counter")
    counter_id: str = request.path_params["counter"]

    def change(data: dict[str, Any]) -> None:
        for entry in data["counters"]:
            if entry["id"] == counter_id:
                entry.update(body)
                return
        data["counters"].append(
            {"id": counter_id, "name_zh": f"{counter_id}号窗口", "name_en": f"Counter {counter_id}", **body}
        )

    return await save(request, change, "counter", counter_id)


async def delete_counter(request: Request) -> Response:
    await admin_of(request)
    counter_id: str = request.path_params["counter"]
    store = branch_store(request, context(request))
    if counter_id not in store.branch.counters:
        raise not_found(f"Counter {counter_id}")
    counters = (await store.state()).counters
    if any(c.id == counter_id and c.status != "closed" for c in counters):
        raise ApiError(409, "counter_not_closed", f"Close counter {counter_id} first", state="open")

    def change(data: dict[str, Any]) -> None:
        data["counters"] = [c for c in data["counters"] if c["id"] != counter_id]

    return await save(request, change, "counter", counter_id)


async def put_hours(request: Request) -> Response:
    await admin_of(request)
    body = await read_change(request, HoursChange, "hours")

    def change(data: dict[str, Any]) -> None:
        data["hours"].update(body)

    return await save(request, change, "hours")


async def put_branch_settings(request: Request) -> Response:
    await admin_of(request)
    body = await read_change(request, BranchSettingsChange, "branch")

    def change(data: dict[str, Any]) -> None:
        data["branch"].update(body)

    return await save(request, change, "branch")


async def post_notice(request: Request) -> Response:
    identity = await admin_of(request, Role.ADMIN, Role.MANAGER)
    ctx = context(request)
    body = await read_body(request, ctx.settings.max_body_bytes, NoticeRequest)
    text_zh, text_en, emergency = body.text_zh or "", body.text_en or "", body.emergency
    result, _ = await ctx.store.run_script(
        "post_notice", actor_of(identity, request), text_zh, text_en, "1" if emergency else "0"
    )
    return JSONResponse(Notice(text_zh=result["text_zh"], text_en=result["text_en"],
                               emergency=result["emergency"], at=result["at"]))  # fmt: skip


# ---- Accounts -----------------------------------------------------------------------------------
#
# Accounts are shared by every branch on the Redis. An admin of all branches (branch "*") manages
# every account; an admin of one branch sees and changes only the accounts of its branch: another
# branch's account, or an admin of all branches, is "not found" to it, and it cannot create either.


def account_of(record: dict[str, object]) -> Account:
    """An account record of ``server.auth.Accounts`` as the API shows it."""
    return msgspec.convert(record, Account)


def manages(identity: Identity, account_branch: str) -> bool:
    """Whether an admin may see and change accounts of ``account_branch``."""
    return identity.branch == "*" or account_branch == identity.branch


async def accounts_admin(request: Request) -> Identity:
    ctx = context(request)
    identity = await identify(request, ctx)
    identity.require_role(Role.ADMIN)
    identity.require_branch(ctx.store.branch.id)
    return identity


async def branch_counters(request: Request, branch: str) -> list[str]:
    """The counters of ``branch``: this server's, or those of another branch's saved configuration."""
    ctx = context(request)
    if branch in (ctx.store.branch.id, "*"):
        return list(ctx.store.branch.counters)
    raw = await ctx.store.redis.hget(keys.config(branch), "json")
    if raw is None:
        raise invalid_field("branch", f"No branch {branch} is configured on this Redis")
    return [str(c["id"]) for c in json.loads(raw).get("counters", [])]


def known_counters(counters: list[str], known: list[str]) -> list[str]:
    unknown = [c for c in counters if c not in known]
    if unknown:
        raise invalid_field("counters", f"Unknown counters: {', '.join(unknown)}")
    return counters


async def account_changed(
    request: Request, identity: Identity, username: str, account_branch: str, action: str, details: dict[str, Any]
) -> None:
    """After an account was written: every process checks its tokens against the new record, and the
    change goes to the audit of the account's branch (this server's branch for an admin of all)."""
    ctx = context(request)
    await ctx.account_cache.changed(username)
    branch = ctx.store.branch.id if account_branch == "*" else account_branch
    await ctx.store.redis.xadd(
        keys.audit(branch),
        {
            "actor": identity.username,
            "role": identity.role.value,
            "source": request.client.host if request.client else "",
            "action": action,
            "at": ctx.store.clock.now().astimezone(ctx.store.branch.zone).isoformat(timespec="milliseconds"),
            "details": json.dumps({"username": username, **details}),
        },
        maxlen=keys.EVENT_STREAM_MAXLEN,
        approximate=True,
    )


async def list_users(request: Request) -> Response:
    """Every account to an admin of all branches; the accounts of its own branch to a branch admin."""
    identity = await accounts_admin(request)
    accounts = await context(request).accounts.list_accounts()
    return JSONResponse(Accounts([account_of(a) for a in accounts if manages(identity, str(a["branch"]))]))


async def create_user(request: Request) -> Response:
    identity = await accounts_admin(request)
    ctx = context(request)
    body = await read_body(request, ctx.settings.max_body_bytes, NewUser)
    username, password, role = body.username, body.password, Role(body.role)
    branch = body.branch or ctx.store.branch.id
    if branch == "*" and role != Role.ADMIN:
        raise invalid_field("branch", "Only admin accounts can belong to all branches ('*')")
    if not manages(identity, branch):
        raise forbidden(
            f"An admin of branch {identity.branch} creates accounts of branch {identity.branch} only; "
            "accounts of other branches or of all branches ('*') need an admin of all branches"
        )
    counters = known_counters(body.counters, await branch_counters(request, branch))
    if not await ctx.accounts.create(username, password, role, branch, counters, only_if_new=True):
        raise ApiError(409, "exists", f"User {username} already exists")
    await account_changed(
        request, identity, username, branch, "user_created",
        {"role": role.value, "branch": branch, "counters": counters},
    )  # fmt: skip
    return JSONResponse(User(username=username, role=role, branch=branch, counters=counters), 201)


async def users(request: Request) -> Response:
    return await (list_users if request.method == "GET" else create_user)(request)


async def patch_user(request: Request) -> Response:
    """Disable or enable an account, reset its password, assign its counters."""
    identity = await accounts_admin(request)
    ctx = context(request)
    username: str = request.path_params["username"]
    account = await ctx.accounts.account(username) if USERNAME.match(username) else None
    if account is None or not manages(identity, str(account["branch"])):
        raise not_found(f"User {username}")  # another branch's account is not revealed
    account_branch = str(account["branch"])
    body = await read_body(request, ctx.settings.max_body_bytes, AccountChange)
    password = body.password if isinstance(body.password, str) else None
    disabled = body.disabled if isinstance(body.disabled, bool) else None
    if disabled and username == identity.username:
        raise invalid_field("disabled", "You cannot disable your own account")
    counters = None
    if isinstance(body.counters, list):
        counters = known_counters(body.counters, await branch_counters(request, account_branch))
    await ctx.accounts.update(username, password=password, disabled=disabled, counters=counters)
    ended = 0
    if password is not None or disabled or counters is not None:
        # Tokens carry role and counters: end the sessions so the change applies at once.
        ended = await ctx.revocations.revoke_user(username)
    await account_changed(
        request, identity, username, account_branch, "user_changed",
        {"password_reset": password is not None, "disabled": disabled, "counters": counters, "sessions_ended": ended},
    )  # fmt: skip
    changed = await ctx.accounts.account(username)
    if changed is None:
        raise not_found(f"User {username}")
    return JSONResponse(account_of(changed))


async def get_audit(request: Request) -> Response:
    """The newest audit entries first; ``?count=`` (default 100, at most 1000)."""
    await admin_of(request)
    ctx = context(request)
    raw = request.query_params.get("count", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise invalid_field("count", "'count' must be a whole number from 1 to 1000")
    entries = cast(list[Any], await ctx.store.redis.xrevrange(keys.audit(ctx.store.branch.id), count=int(raw)))
    return JSONResponse(
        Audit(
            [
                AuditEntry(
                    id=entry_id, actor=fields.get("actor", ""), role=fields.get("role", ""),
                    source=fields.get("source", ""), action=fields.get("action", ""), at=fields.get("at", ""),
                    details=json.loads(fields.get("details") or "{}"),
                )
                for entry_id, fields in entries
            ]
        )
    )  # fmt: skip


def by_method(put: Endpoint, delete: Endpoint) -> Endpoint:
    """One route per path, so a 405 lists every method the path accepts."""

    async def endpoint(request: Request) -> Response:
        return await (put if request.method == "PUT" else delete)(request)

    return endpoint


ROUTES = [
    Route("/api/branches/{branch}/config", get_config, methods=["GET"]),
    Route("/api/branches/{branch}/config/branch", put_branch_settings, methods=["PUT"]),
    Route("/api/branches/{branch}/config/hours", put_hours, methods=["PUT"]),
    Route(
        "/api/branches/{branch}/config/services/{service}",
        by_method(put_service, delete_service),
        methods=["PUT", "DELETE"],
    ),
    Route(
        "/api/branches/{branch}/config/counters/{counter}",
        by_method(put_counter, delete_counter),
        methods=["PUT", "DELETE"],
    ),
    Route("/api/branches/{branch}/notice", post_notice, methods=["POST"]),
    Route("/api/branches/{branch}/audit", get_audit, methods=["GET"]),
    Route("/api/users", users, methods=["GET", "POST"]),
    Route("/api/users/{username}", patch_user, methods=["PATCH"]),
]
