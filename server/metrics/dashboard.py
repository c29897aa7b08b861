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

from server.api import context
from server.metrics.stats import SERVICE_LEVEL_GOAL
from server.web.i18n import page_language
from server.web.pages import manager_identity, page_config, render

#: Seconds between two reloads of today's metrics when no event has come.
REFRESH_S = 30
#: Previous weeks whose same weekday the comparison shows.
COMPARE_WEEKS = 4

#: The dashboard's texts (the shared ones come from ``server.web.i18n``).
DASHBOARD_TEXTS: dict[str, dict[str, str]] = {
    "dashboard.title": {"zh": "运营看板", "en": "Dashboard"},
    "dashboard.today": {"zh": "今日实时", "en": "Today, live"},
    "dashboard.updated": {"zh": "更新于", "en": "Updated"},
    "dashboard.waiting": {"zh": "等候人数", "en": "Waiting now"},
    "dashboard.longest_wait": {"zh": "当前最长等候", "en": "Longest wait now"},
    "dashboard.service_level": {"zh": "服务达标率", "en": "Service level"},
    "dashboard.service_level_goal": {"zh": "目标 {goal}", "en": "goal {goal}"},
    "dashboard.issued": {"zh": "今日取号", "en": "Issued today"},
    "dashboard.issued_count": {"zh": "取号", "en": "Issued"},
    "dashboard.served": {"zh": "已办结", "en": "Served"},
    "dashboard.no_shows": {"zh": "过号", "en": "No-shows"},
    "dashboard.mean_wait": {"zh": "平均等候", "en": "Mean wait"},
    "dashboard.p90_wait": {"zh": "90% 等候", "en": "p90 wait"},
    "dashboard.mean_handling": {"zh": "平均办理", "en": "Mean handling"},
    "dashboard.median_handling": {"zh": "办理中位数", "en": "Median handling"},
    "dashboard.max_wait": {"zh": "最长等候", "en": "Longest wait"},
    "dashboard.queues": {"zh": "排队情况", "en": "Queues"},
    "dashboard.service": {"zh": "业务", "en": "Service"},
    "dashboard.priority_waiting": {"zh": "其中优先", "en": "Of which priority"},
    "dashboard.open_counters": {"zh": "开放柜台", "en": "Open counters"},
    "dashboard.target": {"zh": "目标等候", "en": "Target wait"},
    "dashboard.counters": {"zh": "柜台", "en": "Counters"},
    "dashboard.counter": {"zh": "柜台", "en": "Counter"},
    "dashboard.status": {"zh": "状态", "en": "Status"},
    "dashboard.who": {"zh": "工作人员", "en": "Staff"},
    "dashboard.current": {"zh": "当前号码", "en": "Now serving"},
    "dashboard.utilisation": {"zh": "忙碌率", "en": "Utilisation"},
    "dashboard.rating": {"zh": "满意度（评价数）", "en": "Rating (count)"},
    "dashboard.by_hour": {"zh": "分时段", "en": "By hour"},
    "dashboard.hour": {"zh": "时段", "en": "Hour"},
    "dashboard.arrivals_vs_served": {"zh": "到达与办结（人）", "en": "Arrivals and served (people)"},
    "dashboard.waits_by_hour": {"zh": "等候时长（分钟）", "en": "Wait (minutes)"},
    "dashboard.arrivals": {"zh": "到达", "en": "Arrivals"},
    "dashboard.needed_counters": {"zh": "建议柜台数", "en": "Counters needed"},
    "dashboard.open_counters_avg": {"zh": "平均开放柜台", "en": "Counters open"},
    "dashboard.by_staff": {"zh": "员工绩效", "en": "Staff"},
    "dashboard.staff": {"zh": "员工", "en": "Staff member"},
    "dashboard.called": {"zh": "叫号", "en": "Called"},
    "dashboard.busy": {"zh": "办理时长", "en": "Busy"},
    "dashboard.compare": {"zh": "与前几周同日对比", "en": "Same weekday, previous weeks"},
    "dashboard.measure": {"zh": "指标", "en": "Measure"},
    "dashboard.weeks_average": {"zh": "前几周平均", "en": "Previous weeks' mean"},
    "dashboard.none": {"zh": "今日暂无数据。", "en": "Nothing yet today."},
    "dashboard.nobody": {"zh": "—", "en": "—"},
    "dashboard.busy_now": {"zh": "办理中", "en": "serving"},
    "dashboard.logout": {"zh": "退出登录", "en": "Log out"},
    "dashboard.export_csv": {"zh": "导出 CSV", "en": "Export CSV"},
}


async def dashboard_page(request: Request) -> Response:
    ctx = context(request)
    branch = ctx.store.branch
    identity = await manager_identity(request, ctx)
    if isinstance(identity, Response):
        return identity
    lang = page_language(request)
    config = page_config(request, identity, lang, "counter.status.", texts=DASHBOARD_TEXTS)
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
        texts=DASHBOARD_TEXTS,
    )


ROUTES = [
    Route("/dashboard", dashboard_page, methods=["GET"]),
    Route("/dashboard/{branch}", dashboard_page, methods=["GET"]),
]
