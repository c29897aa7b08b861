"""Staff pages' sessions: cookie login, CSRF protection, logout, security headers, escaping."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD

pytestmark = pytest.mark.redis


def cookie_client(api: Api, username: str = "admin", password: str = ADMIN_PASSWORD) -> httpx.Client:
    client = httpx.Client(base_url=api.url, timeout=10)
    response = client.post("/login", data={"username": username, "password": password, "next": "/counter"})
    assert response.status_code == 303, response.text
    assert "nextup_session" in client.cookies
    return client


def csrf_of(api: Api, client: httpx.Client) -> str:
    page = client.get("/api/session")
    assert page.status_code == 200, page.text
    token: str = page.json()["csrf_token"]
    return token


def test_login_page_is_bilingual_and_has_security_headers(api: Api) -> None:
    """The login page speaks Chinese by default, English on request, with strict security headers."""
    zh = api.http.get("/login")
    assert zh.status_code == 200 and "员工登录" in zh.text
    en = api.http.get("/login?lang=en")
    assert "Staff login" in en.text
    assert "script-src 'self'" in zh.headers["content-security-policy"]
    assert zh.headers["x-frame-options"] == "DENY"
    assert zh.headers["x-content-type-options"] == "nosniff"
    assert api.http.get("/healthz").headers["x-content-type-options"] == "nosniff"


def test_wrong_password_on_the_page_says_so_plainly(api: Api) -> None:
    """A failed page login is a sentence on the page, not a traceback."""
    response = api.http.post("/login", data={"username": "admin", "password": "nope"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text


def test_cookie_session_needs_the_csrf_token_for_changes(api: Api) -> None:
    """With the session cookie, a change without the CSRF token is refused; with it, it works."""
    client = cookie_client(api)
    assert client.get("/api/branches/main/state").status_code == 200
    api.issue("A")
    refused = client.post("/api/branches/main/counters/2/call-next")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
    assert api.state()["counters"][1]["current"] is None
    token = csrf_of(api, client)
    accepted = client.post("/api/branches/main/counters/2/call-next", headers={"X-CSRF-Token": token})
    assert accepted.status_code == 200, accepted.text


def test_cross_site_origin_is_refused_even_with_the_token(api: Api) -> None:
    """A request from another origin carrying the cookie is refused."""
    client = cookie_client(api)
    token = csrf_of(api, client)
    response = client.post(
        "/api/branches/main/counters/2/open",
        headers={"X-CSRF-Token": token, "Origin": "http://evil.example"},
    )
    assert response.status_code == 403


def test_logout_ends_the_cookie_session(api: Api) -> None:
    """After logging out on the page, the old cookie no longer works."""
    client = cookie_client(api)
    old = client.cookies["nextup_session"]
    token = csrf_of(api, client)
    assert client.post("/logout", headers={"X-CSRF-Token": token}).status_code == 303
    stale = httpx.get(f"{api.url}/api/branches/main/state", cookies={"nextup_session": old})
    assert stale.status_code == 401


def test_login_never_redirects_off_site(api: Api) -> None:
    """The ``next`` of the login form is only ever a path on this server."""
    client = httpx.Client(base_url=api.url)
    response = client.post(
        "/login", data={"username": "admin", "password": ADMIN_PASSWORD, "next": "//evil.example/x"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin"


@pytest.mark.parametrize(("role", "page"), [("staff", "/counter"), ("manager", "/dashboard"), ("admin", "/admin")])
def test_each_role_lands_where_its_work_is(api: Api, role: str, page: str) -> None:
    """Issue #16: an admin landed on /counter, a manager on the read-only /admin. A page asked for wins."""
    username = "admin" if role == "admin" else f"landing-{role}"
    if role != "admin":
        api.user(username, role, ["1"] if role == "staff" else [])
    password = ADMIN_PASSWORD if role == "admin" else f"pw-{username}-123"
    client = httpx.Client(base_url=api.url)
    try:
        landed = client.post("/login", data={"username": username, "password": password})
        assert landed.status_code == 303 and landed.headers["location"] == page
        asked = client.post("/login", data={"username": username, "password": password, "next": "/complaints"})
        assert asked.headers["location"] == "/complaints"
    finally:
        client.close()
