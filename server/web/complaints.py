"""The managers' complaints page ``/complaints`` (or ``/complaints/{branch}``): customers' complaints, answered.

For managers and admins, in Chinese or English. Customers file complaints from their ticket's phone
page (``server.phone``, ``server.feedback``); this page (``templates/complaints.html``) is a shell and
its script (``static/complaints.js``) works through the managers' JSON API with the session cookie
and the CSRF token:

- ``GET /api/branches/{b}/complaints[?state=...]``: the list, newest first, with each complaint's
  state, answer deadline and overdue flag, again every ``REFRESH_S`` seconds (complaints are not in
  the event stream, which public screens follow, so nothing announces a new one);
- ``PATCH /api/branches/{b}/complaints/{id}`` ``{"answer"}``: the answer form of an open complaint;
  ``{"state": "closed"}`` (after a confirmation: a closed complaint leaves the default list) and
  ``{"state": "open"}`` (reopen), offered where ``feedback.COMPLAINT_TRANSITIONS`` allows them.

The counts above the list are those of the rows shown, by state, and follow every change at once.

Everything a customer or a manager typed goes through ``textContent``: never parsed as HTML.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.context import context
from server.feedback import COMPLAINT_TRANSITIONS
from server.shapes.feedback import COMPLAINT_MAX, ComplaintState
from server.web.i18n import page_language
from server.web.pages import manager_identity, page_config, render

#: Seconds between two reloads of the list.
REFRESH_S = 15
#: The list's filters (``?state=`` of the page and of the API) and their labels; the first is the
#: default: the complaints still to deal with (a closed one leaves it).
FILTERS = [
    ("open,answered", "complaints.filter.active"),
    ("open", "complaints.state.open"),
    ("answered", "complaints.state.answered"),
    ("closed", "complaints.state.closed"),
    ("", "complaints.filter.all"),
]


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
        "filters": [value for value, _ in FILTERS],
        # Target state -> the states it may be reached from: which buttons a row offers.
        "transitions": {to.value: sorted(s.value for s in sources) for to, sources in COMPLAINT_TRANSITIONS.items()},
        "counters": [{"id": c.id, "name_zh": c.name_zh, "name_en": c.name_en} for c in counters],
    }
    return render(
        request,
        "complaints.html",
        {"config": config, "identity": identity, "filters": FILTERS},
        lang=lang,
    )


ROUTES = [
    Route("/complaints", complaints_page, methods=["GET"]),
    Route("/complaints/{branch}", complaints_page, methods=["GET"]),
]
