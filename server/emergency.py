"""The branch's emergency state (应急预案) over HTTP: a manager starts it, every screen follows.

``POST /api/branches/{branch}/emergency`` with ``{"kind": "evacuation" | "system_fault" | "closure",
"text_zh"?, "text_en"?}`` starts it (or replaces the one in force); ``DELETE`` ends it. Meanwhile
displays cover the screen with it and announce it, kiosks and the API issue no ticket (409
``emergency``), the phones of waiting customers show it. Both are audited (``lua/emergency.lua``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.admin_api import admin_of
from server.api import actor_of
from server.auth import Role
from server.context import context
from server.errors import ApiError, invalid_field
from server.http import JSONResponse, read_json, text_field
from server.rules import EmergencyKind

#: The longest own words a manager may add to an emergency, per language.
MAX_TEXT = 300
_FIELDS = ("kind", "text_zh", "text_en")


async def start(request: Request) -> Response:
    identity = await admin_of(request, Role.ADMIN, Role.MANAGER)
    ctx = context(request)
    body = await read_json(request, ctx.settings.max_body_bytes)
    unknown = sorted(set(body) - set(_FIELDS))
    if unknown:
        raise invalid_field(unknown[0], f"Unknown field {unknown[0]!r}; allowed: {', '.join(_FIELDS)}")
    kind = body.get("kind")
    kinds = [k.value for k in EmergencyKind]
    if kind not in kinds:
        raise invalid_field("kind", f"'kind' must be one of {', '.join(kinds)}")
    text_zh = text_field(body, "text_zh", max_length=MAX_TEXT, required=False)
    text_en = text_field(body, "text_en", max_length=MAX_TEXT, required=False)
    result, _ = await ctx.store.run_script("emergency", actor_of(identity, request), "start", kind, text_zh, text_en)
    result.pop("seq", None)
    return JSONResponse(result)


async def end(request: Request) -> Response:
    identity = await admin_of(request, Role.ADMIN, Role.MANAGER)
    ctx = context(request)
    result, _ = await ctx.store.run_script("emergency", actor_of(identity, request), "end", "", "", "")
    if result.get("error") == "invalid_state":
        raise ApiError(409, "invalid_state", "The branch is not in an emergency state", state="normal")
    result.pop("seq", None)
    return JSONResponse(result)


ROUTES = [
    Route("/api/branches/{branch}/emergency", start, methods=["POST"]),
    Route("/api/branches/{branch}/emergency", end, methods=["DELETE"]),
]
