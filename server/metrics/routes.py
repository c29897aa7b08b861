"""HTTP: ``GET /api/branches/{branch}/metrics`` (managers and admins) and ``GET /metrics`` (Prometheus).

Both are documented in ``docs/metrics.md``.
"""

from __future__ import annotations

import hmac
from datetime import date, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api import branch_store, identify
from server.auth import Role
from server.context import Context, context
from server.errors import invalid_field
from server.http import JSONResponse
from server.metrics.prometheus import CONTENT_TYPE
from server.metrics.report import MAX_RANGE_DAYS, build_report, to_csv

#: Events a report request applies itself before answering, so a report includes every event
#: before it; a larger backlog is left to the consumer (the report says how far it got).
REQUEST_CATCH_UP = 20_000


def _date_param(request: Request, name: str, default: date) -> date:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise invalid_field(name, f"'{name}' must be a date like 2026-03-01") from exc



async def branch_metrics(request: Request) -> Response:
    ctx = context(request)
    identity = await identify(request, ctx)
    store = branch_store(request, ctx)
    identity.require_branch(store.branch.id)
    identity.require_role(Role.MANAGER, Role.ADMIN)
    now = store.clock.now()
    today = now.astimezone(store.branch.zone).date()
    last = _date_param(request, "to", today)
    first = _date_param(request, "from", last)
    if first > last:
        raise invalid_field("from", "'from' must not be after 'to'")
    if last - first >= timedelta(days=MAX_RANGE_DAYS):
        raise invalid_field("to", f"A report covers at most {MAX_RANGE_DAYS} days")
    output = request.query_params.get("format", "json")
    if output not in ("json", "csv"):
        raise invalid_field("format", "'format' must be json or csv")
    await ctx.metrics.catch_up(limit=REQUEST_CATCH_UP)
    report = await build_report(store.redis, store.branch, first, last, now)
    if output == "csv":
        name = f"nextup-{store.branch.id}-{first.isoformat()}-{last.isoformat()}.csv"
        return Response(
            to_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(report)


async def _scraper_allowed(request: Request, ctx: Context) -> None:
    """A scrape needs the scrape token (``NEXTUP_METRICS_TOKEN_FILE``) or a manager's or admin's token."""
    scrape_token = ctx.settings.metrics_token
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    sent_bytes, expected = sent.strip().encode(), (scrape_token or "").encode()
    if scrape_token and scheme.lower() == "bearer" and hmac.compare_digest(sent_bytes, expected):
        return
    identity = await identify(request, ctx)
    identity.require_branch(ctx.store.branch.id)
    identity.require_role(Role.MANAGER, Role.ADMIN)


async def prometheus_metrics(request: Request) -> Response:
    ctx = context(request)
    await _scraper_allowed(request, ctx)
    store = ctx.store
    exporter = ctx.metrics.exporter
    await exporter.refresh(store.redis, store.branch, store.clock.now(), ctx.fanout.subscriber_count(store.branch.id))
    return Response(exporter.render(), media_type=CONTENT_TYPE)


ROUTES = [
    Route("/api/branches/{branch}/metrics", branch_metrics, methods=["GET"]),
    Route("/metrics", prometheus_metrics, methods=["GET"]),
]
