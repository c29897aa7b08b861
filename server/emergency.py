"""The branch's emergency state (应急预案) over HTTP: a manager starts it, every screen follows.

``POST /api/branches/{branch}/emergency`` with ``{"kind": "evacuation" | "system_fault" | "closure",
"text_zh"?, "text_en"?}`` starts it (or replaces the one in force); ``DELETE`` ends it. Meanwhile
displays cover the screen with it and announce it, kiosks and the API issue no ticket (409
``emergency``), the phones of waiting customers show it. Both are audited (``lua/emergency.lua``).
The shapes are ``server.shapes.branch.EmergencyRequest`` and ``EmergencyState``.
"""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.admin_api import admin_of
from server.api import actor_of
from server.auth import Role
from server.context import context
from server.errors import ApiError
from server.http import JSONResponse, read_body
from server.shapes.branch import EmergencyRequest, EmergencyState


async def start(request: Request) -> Response:
    identity = await admin_of(request, Role.ADMIN, Role.MANAGER)
    ctx = context(request)
    body = await read_body(request, ctx.settings.max_body_bytes, EmergencyRequest)
    result, _ = await ctx.store.run_script(
        "emergency", actor_of(identity, request), "start", body.kind.value, body.text_zh or "", body.text_en or ""
    )
    return JSONResponse(msgspec.convert(result, EmergencyState))


async def end(request: Request) -> Response:
    identity = await admin_of(request, Role.ADMIN, Role.MANAGER)
    ctx = context(request)
    result, _ = await ctx.store.run_script("emergency", actor_of(identity, request), "end", "", "", "")
    if result.get("error") == "invalid_state":
        raise ApiError(409, "invalid_state", "The branch is not in an emergency state", state="normal")
    return JSONResponse(msgspec.convert(result, EmergencyState))


ROUTES = [
    Route("/api/branches/{branch}/emergency", start, methods=["POST"]),
    Route("/api/branches/{branch}/emergency", end, methods=["DELETE"]),
]
