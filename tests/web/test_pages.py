"""The staff pages themselves: who lands where, languages, headers, the documented shortcuts."""

from __future__ import annotations

import time

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server import keyring
from server.auth import Identity, Role, TokenSigner
from server.web.counter import SHORTCUTS
from tests.conftest import Api
from tests.servers import ServerProcess
from tests.web.conftest import cookie_session

pytestmark = pytest.mark.redis


def test_without_a_session_the_pages_send_to_the_login_form(api: Api) -> None:
    """/counter and /admin redirect to the login page, which comes back to them."""
    for path in ("/counter", "/admin"):
        response = api.http.get(path)
        assert response.status_code == 303
        assert response.headers["location"] == f"/login?next={path}"


def test_each_role_lands_on_its_own_page(api: Api) -> None:
    """Staff work at /counter, managers at /admin; admins may use both."""
    api.user("staff1", "staff", ["1"])
    api.user("boss", "manager")
    staff, manager, admin = cookie_session(api, "staff1"), cookie_session(api, "boss"), cookie_session(api, "admin")
    assert staff.get("/counter").status_code == 200
    assert staff.get("/admin").headers["location"] == "/counter"
    assert manager.get("/counter").headers["location"] == "/admin"
    assert manager.get("/admin").status_code == 200
    assert admin.get("/counter").status_code == 200 and admin.get("/admin").status_code == 200


def test_pages_speak_chinese_by_default_and_english_on_request(api: Api) -> None:
    """The language comes from ?lang=, then the cookie it sets, then the browser."""
    client = cookie_session(api, "admin")
    assert "柜台工作台" in client.get("/counter").text
    assert "Counter workstation" in client.get("/counter?lang=en").text
    assert "Counter workstation" in client.get("/counter").text  # remembered
    assert "Branch administration" in client.get("/admin").text
    assert "网点管理" in client.get("/admin", headers={"Accept-Language": "zh-CN"}, params={"lang": "zh"}).text


def test_pages_are_never_cached_and_carry_the_security_headers(api: Api) -> None:
    """A page holds a CSRF token: no-store; and the strict Content-Security-Policy of every page."""
    client = cookie_session(api, "admin")
    for path in ("/counter", "/admin"):
        response = client.get(path)
        assert response.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-frame-options"] == "DENY"
        assert "<script>" not in response.text  # only src= scripts and JSON data blocks


def test_the_counter_page_lists_every_keyboard_shortcut(api: Api) -> None:
    """Each shortcut the script handles is written on the page with its key."""
    api.user("staff1", "staff", ["1"])
    html = cookie_session(api, "staff1").get("/counter?lang=en").text
    for _, label, _ in SHORTCUTS:
        assert f"<kbd>{label}</kbd>" in html
    assert "Call next" in html and "Shift+L" in html


def test_staff_choose_only_among_their_counters_and_admins_among_all(api: Api) -> None:
    """The counter choice offers a member of staff their own counters; an admin every counter."""
    api.user("staff2", "staff", ["2", "3"])
    staff = cookie_session(api, "staff2").get("/counter").text
    assert 'data-counter="2"' in staff and 'data-counter="3"' in staff and 'data-counter="1"' not in staff
    admin = cookie_session(api, "admin").get("/counter").text
    assert all(f'data-counter="{c}"' in admin for c in "1234")


def test_an_expired_session_is_sent_back_to_the_login_page(
    server: ServerProcess, api: Api, redis_client: redis.Redis
) -> None:
    """A session cookie past its expiry opens no page, no API call and no websocket."""
    api.user("staff1", "staff", ["1"])
    signer = TokenSigner(keyring.read(server.secret_key_file).signing_key)
    expired = signer.issue(Identity("staff1", Role.STAFF, "main", frozenset({"1"}), time.time() - 1, "old-session"))
    client = httpx.Client(base_url=api.url, cookies={"nextup_session": expired})
    assert client.get("/counter").headers["location"] == "/login?next=/counter"
    refused = client.get("/api/session")
    assert refused.status_code == 401 and "expired" in refused.json()["error"]["message"]
    url = f"ws://127.0.0.1:{server.port}/ws/branches/main/staff?counter=1"
    headers = {"Origin": server.url, "Cookie": f"nextup_session={expired}"}
    with connect(url, additional_headers=headers) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
