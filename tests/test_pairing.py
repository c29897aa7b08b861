"""Pairing a display or kiosk: the device asks, an admin of its branch approves, the device claims once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from server import keys
from tests.conftest import Api
from tests.display.conftest import north_config  # noqa: F401  (fixture)
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis


def ask(api: Api, kind: str = "display", branch: str = "main") -> dict[str, Any]:
    response = api.http.post("/api/pairing", json={"kind": kind, "branch": branch})
    assert response.status_code == 201, response.text
    asked: dict[str, Any] = response.json()
    return asked


def approve(api: Api, code: str, name: str, token: str | None = None, branch: str = "main") -> httpx.Response:
    return api.http.post(
        f"/api/branches/{branch}/pairing", json={"code": code, "name": name}, headers=api.auth(token or api.admin())
    )


def claim(api: Api, secret: str) -> httpx.Response:
    return api.http.post("/api/pairing/claim", json={"claim": secret})


def test_a_display_is_paired_once_and_its_token_works(api: Api, redis_client: redis.Redis) -> None:
    """Waiting until approved, then one claim returns a working display token and sets the device cookie."""
    asked = ask(api)
    assert len(asked["code"]) == 6 and asked["code"].isdigit() and asked["expires_in"] == 600
    assert claim(api, asked["claim"]).status_code == 202

    approved = approve(api, asked["code"], "hall-tv-1")
    assert approved.status_code == 201, approved.text
    assert approved.json() == {"name": "hall-tv-1", "role": "display", "branch": "main", "created": True}

    claimed = claim(api, asked["claim"])
    assert claimed.status_code == 200, claimed.text
    body = claimed.json()
    assert (body["name"], body["role"], body["branch"]) == ("hall-tv-1", "display", "main")
    cookie = claimed.headers["set-cookie"]
    assert cookie.startswith(f"nextup_device={body['token']};")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    state = api.http.get("/api/branches/main/state", headers=api.auth(body["token"]))
    assert state.status_code == 200
    page = httpx.get(f"{api.url}/display/main", cookies={"nextup_device": body["token"]})
    assert page.status_code == 200 and "display.js" in page.text

    assert claim(api, asked["claim"]).status_code == 404
    users = {u["username"]: u for u in api.http.get("/api/users", headers=api.auth(api.admin())).json()["users"]}
    assert users["hall-tv-1"]["role"] == "display" and users["hall-tv-1"]["branch"] == "main"
    audit = api.http.get("/api/branches/main/audit", headers=api.auth(api.admin())).json()
    assert any(e["action"] == "device_paired" for e in audit["entries"])


def test_a_kiosk_claim_carries_no_cookie_and_opens_the_kiosk_socket_role(api: Api) -> None:
    """A kiosk's claim returns a kiosk token in the body only."""
    asked = ask(api, "kiosk")
    assert approve(api, asked["code"], "kiosk-hall-2").status_code == 201
    claimed = claim(api, asked["claim"])
    assert claimed.status_code == 200 and claimed.json()["role"] == "kiosk"
    assert "set-cookie" not in claimed.headers


def test_redis_never_holds_a_token(api: Api, redis_client: redis.Redis) -> None:
    """Neither the pending nor the approved request, nor anything else in Redis, holds a token."""
    asked = ask(api)
    assert approve(api, asked["code"], "hall-tv-3").status_code == 201
    claimed = claim(api, asked["claim"])
    assert claimed.status_code == 200
    for key in redis_client.scan_iter("*"):
        assert "nxt1." not in key
        if redis_client.type(key) == "string":
            assert "nxt1." not in str(redis_client.get(key)), key
            assert asked["claim"] not in str(redis_client.get(key)), key


def test_a_wrong_or_claimed_code_is_404_with_a_clear_message(api: Api) -> None:
    """Unknown codes are 404 and say where to look; an approved code cannot be approved again."""
    response = approve(api, "000000" if ask(api)["code"] != "000000" else "000001", "hall-tv-4")
    assert response.status_code == 404
    assert "check the code on the device's screen" in response.json()["error"]["message"]
    asked = ask(api)
    assert approve(api, asked["code"], "hall-tv-4").status_code == 201
    again = approve(api, asked["code"], "hall-tv-5")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_approved"
    assert claim(api, "no-such-claim").status_code == 404


def test_an_expired_request_is_gone(api: Api, redis_client: redis.Redis) -> None:
    """Once its time is up (here: its keys expire) the code is unknown and the claim 404."""
    asked = ask(api)
    for key in redis_client.scan_iter(f"{keys.ROOT}:{{pairing}}:*"):
        if key.split(":")[-2] != "asks":
            redis_client.delete(key)
    assert approve(api, asked["code"], "hall-tv-6").status_code == 404
    assert claim(api, asked["claim"]).status_code == 404


def test_only_an_admin_of_the_branch_approves(
    api: Api, start_server: Callable[..., ServerProcess], north_config: Path  # noqa: F811
) -> None:
    """Anonymous is 401, a manager or display 403, another branch's admin 403, another branch's code 404."""
    asked = ask(api)
    anonymous = api.http.post("/api/branches/main/pairing", json={"code": asked["code"], "name": "x-tv"})
    assert anonymous.status_code == 401
    assert approve(api, asked["code"], "x-tv", api.user("boss", "manager")).status_code == 403
    assert approve(api, asked["code"], "x-tv", api.user("tv9", "display")).status_code == 403

    north = start_server(north_config)
    north_api = Api(north.url)
    try:
        north_admin = north_api.user("north-admin", "admin")
        assert approve(api, asked["code"], "x-tv", north_admin).status_code == 403
        north_code = ask(north_api, branch="north")["code"]
        assert approve(api, north_code, "x-tv").status_code == 404
    finally:
        north_api.close()


def test_a_name_of_another_kind_of_account_is_409(api: Api) -> None:
    """Pairing may not turn a person's account into a device."""
    asked = ask(api)
    response = approve(api, asked["code"], "admin")
    assert response.status_code == 409 and response.json()["error"]["code"] == "exists"


def test_asking_too_often_from_one_address_is_429(api: Api) -> None:
    """The anonymous endpoint takes at most 10 requests a minute from one address."""
    statuses = [api.http.post("/api/pairing", json={"kind": "kiosk", "branch": "main"}).status_code for _ in range(11)]
    assert statuses[:10] == [201] * 10 and statuses[10] == 429


def test_the_demo_kiosk_is_a_real_account_that_can_be_disabled(api: Api, redis_client: redis.Redis) -> None:
    """demo-kiosk is listed, disabling it is 200, and disabling ends its recorded session."""
    users = {u["username"]: u for u in api.http.get("/api/users", headers=api.auth(api.admin())).json()["users"]}
    assert users["demo-kiosk"]["role"] == "kiosk" and users["demo-kiosk"]["branch"] == "main"
    sessions = redis_client.zrange(keys.user_sessions("demo-kiosk"), 0, -1)
    assert sessions, "the demo kiosk's token was not recorded as a session"
    response = api.http.patch("/api/users/demo-kiosk", json={"disabled": True}, headers=api.auth(api.admin()))
    assert response.status_code == 200, response.text
    revoked = set(redis_client.zrange(keys.revoked_sessions(), 0, -1))
    assert set(sessions) <= revoked
