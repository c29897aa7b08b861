"""The counter workstation page ``/counter``: staff take a counter and serve it all day.

The page only renders the frame; its script (``static/counter.js``) acts through the JSON API with
the session cookie and the CSRF token, and shows what the staff websocket (``server.web.staff_ws``)
pushes after every event, so nobody ever presses F5.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from server.auth import Identity, Role
from server.context import context
from server.web.i18n import page_language
from server.web.pages import COUNTER_ROLES, forbidden_page, page_config, render, session_identity, to_login

#: Keyboard shortcuts, in the order the page lists them: (key as the script matches it, label
#: shown, action text key). Keys are ignored while a text field has the focus.
SHORTCUTS: list[tuple[str, str, str]] = [
    ("n", "N", "counter.call_next"),
    ("r", "R", "counter.recall"),
    ("f", "F", "counter.finish"),
    ("x", "X", "counter.no_show"),
    ("t", "T", "counter.transfer"),
    ("g", "G", "counter.call_number"),
    ("a", "A", "counter.reactivate"),
    ("p", "P", "counter.pause"),
    ("o", "O", "counter.resume"),
    ("C", "Shift+C", "counter.close"),
    ("L", "Shift+L", "counter.logout"),
]


def workable_counters(identity: Identity, request: Request) -> list[dict[str, str]]:
    """The counters this person may take: their own (staff) or every one (admin)."""
    branch = context(request).store.branch
    return [
        {"id": c.id, "name_zh": c.name_zh, "name_en": c.name_en}
        for c in branch.counters.values()
        if identity.role == Role.ADMIN or c.id in identity.counters
    ]


async def counter_page(request: Request) -> Response:
    ctx = context(request)
    identity = await session_identity(request, ctx)
    if identity is None:
        return to_login(request)
    if identity.role == Role.MANAGER:
        # Managers watch counters from the branch overview; they do not serve customers.
        return RedirectResponse("/admin", status_code=303)
    if identity.role not in COUNTER_ROLES or identity.branch not in ("*", ctx.store.branch.id):
        return forbidden_page(request, identity)
    lang = page_language(request)
    config = page_config(request, identity, lang, "counter.")
    config["counters"] = workable_counters(identity, request)
    config["shortcuts"] = {key: action.removeprefix("counter.") for key, _, action in SHORTCUTS}
    chosen = request.query_params.get("counter", "")
    config["chosen"] = chosen if any(c["id"] == chosen for c in config["counters"]) else None
    return render(
        request,
        "counter.html",
        {"config": config, "identity": identity, "shortcuts": SHORTCUTS, "counters": config["counters"]},
        lang=lang,
    )


ROUTES = [Route("/counter", counter_page, methods=["GET"])]
