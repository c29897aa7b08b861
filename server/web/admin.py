"""The administration page ``/admin``: services, counters, hours, accounts, devices, notices, audit.

Admins change everything; managers see everything they may read and change only notices and
reactivations (the JSON API enforces this whatever the page shows). The page's script
(``static/admin.js``) works through the JSON API of ``server.admin_api`` with the session cookie
and the CSRF token; its live overview comes from the staff websocket (``server.web.staff_ws``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth import Role
from server.config import WEEKDAYS
from server.context import context
from server.rules import EmergencyKind
from server.shapes.branch import MAX_EMERGENCY_TEXT
from server.web.i18n import page_language
from server.web.pages import manager_identity, page_config, render

#: The page's sections, in tab order: (anchor, text key, roles that see its contents).
SECTIONS: list[tuple[str, str, frozenset[Role]]] = [
    ("overview", "admin.tab.overview", frozenset({Role.ADMIN, Role.MANAGER})),
    ("services", "admin.tab.services", frozenset({Role.ADMIN, Role.MANAGER})),
    ("counters", "admin.tab.counters", frozenset({Role.ADMIN, Role.MANAGER})),
    ("hours", "admin.tab.hours", frozenset({Role.ADMIN, Role.MANAGER})),
    ("users", "admin.tab.users", frozenset({Role.ADMIN})),
    ("devices", "admin.tab.devices", frozenset({Role.ADMIN, Role.MANAGER})),
    ("notices", "admin.tab.notices", frozenset({Role.ADMIN, Role.MANAGER})),
    ("audit", "admin.tab.audit", frozenset({Role.ADMIN})),
]


async def admin_page(request: Request) -> Response:
    identity = await manager_identity(request, context(request))
    if isinstance(identity, Response):
        return identity
    lang = page_language(request)
    config = page_config(request, identity, lang, "admin.", "counter.status.", "emergency.")
    config["weekdays"] = list(WEEKDAYS)
    config["sections"] = [anchor for anchor, _, roles in SECTIONS if identity.role in roles]
    # The Notices tab's emergency state (static/admin_emergency.js): its kinds and the longest own words.
    config["emergency_kinds"] = [kind.value for kind in EmergencyKind]
    config["emergency_text_max"] = MAX_EMERGENCY_TEXT
    return render(
        request,
        "admin.html",
        {"config": config, "identity": identity, "sections": SECTIONS, "weekdays": WEEKDAYS,
         "is_admin": identity.role == Role.ADMIN},
        lang=lang,
    )


ROUTES = [Route("/admin", admin_page, methods=["GET"])]
