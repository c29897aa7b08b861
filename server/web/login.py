"""Staff login and logout for the pages: the session token goes into an HttpOnly cookie."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from server.api import SESSION_COOKIE, identify
from server.auth import PEOPLE, Identity, Role
from server.context import context
from server.errors import ApiError
from server.web.i18n import LANG_COOKIE, page_language, translate
from server.web.templating import templates

#: Where each role's work is: the page a login leads to when no page was asked for.
LANDING = {Role.STAFF: "/counter", Role.MANAGER: "/dashboard", Role.ADMIN: "/admin"}


def safe_next(value: str | None) -> str:
    """Only a path on this server: never an open redirect; "" when none was asked for."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return ""


def login_page(
    request: Request, error: str = "", status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    lang = page_language(request)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"lang": lang, "t": lambda key: translate(key, lang), "error": error,
         "next": safe_next(request.query_params.get("next"))},
        status_code=status,
        headers=headers,
    )
    response.set_cookie(LANG_COOKIE, lang, samesite="strict", max_age=365 * 86400)
    return response


async def login_form(request: Request) -> Response:
    return login_page(request)


async def login_submit(request: Request) -> Response:
    ctx = context(request)
    lang = page_language(request)
    origin = request.headers.get("origin")
    if origin is not None and origin.split("://", 1)[-1] != request.headers.get("host"):
        return login_page(request, translate("login.cross_site", lang), 403)
    form = await request.form(max_files=0, max_fields=5)
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:1024]
    address = request.client.host if request.client else ""
    try:
        role, branch, counters = await ctx.accounts.authenticate(username, password, address)
    except ApiError as exc:
        if exc.code == "rate_limited":
            wait_s = str(exc.extra.get("retry_after_s", 1))
            message = translate("login.throttled", lang).format(seconds=wait_s)
            return login_page(request, message, exc.status, {"Retry-After": wait_s})
        return login_page(request, translate("login.failed", lang), exc.status)
    if role not in PEOPLE:
        return login_page(request, translate("login.failed", lang), 401)
    identity = Identity(username, role, branch, counters, time.time() + ctx.settings.session_ttl_s,
                        secrets.token_urlsafe(12))
    await ctx.revocations.remember(username, identity.session, identity.expires)
    response = RedirectResponse(safe_next(str(form.get("next", ""))) or LANDING[role], status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        ctx.signer.issue(identity),
        max_age=ctx.settings.session_ttl_s,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


async def logout_submit(request: Request) -> Response:
    """End the cookie session (the CSRF token is checked like for any changing request)."""
    ctx = context(request)
    try:
        identity = await identify(request, ctx)
    except ApiError:
        identity = None
    if identity is not None:
        await ctx.revocations.revoke(identity.session, identity.expires)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def root(request: Request) -> Response:
    """The server's address opens the login page; logging in leads on to the page of one's role."""
    return RedirectResponse("/login", status_code=303)


ROUTES = [
    Route("/", root, methods=["GET"]),
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout_submit, methods=["POST"]),
    Mount("/static", app=StaticFiles(directory=str(Path(__file__).parent / "static")), name="web-static"),
]
