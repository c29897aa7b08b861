"""The manager's dashboard ``/dashboard`` (or ``/dashboard/{branch}``): today live, by hour, by staff.

For managers and admins, in Chinese or English. The page (``templates/dashboard.html``) is a shell;
its script (``static/dashboard.js``) reads everything through the JSON API with the session cookie:

- today's metrics, ``GET /api/branches/{b}/metrics`` (tiles, the per-hour charts drawn as inline
  SVG, the per-staff table, the counters' figures), again a moment after each event the staff
  websocket announces and every ``REFRESH_S`` seconds;
- the branch state, ``GET /api/branches/{b}/state`` (queues, counters and who is at them), from
  the staff websocket's branch overview as it changes;
- the same weekday of the ``COMPARE_WEEKS`` previous weeks, one day's metrics each, for the
  comparison table.

Everything shown goes through ``textContent``: no figure or name is ever parsed as HTML.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.context import context
from server.metrics.stats import SERVICE_LEVEL_GOAL
from server.web.i18n import page_language
from server.web.pages import manager_identity, page_config, render

#: Seconds between two reloads of today's metrics when no event has come.
REFRESH_S = 30
#: Previous weeks whose same weekday the comparison shows.
COMPARE_WEEKS = 4

async def dashboard_page(request: Request) -> Response:
    ctx = context(request)
    branch = ctx.store.branch
    identity = await manager_identity(request, ctx)
    if isinstance(identity, Response):
        return identity
    lang = page_language(request)
    config = page_config(request, identity, lang, "counter.status.", "dashboard.")
    config["dashboard"] = {
        "refresh_s": REFRESH_S,
        "compare_weeks": COMPARE_WEEKS,
        "service_level_goal": SERVICE_LEVEL_GOAL,
        "services": [
            {"id": s.id, "name_zh": s.name_zh, "name_en": s.name_en, "target_wait_min": s.target_wait_min}
            for s in branch.services.values()
        ],
        "counters": [
            {"id": c.id, "name_zh": c.name_zh, "name_en": c.name_en, "services": list(c.services)}
            for c in branch.counters.values()
        ],
    }
    return render(
        request,
        "dashboard.html",
        {"config": config, "identity": identity},
        lang=lang,
    )


ROUTES = [
    Route("/dashboard", dashboard_page, methods=["GET"]),
    Route("/dashboard/{branch}", dashboard_page, methods=["GET"]),
]
