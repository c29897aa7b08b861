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

from server.context import context
from server.shapes.feedback import COMPLAINT_MAX, ComplaintState
from server.web.i18n import page_language
from server.web.pages import manager_identity, page_config, render

#: Seconds between two reloads of the list.
REFRESH_S = 15

async def complaints_page(request: Request) -> Response:
    ctx = context(request)
    identity = await manager_identity(request, ctx)
    if isinstance(identity, Response):
        return identity
    lang = page_language(request)
    branch = ctx.store.branch
    counters = branch.counters.values()
    config = page_config(request, identity, lang, "complaints.")
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
    )


ROUTES = [
    Route("/complaints", complaints_page, methods=["GET"]),
    Route("/complaints/{branch}", complaints_page, methods=["GET"]),
]
