"""Every token is checked against its account as it is now, over HTTP and on open sockets."""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from server import keyring, keys
from server.auth import Identity, Role, TokenSigner
from server.events import CloseCode
from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis

#: Longest wait for a socket to be closed after its account changed: a heartbeat and some slack.
CLOSE_DEADLINE_S = 7.0


def forge(server: ServerProcess, username: str, role: Role, branch: str = "main") -> str:
    """A validly signed token that no login issued (as someone holding the signing key could make)."""
    signer = TokenSigner(keyring.read(server.secret_key_file).signing_key)
    identity = Identity(username, role, branch, frozenset(), time.time() + 3600, secrets.token_urlsafe(12))
    return signer.issue(identity)


def disable(api: Api, username: str) -> None:
    response = api.http.patch(f"/api/users/{username}", json={"disabled": True}, headers=api.auth(api.admin()))
    assert response.status_code == 200, response.text


@contextmanager
def socket(server: ServerProcess, kind: str, token: str) -> Iterator[ClientConnection]:
    url = f"ws://127.0.0.1:{server.port}/ws/branches/main/{kind}?token={token}"
    with connect(url, open_timeout=5) as ws:
        yield ws


def close_code(ws: ClientConnection, within_s: float = CLOSE_DEADLINE_S) -> tuple[int, list[dict[str, Any]]]:
    """Read until the server closes the socket; its close code and the messages before it (pings answered)."""
    deadline = time.monotonic() + within_s
    seen: list[dict[str, Any]] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"the socket was still open after {within_s} s")
        try:
            message = json.loads(ws.recv(timeout=remaining))
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, "closed without a close frame"
            return closed.rcvd.code, seen
        if message["type"] == "ping":
            ws.send('{"type":"pong"}')
        else:
            seen.append(message)


def first_message(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        if message["type"] == kind:
            return message


def waiting(api: Api) -> int:
    return sum(s["waiting"] for s in api.state()["services"])


@pytest.mark.parametrize("request_", [("GET", None), ("POST", {"username": "x1", "password": "p" * 12,
                                                                "role": "admin", "branch": "*"})])
def test_a_signed_token_of_an_account_that_never_existed_is_refused(
    server: ServerProcess, api: Api, redis_client: redis.Redis, request_: tuple[str, dict[str, Any] | None]
) -> None:
    """A forged admin token for "ghost" is 401 on the accounts endpoints; no account is created."""
    method, body = request_
    token = forge(server, "ghost", Role.ADMIN, "*")
    response = api.http.request(method, "/api/users", json=body, headers=api.auth(token))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthorized"
    assert not redis_client.exists(keys.user("x1"))


def test_a_token_of_a_disabled_account_is_refused_even_if_its_session_was_never_ended(
    server: ServerProcess, api: Api, redis_client: redis.Redis
) -> None:
    """Disabling an account refuses every token of it, including one no logout or revocation knows."""
    api.user("boss", "manager")
    token = forge(server, "boss", Role.MANAGER)
    assert api.http.get("/api/branches/main/state", headers=api.auth(token)).status_code == 200
    disable(api, "boss")
    response = api.http.get("/api/branches/main/state", headers=api.auth(token))
    assert response.status_code == 401 and "disabled" in response.json()["error"]["message"]


@pytest.mark.parametrize(("role", "branch"), [(Role.ADMIN, "main"), (Role.MANAGER, "*"), (Role.MANAGER, "north")])
def test_a_token_whose_role_or_branch_is_not_the_accounts_is_refused(
    server: ServerProcess, api: Api, redis_client: redis.Redis, role: Role, branch: str
) -> None:
    """A token naming a role or branch the account does not have (e.g. from before it was re-created) is 401."""
    api.user("boss", "manager")
    token = forge(server, "boss", role, branch)
    response = api.http.get("/api/branches/main/state", headers=api.auth(token))
    assert response.status_code == 401, response.text


def test_disabling_a_kiosk_closes_its_socket_and_it_issues_nothing_more(server: ServerProcess, api: Api) -> None:
    """The kiosk's open socket refuses the next ticket and is closed with 4401 once its account is disabled."""
    token = api.user("kiosk1", "kiosk")
    with socket(server, "kiosk", token) as ws:
        first_message(ws, "services")
        ws.send(json.dumps({"type": "issue", "request_id": "before", "service": "A"}))
        assert first_message(ws, "issued")["request_id"] == "before"
        disable(api, "kiosk1")
        with contextlib.suppress(ConnectionClosed):  # closed already: nothing can be issued on it either
            ws.send(json.dumps({"type": "issue", "request_id": "after", "service": "A"}))
        code, seen = close_code(ws)
    assert code == CloseCode.UNAUTHORIZED
    assert not [m for m in seen if m["type"] == "issued"]
    assert waiting(api) == 1


@pytest.mark.parametrize("end", ["logout", "disable"])
def test_ending_a_displays_session_or_account_closes_its_socket(
    server: ServerProcess, api: Api, end: str
) -> None:
    """A display socket is closed with 4401 when its token is logged out or its account disabled; no more events."""
    token = api.user("tv1", "display")
    with socket(server, "display", token) as ws:
        first_message(ws, "snapshot")
        if end == "logout":
            assert api.http.post("/api/logout", headers=api.auth(token)).status_code == 204
        else:
            disable(api, "tv1")
        code, seen = close_code(ws)
        api.issue("A")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=1)
    assert code == CloseCode.UNAUTHORIZED
    assert seen == []


def test_a_disable_on_one_process_closes_a_socket_on_another(
    start_server: Callable[..., ServerProcess], redis_client: redis.Redis
) -> None:
    """Two processes on one Redis: disabling on the first closes the display socket held by the second."""
    first, second = start_server(), start_server()
    api = Api(first.url)
    try:
        token = api.user("tv1", "display")
        with socket(second, "display", token) as ws:
            first_message(ws, "snapshot")
            started = time.monotonic()
            disable(api, "tv1")
            code, _ = close_code(ws)
        assert code == CloseCode.UNAUTHORIZED
        # Through the channel, not only at the next heartbeat.
        assert time.monotonic() - started < 3.0
        other = Api(second.url)
        try:
            assert other.http.get("/api/branches/main/state", headers=other.auth(token)).status_code == 401
        finally:
            other.close()
    finally:
        api.close()


def test_a_new_account_is_seen_by_every_process_at_once(
    start_server: Callable[..., ServerProcess], redis_client: redis.Redis
) -> None:
    """A process that has seen a name as missing accepts it as soon as another process creates the account."""
    first, second = start_server(), start_server()
    api, other = Api(first.url), Api(second.url)
    try:
        early = forge(second, "late", Role.MANAGER)
        assert other.http.get("/api/branches/main/state", headers=other.auth(early)).status_code == 401
        token = api.user("late", "manager")
        deadline = time.monotonic() + 3
        status = 0
        while time.monotonic() < deadline and status != 200:
            status = other.http.get("/api/branches/main/state", headers=other.auth(token)).status_code
        assert status == 200
    finally:
        api.close()
        other.close()
