"""Security holes of screens and odd credentials (issue #10): what screens are given, odd tokens,
odd socket messages, and who may scrape ``/metrics``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis

#: A token that is not ASCII: "é" percent-encoded in a URL.
NON_ASCII_TOKEN = "nxt1.a.%C3%A9"
#: A ping nested deeper than the parser follows (1,500 levels; under the kiosk's 4,096-character cap).
DEEP_JSON = '{"type":"ping","x":' + "[" * 1500 + "]" * 1500 + "}"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _called_world(api: Api) -> list[str]:
    """Tickets in every place a state can show one: waiting, called at a counter, in recent calls."""
    ids = [api.issue("A")["id"] for _ in range(3)]
    assert api.counter("1", "call-next").status_code == 200
    assert api.counter("2", "call-next").status_code == 200
    assert api.counter("2", "finish").status_code == 200
    return ids


@pytest.mark.parametrize("role", ["display", "kiosk"])
def test_a_screen_token_reads_the_state_without_ticket_ids(api: Api, role: str) -> None:
    """Hole 10: a ticket id is the holder's key to the phone page; screens get numbers only."""
    ids = _called_world(api)
    token = api.user(f"screen-{role}", role)
    response = api.http.get("/api/branches/main/state", headers=api.auth(token))
    assert response.status_code == 200, response.text
    state = response.json()
    shown = set(_strings(state))
    assert not shown & set(ids), f"a {role} saw ticket ids"
    # Still the same screen: the called tickets and recent calls are there, by number.
    assert any(c["current"] and c["current"]["number"] for c in state["counters"])
    assert state["recent_calls"] and all("number" in call for call in state["recent_calls"])
    # Staff at the counters still see ids (they act on tickets): the filter is by role.
    full = set(_strings(api.state()))
    assert full & set(ids)


def test_a_non_ascii_token_on_the_display_page_is_a_plain_401(server: ServerProcess, api: Api) -> None:
    """Hole 12: the page said 500 with a traceback; it must refuse the token in words."""
    response = api.http.get(f"/display/main?token={NON_ASCII_TOKEN}")
    assert response.status_code == 401
    assert "Traceback" not in response.text and "这台显示屏需要重新配对" in response.text
    assert "Traceback" not in server.output()


@pytest.mark.parametrize("path", ["/ws/branches/main/display?token={t}", "/ws/branches/main/kiosk?token={t}"])
def test_a_non_ascii_token_closes_a_socket_with_4401(server: ServerProcess, path: str) -> None:
    """Hole 12: sockets closed abnormally (1011/1006) on such a token; now 4401 in words."""
    url = f"ws://127.0.0.1:{server.port}" + path.format(t=NON_ASCII_TOKEN)
    with connect(url, open_timeout=5, additional_headers={"Origin": server.url}) as ws, pytest.raises(
        ConnectionClosed
    ) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert "Traceback" not in server.output()


def _still_answers_pings(ws: ClientConnection) -> bool:
    ws.send('{"type":"ping"}')
    for _ in range(20):
        message = json.loads(ws.recv(timeout=5))
        if message.get("type") == "pong":
            return True
    return False


def test_deeply_nested_json_does_not_drop_the_display_socket(server: ServerProcess, api: Api) -> None:
    """Minor hole: a deeply nested message dropped the socket without a close code."""
    token = api.user("tv-deep", "display")
    with connect(f"ws://127.0.0.1:{server.port}/ws/branches/main/display?token={token}", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "snapshot"
        ws.send(DEEP_JSON)
        assert _still_answers_pings(ws)
    assert "Traceback" not in server.output()


def test_deeply_nested_json_gets_the_kiosk_an_error_message(server: ServerProcess, api: Api) -> None:
    token = api.user("kiosk-deep", "kiosk")
    with connect(f"ws://127.0.0.1:{server.port}/ws/branches/main/kiosk?token={token}", open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "services"
        ws.send(DEEP_JSON)
        replies = [json.loads(ws.recv(timeout=5)) for _ in range(1)]
        error = next(m for m in replies if m["type"] == "error")
        assert error["error"]["code"] == "malformed" and error["error"]["message_zh"]
        assert _still_answers_pings(ws)
    assert "Traceback" not in server.output()


def test_deeply_nested_json_does_not_drop_the_phone_socket(server: ServerProcess, api: Api) -> None:
    ticket = api.issue("A")
    with connect(f"ws://127.0.0.1:{server.port}/ws/tickets/{ticket['id']}", open_timeout=5) as ws:
        json.loads(ws.recv(timeout=5))
        ws.send(DEEP_JSON)
        assert _still_answers_pings(ws)
    assert "Traceback" not in server.output()


def test_metrics_needs_a_manager_or_the_scrape_token(
    start_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Minor hole: /metrics answered anyone. Now a manager's or admin's token, or the scrape token."""
    token_file = tmp_path / "scrape-token"
    token_file.write_text("scrape-" + "x" * 30 + "\n")
    os.chmod(token_file, 0o600)
    monkeypatch.setenv("NEXTUP_METRICS_TOKEN_FILE", str(token_file))
    server = start_server()
    api = Api(server.url)
    try:
        assert api.http.get("/metrics").status_code == 401
        assert api.http.get("/metrics", headers=api.auth("scrape-wrong")).status_code == 401
        staff = api.user("staff-m", "staff", ["1"])
        assert api.http.get("/metrics", headers=api.auth(staff)).status_code == 403
        manager = api.user("manager-m", "manager")
        for token in (manager, api.admin(), "scrape-" + "x" * 30):
            response = api.http.get("/metrics", headers=api.auth(token))
            assert response.status_code == 200 and "nextup_queue_length" in response.text
    finally:
        api.close()


def test_a_shared_scrape_token_file_stops_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A secret file other users can read is refused at start, naming the fix."""
    from server.errors import ConfigError
    from server.settings import load_settings

    token_file = tmp_path / "scrape-token"
    token_file.write_text("y" * 32)
    os.chmod(token_file, 0o644)
    with pytest.raises(ConfigError) as refused:
        load_settings(tmp_path, {"NEXTUP_METRICS_TOKEN_FILE": str(token_file)})
    assert f"chmod 600 {token_file}" in str(refused.value)
