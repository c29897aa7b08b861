"""What the staff pages share: who is logged in (the session cookie) and rendering a page.

A page's script gets what it needs (texts, role, CSRF token) as JSON in a
``<script type="application/json">`` element: the Content-Security-Policy forbids inline code.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from server.api import identify
from server.auth import Identity, Role
from server.context import Context, context
from server.errors import ApiError
from server.http import http_exception_handler
from server.shapes.branch import BranchPlace
from server.web.i18n import LANG_COOKIE, page_language, texts_for, translate
from server.web.templating import templates

#: Pages hold a CSRF token and live data: never cached, never sent as a referrer.
_PAGE_HEADERS = {"Cache-Control": "no-store"}


async def session_identity(request: Request, ctx: Context) -> Identity | None:
    """The logged-in person, or None when there is no valid session (expired, logged out)."""
    try:
        return await identify(request, ctx)
    except ApiError:
        return None


def to_login(request: Request) -> Response:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


#: Who may open the staff pages: the pages' own checks and the links between them both use these,
#: so a link never leads a person to a page that refuses them.
COUNTER_ROLES = frozenset({Role.STAFF, Role.ADMIN})
MANAGER_ROLES = frozenset({Role.MANAGER, Role.ADMIN})

#: The links of every staff page's top bar, in order: (path, text key, roles that may open it).
#: A person who may open only one of them (staff) gets no links: there is nowhere else to go.
NAV_PAGES: list[tuple[str, str, frozenset[Role]]] = [
    ("/counter", "nav.counter", COUNTER_ROLES),
    ("/dashboard", "nav.dashboard", MANAGER_ROLES),
    ("/admin", "nav.admin", MANAGER_ROLES),
    ("/complaints", "nav.complaints", MANAGER_ROLES),
]


def nav_links(identity: Identity | None, branch: str) -> list[tuple[str, str]]:
    """The pages this person may open on this branch's server: (path, text key)."""
    if identity is None or identity.branch not in ("*", branch):
        return []
    return [(path, key) for path, key, roles in NAV_PAGES if identity.role in roles]


#: Paths whose answers are for programs (JSON or text) even when a browser asks.
_API_PATHS = ("/api/", "/ws/", "/metrics", "/healthz")


async def not_found_or_error(request: Request, exc: Exception) -> Response:
    """A mistyped address in a browser gets a page in words (zh or en); the API keeps its JSON."""
    assert isinstance(exc, HTTPException)
    wants_page = "text/html" in request.headers.get("accept", "") and not request.url.path.startswith(_API_PATHS)
    if exc.status_code == 404 and wants_page:
        # Someone logged in is offered their own pages (the top bar's links), anyone else the usual ones.
        identity = await session_identity(request, context(request))
        return render(request, "not_found.html", {"identity": identity} if identity else {}, status=404)
    return await http_exception_handler(request, exc)


def forbidden_page(request: Request, identity: Identity) -> Response:
    lang = page_language(request)
    return render(request, "forbidden.html", {"identity": identity}, status=403, lang=lang)


async def manager_identity(request: Request, ctx: Context) -> Identity | Response:
    """Who opens a managers' page (``/admin``, ``/complaints[/{branch}]``): a manager or an admin of
    this branch, or else the answer to send: 404 for another branch's URL, the login page for nobody
    logged in, the counter for staff (303), the forbidden page for anyone else (devices)."""
    branch = ctx.store.branch
    if request.path_params.get("branch", branch.id) != branch.id:
        return PlainTextResponse(f"No branch {request.path_params['branch']} here", status_code=404)
    identity = await session_identity(request, ctx)
    if identity is None:
        return to_login(request)
    if identity.role == Role.STAFF:
        return RedirectResponse("/counter", status_code=303)
    if identity.role not in MANAGER_ROLES or identity.branch not in ("*", branch.id):
        return forbidden_page(request, identity)
    return identity


def render(
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    status: int = 200,
    lang: str | None = None,
) -> Response:
    lang = lang or page_language(request)
    identity = values.get("identity")
    nav = nav_links(identity, context(request).store.branch.id) if isinstance(identity, Identity) else []
    response = templates.TemplateResponse(
        request,
        template,
        {"lang": lang, "t": lambda key: translate(key, lang), "path": request.url.path, "nav": nav, **values},
        status_code=status,
        headers=_PAGE_HEADERS,
    )
    if request.query_params.get("lang") == lang:
        response.set_cookie(LANG_COOKIE, lang, samesite="strict", max_age=365 * 86400)
    return response


def page_config(request: Request, identity: Identity, lang: str, *text_prefixes: str) -> dict[str, Any]:
    """What every staff page's script needs to know about the session and the branch.

    Its texts: those of the catalogue starting with ``text_prefixes`` (and errors, connection, roles)."""
    ctx = context(request)
    branch = ctx.store.branch
    return {
        "lang": lang,
        "branch": msgspec.to_builtins(BranchPlace.of(branch)),
        "user": {"username": identity.username, "role": identity.role.value},
        "csrf_token": ctx.signer.csrf_token(identity),
        "socket": f"/ws/branches/{branch.id}/staff",
        "texts": texts_for(lang, "error.", "connection.", "role.", *text_prefixes),
    }
