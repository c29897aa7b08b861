"""The server's kiosk websocket against a real ``nextup serve``: services, issuing, limits, health."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from websockets.exceptions import ConnectionClosed

from server.metrics import estimate
from tests.conftest import Api
from tests.kiosk.conftest import Message, branch_file, device, kiosk_socket_url, socket, wait_until
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis


def issue_message(service: str = "A", priority: bool = False, request_id: str | None = None) -> Message:
    return {"type": "issue", "request_id": request_id or str(uuid.uuid4()), "service": service, "priority": priority}


def answer_to(request: Message) -> Callable[[Message], bool]:
    return lambda m: m["type"] in ("issued", "refused", "error") and m.get("request_id") == request["request_id"]


async def test_first_message_lists_services_with_queue_and_wait(server: ServerProcess, api: Api) -> None:
    """The first message is the services snapshot: names, waiting counts, the wait a new ticket faces."""
    token = api.user("kiosk1", "kiosk")
    for _ in range(3):
        api.issue("A")
    async with socket(kiosk_socket_url(server, token)) as kiosk:
        first = await kiosk.until(lambda m: True)
    assert first["type"] == "services"
    assert first["allow_priority"] is True
    assert first["branch"]["id"] == "main" and first["branch"]["name_zh"] == "演示网点"
    assert {c["id"]: c["services"] for c in first["branch"]["counters"]}["3"] == ["B", "A"]
    services = {s["id"]: s for s in first["services"]}
    assert list(services) == ["A", "B", "C"]
    # Three waiting for A, three open counters serve A: a new ticket waits for the first of them to
    # finish, one expected call (300 s handling, or a short no-show at the prior rate) from now. The
    # model counts down between its snapshots, by a second or two.
    step = estimate.per_call_s(estimate.Handling(300), estimate.PRIOR_NO_SHOW_RATE, estimate.DEFAULT_NO_SHOW_S)
    assert round(step) - 5 <= services["A"].pop("estimated_wait_s") <= round(step)
    assert services["A"] == {
        "id": "A", "prefix": "A", "name_zh": "个人业务", "name_en": "Personal services", "waiting": 3,
        "issuing": True, "refusal": None,
    }  # fmt: skip
    assert services["B"]["waiting"] == 0 and services["B"]["estimated_wait_s"] == 0


async def test_issue_returns_the_ticket_and_a_repeat_returns_the_same_one(server: ServerProcess, api: Api) -> None:
    """A request id is an idempotency key: sending it twice makes one ticket. Bad requests are refused."""
    token = api.user("kiosk1", "kiosk")
    request = issue_message("B")
    unknown = issue_message("Z")
    async with socket(kiosk_socket_url(server, token)) as kiosk:
        await kiosk.send(request)
        first = await kiosk.until(answer_to(request))
        await kiosk.send(request)
        again = await kiosk.until(answer_to(request))
        await kiosk.send(unknown)
        refused = await kiosk.until(answer_to(unknown))
    assert refused["type"] == "refused"
    assert refused["error"]["code"] == "invalid_field" and refused["error"]["message_zh"] == "没有这项业务。"
    assert first["type"] == "issued"
    assert first["ticket"]["number"] == "B001" and first["ticket"]["status"] == "waiting"
    assert again["type"] == "issued" and again["ticket"]["id"] == first["ticket"]["id"]
    assert {s["id"]: s["waiting"] for s in api.state()["services"]}["B"] == 1


async def test_queue_changes_reach_the_kiosk_coalesced(server: ServerProcess, api: Api) -> None:
    """Tickets issued elsewhere update the kiosk's counts, a burst in a message or two, not one each."""
    token = api.user("kiosk1", "kiosk")
    async with socket(kiosk_socket_url(server, token)) as kiosk:
        await kiosk.until(lambda m: m["type"] == "services")
        for _ in range(10):
            api.issue("C")
        last = await kiosk.until(
            lambda m: m["type"] == "services" and {s["id"]: s["waiting"] for s in m["services"]}["C"] == 10
        )
        later = await kiosk.collect(0.8)
    assert last["type"] == "services"
    updates = [m for m in later if m["type"] == "services"]
    assert updates == []  # nothing changed since: nothing more is sent


async def test_rate_limit_refuses_the_extra_tickets_but_not_a_repeat(
    start_server: Callable[..., ServerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most N tickets per minute per kiosk; a repeated request id still gets its ticket."""
    monkeypatch.setenv("NEXTUP_KIOSK_TICKETS_PER_MINUTE", "2")
    server = start_server()
    api = Api(server.url)
    token = api.user("kiosk1", "kiosk")
    requests = [issue_message("A") for _ in range(3)]
    async with socket(kiosk_socket_url(server, token)) as kiosk:
        answers = []
        for request in requests:
            await kiosk.send(request)
            answers.append(await kiosk.until(answer_to(request)))
        await kiosk.send(requests[0])
        repeat = await kiosk.until(answer_to(requests[0]))
    api.close()
    assert [a["type"] for a in answers] == ["issued", "issued", "refused"]
    assert answers[2]["error"]["code"] == "rate_limited"
    assert "频繁" in answers[2]["error"]["message_zh"] and "minute" in answers[2]["error"]["message"]
    assert repeat["type"] == "issued" and repeat["ticket"]["id"] == answers[0]["ticket"]["id"]


async def test_daily_cap_shows_in_services_and_refuses_the_issue(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Once a service's cap is reached the kiosk is told why, before and when it asks."""
    server = start_server(branch_file(tmp_path, "capped", cap=1))
    api = Api(server.url)
    token = api.user("kiosk1", "kiosk")
    async with socket(kiosk_socket_url(server, token)) as kiosk:
        first = await kiosk.until(lambda m: m["type"] == "services")
        assert first["services"][0]["issuing"] is True
        api.issue("A")
        capped = await kiosk.until(lambda m: m["type"] == "services" and not m["services"][0]["issuing"])
        request = issue_message("A")
        await kiosk.send(request)
        answer = await kiosk.until(answer_to(request))
    api.close()
    refusal = capped["services"][0]["refusal"]
    assert refusal["code"] == "daily_cap_reached" and "今日号票已取完" in refusal["message_zh"]
    assert answer["type"] == "refused" and answer["error"] == refusal


async def test_closed_branch_shows_the_refusal(start_server: Callable[..., ServerProcess], tmp_path: Path) -> None:
    """On a closed day every service says the branch is closed, in Chinese and English."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    config = branch_file(tmp_path, "closed")
    config.write_text(config.read_text(encoding="utf-8") + f'\n[hours]\nclosed_dates = ["{today}"]\n'
                      + "".join(f'{d} = "00:00-24:00"\n' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
                      encoding="utf-8")  # fmt: skip
    server = start_server(config)
    api = Api(server.url)
    token = api.user("kiosk1", "kiosk")
    async with socket(kiosk_socket_url(server, token)) as kiosk:
        first = await kiosk.until(lambda m: m["type"] == "services")
    api.close()
    assert first["allow_priority"] is True
    [service] = first["services"]
    assert service["issuing"] is False
    assert service["refusal"] == {"code": "closed", "message": "The branch is closed today.",
                                  "message_zh": "本网点今日不营业。"}  # fmt: skip


async def test_health_heartbeat_is_shown_by_the_devices_endpoint(server: ServerProcess, api: Api) -> None:
    """A kiosk's printer status reaches GET /devices (managers, admins); after it disconnects it shows offline."""
    token = api.user("kiosk1", "kiosk")
    printer = {"online": True, "paper_out": True, "paper_near_end": True, "cover_open": False,
               "error": "printer tcp://10.0.0.9:9100 is out of paper"}  # fmt: skip
    async with socket(kiosk_socket_url(server, token)) as kiosk:
        await kiosk.until(lambda m: m["type"] == "services")
        await kiosk.send({"type": "health", "printer": printer})
        record = wait_until(lambda: device(api, "kiosk1"))
    assert record["status"] == "printer_unavailable" and record["online"] is True
    assert record["printer"] == {**printer, "available": False}
    assert record["role"] == "kiosk" and record["address"] == "127.0.0.1"
    gone = wait_until(lambda: (d := device(api, "kiosk1")) and d["status"] == "offline" and d)
    assert gone["connected"] is False
    # The report is for managers and admins only.
    url = "/api/branches/main/devices"
    assert api.http.get(url).status_code == 401
    for username, role in (("kiosk1", "kiosk"), ("clerk", "staff")):
        assert api.http.get(url, headers=api.auth(api.user(username, role))).status_code == 403
    response = api.http.get(url, headers=api.auth(api.user("boss", "manager")))
    assert response.status_code == 200 and [d["device"] for d in response.json()["devices"]] == ["kiosk1"]


async def test_refused_connections_get_a_close_code(server: ServerProcess, api: Api) -> None:
    """Only kiosk (and admin) tokens of the branch may issue; others are told why by the close code."""
    cases = [(api.user("tv1", "display"), "main", 4403), ("nxt1.e30.c2lnbmF0dXJl", "main", 4401),
             (api.user("kiosk1", "kiosk"), "elsewhere", 4404)]  # fmt: skip
    codes = []
    for token, branch, _ in cases:
        async with socket(kiosk_socket_url(server, token, branch)) as kiosk:
            with pytest.raises(ConnectionClosed) as closed:
                await kiosk.until(lambda m: True)
        codes.append(closed.value.rcvd.code if closed.value.rcvd else None)
    assert codes == [code for _, _, code in cases]
