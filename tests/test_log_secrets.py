"""No login token and no password in the server's log, whatever flow carried them."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from websockets.sync.client import connect

from server.log_redaction import REDACTED, redact
from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD, ServerProcess

pytestmark = pytest.mark.redis


def test_redact_hides_query_tokens_and_token_shapes() -> None:
    """Both a ``token=`` query value and a bare ``nxt1.`` token become ``[redacted]``."""
    line = 'GET /display/main?counters=1&token=abc.def-ghi&lang=zh "WebSocket /ws?token=x" nxt1.eyJz_-.c2ln-_'
    cleaned = redact(line)
    assert "abc.def" not in cleaned and "nxt1." not in cleaned
    assert cleaned.count(REDACTED) == 3
    assert "counters=1" in cleaned and "lang=zh" in cleaned


@pytest.fixture
def chatty_server(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[ServerProcess]:
    """The demo server logging at INFO, as it runs by default."""
    server = ServerProcess(tmp_path / "server", redis_url, log_level="info").start()
    yield server
    server.stop()


def _receive_json(ws: object, accept: str, within_s: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + within_s
    while True:
        message: dict[str, object] = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))  # type: ignore[attr-defined]
        if message.get("type") == accept:
            return message


def _wait_for(predicate: object, within_s: float = 15.0) -> None:
    deadline = time.monotonic() + within_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.1)


def test_no_token_or_password_reaches_the_log(chatty_server: ServerProcess) -> None:
    """Every flow that carries a token runs once; the whole log then holds no token and no password."""
    server = chatty_server
    api = Api(server.url)
    ws_base = f"ws://127.0.0.1:{server.port}"
    try:
        admin = api.admin()
        display = api.user("tv1", "display")
        kiosk = api.user("kiosk1", "kiosk")
        staff = api.user("li", "staff", ["1"])
        ticket = api.issue("A")
        assert api.counter("1", "call-next").status_code == 200

        # Display page and sockets with the token in the query: the documented public contract.
        assert httpx.get(f"{server.url}/display/main?token={display}").status_code == 200
        with connect(f"{ws_base}/ws/branches/main/display?token={display}", open_timeout=5) as ws:
            _receive_json(ws, "snapshot")
        with connect(f"{ws_base}/ws/branches/main/kiosk?token={kiosk}", open_timeout=5) as ws:
            _receive_json(ws, "services")
        # Header and cookie credentials.
        with connect(f"{ws_base}/ws/branches/main/kiosk", additional_headers=api.auth(kiosk), open_timeout=5) as ws:
            _receive_json(ws, "services")
        cookie = {"Cookie": f"nextup_device={display}"}
        with connect(f"{ws_base}/ws/branches/main/display", additional_headers=cookie, open_timeout=5) as ws:
            _receive_json(ws, "snapshot")
        staff_headers = {"Origin": server.url, "Cookie": f"nextup_session={staff}"}
        with connect(f"{ws_base}/ws/branches/main/staff?counter=1", additional_headers=staff_headers,
                     open_timeout=5) as ws:  # fmt: skip
            ws.recv(timeout=10)

        # The customer's phone.
        assert httpx.get(f"{server.url}/t/{ticket['id']}").status_code == 200
        with connect(f"{ws_base}/ws/tickets/{ticket['id']}", open_timeout=5) as ws:
            ws.recv(timeout=10)

        # The demo kiosk: its page starts it, and it connects with its own token.
        assert httpx.get(f"{server.url}/kiosk/main/").status_code == 200

        def demo_kiosk_online() -> bool:
            report = api.http.get("/api/branches/main/devices", headers=api.auth(admin)).json()
            return any(d.get("device") == "demo-kiosk" and d.get("connected") for d in report.get("devices", []))

        _wait_for(demo_kiosk_online)

        # A device paired by an admin.
        asked = api.http.post("/api/pairing", json={"kind": "display", "branch": "main"})
        assert asked.status_code == 201, asked.text
        approved = api.http.post(
            "/api/branches/main/pairing", json={"code": asked.json()["code"], "name": "hall-tv-2"},
            headers=api.auth(admin),
        )  # fmt: skip
        assert approved.status_code == 201, approved.text
        claimed = api.http.post("/api/pairing/claim", json={"claim": asked.json()["claim"]})
        assert claimed.status_code == 200 and claimed.json()["token"].startswith("nxt1.")

        assert api.http.post("/api/logout", headers=api.auth(staff)).status_code in (200, 204)
    finally:
        api.close()
    server.stop()

    log = server.output()
    assert "WebSocket /ws/branches/main/display" in log, "the flows were not logged at INFO"
    assert f"token={REDACTED}" in log
    assert "nxt1." not in log
    assert ADMIN_PASSWORD not in log
