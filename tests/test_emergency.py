"""The branch's emergency state (应急预案) over the API and the sockets: a manager starts it, displays
get it live, kiosks and the API issue no ticket (in words), phones show it, the audit log keeps it;
ending it restores everything."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.conftest import Api
from tests.display.conftest import display
from tests.kiosk.conftest import kiosk_socket_url, socket
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis

EMERGENCY = "/api/branches/main/emergency"


def start(api: Api, token: str, **body: str) -> httpx.Response:
    return api.http.post(EMERGENCY, json=body, headers=api.auth(token))


def end(api: Api, token: str) -> httpx.Response:
    return api.http.delete(EMERGENCY, headers=api.auth(token))


async def test_an_emergency_reaches_every_screen_stops_tickets_and_ends(server: ServerProcess, api: Api) -> None:
    manager = api.user("boss", "manager")
    waiting = api.issue("A")
    async with display(server, api.user("tv1", "display")) as screen, \
            socket(kiosk_socket_url(server, api.user("kiosk1", "kiosk"))) as kiosk:  # fmt: skip
        assert (await screen.next())["type"] == "snapshot"
        first = await kiosk.until(lambda m: m["type"] == "services")
        assert first["emergency"] is None

        started = start(api, manager, kind="evacuation", text_zh="请从东门离开", text_en="Leave by the east door")
        assert started.status_code == 200, started.text
        emergency = started.json()["emergency"]
        assert {k: emergency[k] for k in ("kind", "text_zh", "text_en")} == {
            "kind": "evacuation", "text_zh": "请从东门离开", "text_en": "Leave by the east door"}  # fmt: skip

        # Displays get it live; a display connecting now gets it in its snapshot.
        event = (await screen.until(lambda m: m["type"] == "emergency_started"))[-1]
        assert event["emergency"]["kind"] == "evacuation" and event["emergency"]["text_en"] == "Leave by the east door"
        assert api.state()["emergency"]["kind"] == "evacuation"
        # The kiosk: every service stops issuing, and says why in both languages.
        services = await kiosk.until(lambda m: m["type"] == "services" and m["emergency"] is not None)
        assert services["emergency"]["kind"] == "evacuation"
        assert all(not s["issuing"] for s in services["services"])
        assert {s["refusal"]["message_zh"] for s in services["services"]} == {"紧急疏散中，暂停取号。"}
        request_id = str(uuid.uuid4())
        await kiosk.send({"type": "issue", "request_id": request_id, "service": "A", "priority": False})
        refused = await kiosk.until(lambda m: m.get("request_id") == request_id)
        assert refused["type"] == "refused" and refused["error"]["code"] == "emergency", refused
        # The API too, in words, naming the state.
        issue = api.http.post("/api/branches/main/tickets", json={"service": "B"}, headers=api.auth(api.admin()))
        assert issue.status_code == 409
        error = issue.json()["error"]
        assert error["code"] == "emergency" and error["state"] == "evacuation"
        assert error["message_zh"] == "紧急疏散中，暂停取号。" and "evacuated" in error["message"]
        # The phone page of a waiting customer shows it.
        phone = api.http.get(f"/api/branches/main/tickets/{waiting['id']}/updates")
        assert phone.status_code == 200 and phone.json()["emergency"]["kind"] == "evacuation"

        # A second start replaces the first (a fault found during the evacuation, say).
        assert start(api, manager, kind="system_fault").status_code == 200
        replaced = (await screen.until(lambda m: m["type"] == "emergency_started"))[-1]
        assert replaced["emergency"] == {**replaced["emergency"], "kind": "system_fault", "text_zh": "", "text_en": ""}

        ended = end(api, manager)
        assert ended.status_code == 200 and ended.json() == {"emergency": None}
        await screen.until(lambda m: m["type"] == "emergency_ended")
        after = await kiosk.until(lambda m: m["type"] == "services" and m["emergency"] is None)
        assert all(s["issuing"] for s in after["services"])
    assert api.state()["emergency"] is None
    assert api.issue("B")["number"] == "B001"
    again = end(api, manager)
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_state"

    # Audited: who, what, when.
    audit = api.http.get("/api/branches/main/audit", headers=api.auth(api.admin())).json()["entries"]
    mine = [(e["action"], e["details"].get("kind")) for e in audit if e["actor"] == "boss"]
    assert ("emergency_started", "evacuation") in mine and ("emergency_started", "system_fault") in mine
    assert ("emergency_ended", "system_fault") in mine


async def test_only_managers_and_admins_may_and_bad_input_changes_nothing(
    server: ServerProcess, api: Api
) -> None:
    staff = api.user("clerk", "staff", ["1"])
    assert start(api, staff, kind="closure").status_code == 403
    assert end(api, staff).status_code == 403
    assert api.http.post(EMERGENCY, json={"kind": "closure"}).status_code == 401
    manager = api.user("boss", "manager")
    for body, field in (({}, "kind"), ({"kind": "party"}, "kind"), ({"kind": "closure", "colour": "red"}, "colour"),
                        ({"kind": "closure", "text_zh": "长" * 301}, "text_zh")):  # fmt: skip
        refused = start(api, manager, **body)
        assert refused.status_code == 422 and refused.json()["error"]["field"] == field, refused.text
    assert api.state()["emergency"] is None
    assert api.issue("A")["number"] == "A001"
