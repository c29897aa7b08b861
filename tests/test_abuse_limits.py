"""Abuse limits against a real ``nextup serve``: login throttling, proxy trust, socket caps, kiosk issues.

The servers here trust 127.0.0.1 as a proxy (NEXTUP_TRUSTED_PROXIES) where a test needs clients
at several addresses: each request then comes from the address its X-Forwarded-For names.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server import keys
from server.events import CloseCode
from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD, ServerProcess

pytestmark = pytest.mark.redis


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


def login(api: Api, password: str, address: str | None = None, username: str = "admin") -> httpx.Response:
    headers = from_address(address) if address else {}
    return api.http.post("/api/login", json={"username": username, "password": password}, headers=headers)


def fail_until_throttled(api: Api, address: str | None, username: str = "admin") -> int:
    """Wrong passwords from ``address`` until it is refused (429); how many were checked (401)."""
    for checked in range(keys.LOGIN_FREE_FAILURES_PER_ACCOUNT + 1):
        response = login(api, "not-the-password", address, username)
        if response.status_code == 429:
            return checked
        assert response.status_code == 401, response.text
    raise AssertionError("never throttled")


@pytest.fixture
def proxied(start_server: Callable[..., ServerProcess], monkeypatch: pytest.MonkeyPatch) -> ServerProcess:
    """A server behind a (trusted) proxy on 127.0.0.1, with small socket and kiosk limits."""
    monkeypatch.setenv("NEXTUP_TRUSTED_PROXIES", "127.0.0.1")
    monkeypatch.setenv("NEXTUP_MAX_SOCKETS_PER_ADDRESS", "3")
    monkeypatch.setenv("NEXTUP_KIOSK_TICKETS_PER_MINUTE", "3")
    return start_server()


@pytest.fixture
def proxied_api(proxied: ServerProcess) -> Iterator[Api]:
    client = Api(proxied.url)
    yield client
    client.close()


# ---- login ------------------------------------------------------------------------------------------


def test_failures_from_one_address_do_not_lock_the_admin_out(proxied_api: Api) -> None:
    """An attacker's wrong passwords throttle the attacker; the admin at another address logs in at once."""
    assert fail_until_throttled(proxied_api, "10.0.0.66") == keys.LOGIN_FREE_FAILURES_PER_ACCOUNT
    assert login(proxied_api, ADMIN_PASSWORD, "10.0.0.7").status_code == 200
    page = proxied_api.http.post(
        "/login", data={"username": "admin", "password": ADMIN_PASSWORD}, headers=from_address("10.0.0.8")
    )
    assert page.status_code == 303


def test_a_throttled_address_is_refused_before_its_password_is_checked(
    proxied_api: Api, redis_client: redis.Redis
) -> None:
    """While throttled, even the right password is 429 with Retry-After, and nothing more is counted."""
    fail_until_throttled(proxied_api, "10.0.0.66")
    counted = redis_client.get(keys.login_failures("admin"))
    for password in ("still-wrong", ADMIN_PASSWORD):
        refused = login(proxied_api, password, "10.0.0.66")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert int(refused.headers["Retry-After"]) >= 1
    assert redis_client.get(keys.login_failures("admin")) == counted


def test_the_login_page_says_when_to_try_again(proxied_api: Api) -> None:
    """The page form is throttled the same way and tells the user, in the page's language."""
    fail_until_throttled(proxied_api, "10.0.0.66")
    page = proxied_api.http.post(
        "/login?lang=zh", data={"username": "admin", "password": ADMIN_PASSWORD}, headers=from_address("10.0.0.66")
    )
    assert page.status_code == 429
    assert "秒后再试" in page.text and int(page.headers["Retry-After"]) >= 1


def test_many_addresses_guessing_one_account_leave_its_known_addresses_working(
    proxied_api: Api, redis_client: redis.Redis
) -> None:
    """Past the account's hourly failure limit only addresses that logged in to it before may try."""
    assert login(proxied_api, ADMIN_PASSWORD, "10.0.0.7").status_code == 200
    redis_client.set(keys.login_failures("admin"), keys.LOGIN_ACCOUNT_FAILURE_LIMIT, ex=600)
    refused = login(proxied_api, ADMIN_PASSWORD, "10.9.9.9")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 500
    assert login(proxied_api, ADMIN_PASSWORD, "10.0.0.7").status_code == 200


def audited_source(api: Api, forwarded_for: str) -> str:
    """The source the audit log records for a counter call sent with ``X-Forwarded-For``."""
    api.issue("A")
    headers = {**api.auth(api.admin()), **from_address(forwarded_for)}
    assert api.http.post("/api/branches/main/counters/1/call-next", headers=headers).status_code == 200
    entries = api.http.get("/api/branches/main/audit", headers=api.auth(api.admin())).json()["entries"]
    source: str = next(e["source"] for e in entries if e["action"] == "ticket_called")
    return source


def test_forwarded_for_is_ignored_from_an_untrusted_peer(api: Api) -> None:
    """Without trusted proxies the TCP peer is the client: a forged address is neither logged nor throttled."""
    assert audited_source(api, "10.0.0.7") == "127.0.0.1"
    fail_until_throttled(api, "10.0.0.66")
    assert login(api, ADMIN_PASSWORD, "10.0.0.7").status_code == 429


def test_forwarded_for_is_used_from_a_trusted_proxy(proxied_api: Api) -> None:
    """Behind a trusted proxy the client is the address the proxy forwarded for."""
    assert audited_source(proxied_api, "10.0.0.7") == "10.0.0.7"


# ---- websockets -------------------------------------------------------------------------------------


def phone_socket_url(server: ServerProcess, ticket: dict[str, Any]) -> str:
    return f"{server.url.replace('http', 'ws', 1)}/ws/tickets/{ticket['id']}"


async def close_code(socket: ClientConnection) -> int | None:
    """Read until the server closes the socket (within 10 s); its close code."""
    try:
        async with asyncio.timeout(10):
            while True:
                await socket.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def test_a_message_over_the_size_limit_closes_1009(server: ServerProcess, api: Api) -> None:
    """A 100 KiB message closes its socket with 1009 (message too big); the server serves on."""
    url = phone_socket_url(server, api.issue("A"))
    async with connect(url) as socket:
        await socket.recv()
        await socket.send("x" * 100 * 1024)
        assert await close_code(socket) == 1009
    async with connect(url) as socket:
        assert "ticket" in await socket.recv()
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{server.url}/healthz")).status_code == 200


async def test_sockets_beyond_the_cap_from_one_address_are_closed_1013(
    proxied: ServerProcess, proxied_api: Api
) -> None:
    """The (cap+1)th socket of an address is closed with 1013; other addresses still connect."""
    url = phone_socket_url(proxied, proxied_api.issue("A"))
    held = [await connect(url, additional_headers=from_address("10.0.0.66")) for _ in range(3)]
    try:
        for socket in held:
            assert "ticket" in await socket.recv()
        async with connect(url, additional_headers=from_address("10.0.0.66")) as extra:
            assert await close_code(extra) == CloseCode.TRY_AGAIN_LATER
        async with connect(url, additional_headers=from_address("10.0.0.7")) as other:
            assert "ticket" in await other.recv()
        await held.pop().close()
        assert await reconnects(url, from_address("10.0.0.66"))
    finally:
        for socket in held:
            await socket.close()


async def reconnects(url: str, headers: dict[str, str], deadline_s: float = 10.0) -> bool:
    """Whether a socket opens (gets its first message) before the deadline; the server frees a
    closed socket's place when its handler has ended, a moment after the client saw the close."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while loop.time() < deadline:
        async with connect(url, additional_headers=headers) as socket:
            try:
                return "ticket" in await socket.recv()
            except ConnectionClosed:
                pass
    return False


# ---- the kiosk rate limit over HTTP -----------------------------------------------------------------


def issue_as(api: Api, token: str, key: str | None = None) -> httpx.Response:
    headers = {**api.auth(token), "Idempotency-Key": key or str(uuid.uuid4())}
    return api.http.post("/api/branches/main/tickets", json={"service": "A"}, headers=headers)


def test_a_kiosk_token_over_http_is_rate_limited(proxied_api: Api) -> None:
    """A kiosk account gets the configured number of tickets a minute over HTTP; a repeat is not counted."""
    token = proxied_api.user("kiosk1", "kiosk")
    issued = [issue_as(proxied_api, token, f"k-{n}") for n in range(3)]
    assert [r.status_code for r in issued] == [201, 201, 201]
    repeat = issue_as(proxied_api, token, "k-0")
    assert repeat.status_code == 201 and repeat.json()["id"] == issued[0].json()["id"]
    refused = issue_as(proxied_api, token)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "rate_limited" and "频繁" in error["message_zh"] and "minute" in error["message"]
    assert int(refused.headers["Retry-After"]) >= 1
    assert issue_as(proxied_api, proxied_api.admin()).status_code == 201  # people are not limited


async def test_the_kiosk_socket_and_http_share_one_window(proxied: ServerProcess, proxied_api: Api) -> None:
    """Tickets issued over HTTP count against the kiosk's socket, and the other way round."""
    token = proxied_api.user("kiosk1", "kiosk")
    assert issue_as(proxied_api, token).status_code == 201
    url = f"{proxied.url.replace('http', 'ws', 1)}/ws/branches/main/kiosk?token={token}"
    answers = []
    async with connect(url) as socket:
        for _ in range(3):
            request_id = str(uuid.uuid4())
            await socket.send(json.dumps({"type": "issue", "request_id": request_id, "service": "A"}))
            while (answer := json.loads(await socket.recv())).get("request_id") != request_id:
                pass
            answers.append(answer)
    assert [a["type"] for a in answers] == ["issued", "issued", "refused"]
    assert answers[2]["error"]["code"] == "rate_limited"
    assert issue_as(proxied_api, token).status_code == 429
