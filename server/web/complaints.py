"""The managers' complaints page ``/complaints`` (or ``/complaints/{branch}``): customers' complaints, answered.

For managers and admins, in Chinese or English. Customers file complaints from their ticket's phone
page (``server.phone``, ``server.feedback``); this page (``templates/complaints.html``) is a shell and
its script (``static/complaints.js``) works through the managers' JSON API with the session cookie
and the CSRF token:

- ``GET /api/branches/{b}/complaints[?state=...]``: the list, newest first, with each complaint's
  state, answer deadline and overdue flag, again every ``REFRESH_S`` seconds (complaints are not in
  the event stream, which public screens follow, so nothing announces a new one);
- ``PATCH /api/branches/{b}/complaints/{id}`` ``{"answer"}``: the answer form of an open complaint.

Everything a customer or a manager typed goes through ``textContent``: never parsed as HTML.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.api import context
from server.feedback import ComplaintState
from server.phone import COMPLAINT_MAX
from server.web.i18n import page_language
from server.web.pages import manager_identity, page_config, render

#: Seconds between two reloads of the list.
REFRESH_S = 15

#: The page's texts (the shared ones come from ``server.web.i18n``).
COMPLAINTS_TEXTS: dict[str, dict[str, str]] = {
    "complaints.title": {"zh": "客户投诉", "en": "Complaints"},
    "complaints.dashboard": {"zh": "运营看板", "en": "Dashboard"},
    "complaints.logout": {"zh": "退出登录", "en": "Log out"},
    "complaints.filter": {"zh": "显示", "en": "Show"},
    "complaints.filter.all": {"zh": "全部", "en": "All"},
    "complaints.state.open": {"zh": "待处理", "en": "Open"},
    "complaints.state.answered": {"zh": "已答复", "en": "Answered"},
    "complaints.state.closed": {"zh": "已关闭", "en": "Closed"},
    "complaints.target": {"zh": "答复时限：{hours} 小时", "en": "Answer within {hours} hours"},
    "complaints.summary": {"zh": "共 {count} 条，待处理 {open} 条，其中超时 {overdue} 条",
                           "en": "{count} listed, {open} open, of which {overdue} overdue"},
    "complaints.updated": {"zh": "更新于 {time}", "en": "Updated {time}"},
    "complaints.number": {"zh": "号码", "en": "Number"},
    "complaints.filed_at": {"zh": "投诉时间", "en": "Filed"},
    "complaints.where": {"zh": "柜台 / 员工", "en": "Counter / staff"},
    "complaints.text": {"zh": "投诉内容", "en": "Complaint"},
    "complaints.phone": {"zh": "联系电话", "en": "Phone"},
    "complaints.state": {"zh": "状态", "en": "State"},
    "complaints.answer": {"zh": "答复", "en": "Answer"},
    "complaints.none": {"zh": "暂无投诉。", "en": "No complaints."},
    "complaints.nobody": {"zh": "—", "en": "—"},
    "complaints.no_phone": {"zh": "未留电话", "en": "none given"},
    "complaints.phone_erased": {"zh": "已按期删除", "en": "erased after its retention"},
    "complaints.overdue": {"zh": "已超时", "en": "Overdue"},
    "complaints.due": {"zh": "应于 {at} 前答复", "en": "Answer by {at}"},
    "complaints.answered_late": {"zh": "逾期答复", "en": "Answered late"},
    "complaints.answered_by": {"zh": "{who} 答复于 {at}", "en": "Answered by {who}, {at}"},
    "complaints.answer_label": {"zh": "答复内容", "en": "Your answer"},
    "complaints.send": {"zh": "提交答复", "en": "Send answer"},
    "complaints.sent": {"zh": "已答复 {number} 的投诉。", "en": "The complaint of {number} is answered."},
    "complaints.answer_empty": {"zh": "请先填写答复内容。", "en": "Write the answer first."},
    "complaints.changed": {"zh": "该投诉已被他人处理，当前状态：{state}。",
                           "en": "Someone else dealt with this complaint meanwhile; it is now {state}."},
    "complaints.load_failed": {"zh": "无法读取投诉列表：{reason}", "en": "The complaints could not be read: {reason}"},
}


async def complaints_page(request: Request) -> Response:
    ctx = context(request)
    identity = await manager_identity(request, ctx)
    if isinstance(identity, Response):
        return identity
    lang = page_language(request)
    branch = ctx.store.branch
    counters = branch.counters.values()
    config = page_config(request, identity, lang, texts=COMPLAINTS_TEXTS)
    config["complaints"] = {
        "refresh_s": REFRESH_S,
        "timezone": branch.timezone,
        "answer_max": COMPLAINT_MAX,
        "states": [state.value for state in ComplaintState],
        "counters": [{"id": c.id, "name_zh": c.name_zh, "name_en": c.name_en} for c in counters],
    }
    return render(
        request,
        "complaints.html",
        {"config": config, "identity": identity, "states": config["complaints"]["states"]},
        lang=lang,
        texts=COMPLAINTS_TEXTS,
    )


ROUTES = [
    Route("/complaints", complaints_page, methods=["GET"]),
    Route("/complaints/{branch}", complaints_page, methods=["GET"]),
]
