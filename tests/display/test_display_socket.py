"""The display websocket against a real ``nextup serve``: snapshot, live events, resume, refusals."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from server import keys
from tests.conftest import Api
from tests.display.conftest import (
    call_next,
    display,
    finish,
    order,
    post_notice,
    socket_url,
    stream_ids,
)
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis


async def test_first_message_is_a_snapshot_at_the_latest_seq(
    server: ServerProcess, api: Api, display_token: str, redis_client: redis.Redis
) -> None:
    """The first message is the branch state and the seq of the last event it includes."""
    api.issue("A")
    api.issue("B")
    call_next(api, "1")
    async with display(server, display_token) as client:
        first = await client.next()
    assert first["type"] == "snapshot"
    assert first["seq"] == stream_ids(redis_client)[-1]
    state = first["state"]
    assert state["branch"] == "main" and state["name_zh"] == "演示网点" and state["name_en"] == "Demo branch"
    waiting = {s["id"]: s["waiting"] for s in state["services"]}
    assert waiting == {"A": 0, "B": 1, "C": 0}
    current = {c["id"]: c["current"] and c["current"]["number"] for c in state["counters"]}
    assert current == {"1": "A001", "2": None, "3": None, "4": None}
    assert [c["number"] for c in state["recent_calls"]] == ["A001"]


async def test_a_call_reaches_the_display_as_ticket_called(
    server: ServerProcess, api: Api, display_token: str
) -> None:
    """A call made through the API arrives as a ticket_called event with its seq and data."""
    api.issue("A")
    async with display(server, display_token) as client:
        snapshot = await client.next()
        ticket = call_next(api, "2")
        event = await client.next()
    assert event["type"] == "ticket_called"
    assert order(event["seq"]) > order(snapshot["seq"])
    assert event["ticket"]["number"] == ticket["number"] == "A001"
    assert event["counter"] == "2" and event["staff"] == "admin" and event["actor"] == "admin"
    assert event["branch"] == "main" and event["at"] and isinstance(event["ts"], int)


async def test_screens_never_receive_ticket_ids(server: ServerProcess, api: Api, display_token: str) -> None:
    """Ticket ids (the holder's key to cancel) are left out of snapshots and events."""
    ticket = api.issue("A")
    call_next(api, "1")
    async with display(server, display_token) as client:
        snapshot = await client.next()
        api.counter("1", "recall")
        recall = await client.next()
    assert ticket["id"] not in str(snapshot) and ticket["id"] not in str(recall)
    assert recall["type"] == "ticket_recalled" and recall["ticket"]["number"] == "A001"


async def test_resume_with_since_replays_exactly_the_missed_events_then_live_ones(
    server: ServerProcess, api: Api, display_token: str, redis_client: redis.Redis
) -> None:
    """Reconnecting with since gets every event after it, in order, then live events, no repeats."""
    for service in "AAAAAC":
        api.issue(service)
    async with display(server, display_token) as client:
        await client.next()
        first_call = call_next(api, "1")
        seen = await client.next()
    assert seen["ticket"]["number"] == first_call["number"]
    since = seen["seq"]

    called = [call_next(api, c)["number"] for c in ("2", "3", "4")]
    finish(api, "1")
    called.append(call_next(api, "1")["number"])
    finish(api, "2")
    called.append(call_next(api, "2")["number"])
    missed = [i for i in stream_ids(redis_client) if i > since]

    async with display(server, display_token, since=since) as client:
        backlog = await client.take(len(missed))
        assert [m["seq"] for m in backlog] == missed
        calls = [m["ticket"]["number"] for m in backlog if m["type"] == "ticket_called"]
        assert calls == called and len(calls) == 5
        api.issue("B")
        live = await client.next()
        assert live["type"] == "ticket_issued" and order(live["seq"]) > order(missed[-1])
        assert await client.nothing_within(0.3)


async def test_resume_while_events_keep_coming_loses_and_repeats_nothing(
    server: ServerProcess, api: Api, display_token: str, redis_client: redis.Redis
) -> None:
    """Reconnecting again and again during a stream of events yields each event exactly once."""
    stop = threading.Event()

    def keep_issuing() -> None:
        kiosk = Api(server.url)
        try:
            while not stop.is_set():
                kiosk.issue("A")
        finally:
            kiosk.close()

    async with display(server, display_token) as client:
        since = (await client.next())["seq"]
    received: list[str] = []
    issuer = threading.Thread(target=keep_issuing)
    issuer.start()
    try:
        for _ in range(8):
            async with display(server, display_token, since=since) as client:
                for message in await client.take(5):
                    assert message["type"] == "ticket_issued", message["type"]
                    received.append(message["seq"])
            since = received[-1]
    finally:
        stop.set()
        await asyncio.to_thread(issuer.join)
    stream = stream_ids(redis_client)
    start = stream.index(received[0])
    assert received == stream[start : start + len(received)]


async def test_since_no_longer_in_the_stream_gets_a_fresh_snapshot(
    server: ServerProcess, api: Api, display_token: str, redis_client: redis.Redis
) -> None:
    """When the stream was trimmed past since, the client gets a snapshot instead of a backlog."""
    api.issue("A")
    async with display(server, display_token) as client:
        since = (await client.next())["seq"]
    for _ in range(5):
        api.issue("C")
    redis_client.xtrim(keys.events("main"), maxlen=2, approximate=False)
    async with display(server, display_token, since=since) as client:
        message = await client.next()
    assert message["type"] == "snapshot"
    assert message["seq"] == stream_ids(redis_client)[-1]
    assert {s["id"]: s["waiting"] for s in message["state"]["services"]}["C"] == 5


async def test_a_backlog_too_long_to_replay_becomes_a_snapshot(
    server: ServerProcess, api: Api, display_token: str, redis_client: redis.Redis
) -> None:
    """A screen away for more than BACKLOG_LIMIT events gets a snapshot, not hours of calls."""
    api.issue("A")
    async with display(server, display_token) as client:
        since = (await client.next())["seq"]
    with redis_client.pipeline(transaction=False) as pipe:
        for n in range(1001):
            pipe.xadd(keys.events("main"), {"type": "notice_posted", "data": f'{{"text_zh":"{n}","text_en":""}}'})
        pipe.execute()
    async with display(server, display_token, since=since) as client:
        message = await client.next()
    assert message["type"] == "snapshot"


async def test_a_malformed_since_gets_a_snapshot(server: ServerProcess, display_token: str) -> None:
    """A since that is not a stream id is treated as no since."""
    async with display(server, display_token, since="yesterday") as client:
        assert (await client.next())["type"] == "snapshot"


async def test_two_processes_show_the_same_calls_in_the_same_order(
    start_server: Callable[..., ServerProcess], redis_client: redis.Redis
) -> None:
    """A display on one process sees, in order, the calls made through another process."""
    caller, shower = start_server(), start_server()
    api = Api(caller.url)
    try:
        token = Api(shower.url).user("tv1", "display")
        for service in "AAB":
            api.issue(service)
        async with display(shower, token) as client:
            await client.next()
            numbers = [call_next(api, c)["number"] for c in ("1", "2", "3")]
            events = await client.take(3)
    finally:
        api.close()
    assert [e["type"] for e in events] == ["ticket_called"] * 3
    assert [e["ticket"]["number"] for e in events] == numbers == ["A001", "A002", "B001"]
    assert [e["seq"] for e in events] == stream_ids(redis_client)[-3:]


async def test_a_display_only_receives_its_own_branch(
    start_server: Callable[..., ServerProcess], north_config: Path
) -> None:
    """Events of one branch never reach the screens of another branch on the same Redis."""
    main, north = start_server(), start_server(north_config)
    main_api, north_api = Api(main.url), Api(north.url)
    try:
        main_token = main_api.user("tv-main", "display")
        north_token = north_api.user("tv-north", "display")
        async with display(main, main_token) as main_screen, display(north, north_token, branch="north") as screen:
            await main_screen.next()
            assert (await screen.next())["state"]["branch"] == "north"
            main_api.issue("A")
            north_api.issue("A", branch="north")
            main_event, north_event = await main_screen.next(), await screen.next()
            assert main_event["branch"] == "main" and north_event["branch"] == "north"
            assert await main_screen.nothing_within(0.3) and await screen.nothing_within(0.3)
    finally:
        main_api.close()
        north_api.close()


async def test_server_pings_and_answers_pings(server: ServerProcess, display_token: str) -> None:
    """The server sends a ping every few seconds and answers a client's ping with a pong."""
    async with connect(socket_url(server, display_token)) as ws:
        assert '"snapshot"' in str(await ws.recv())
        await ws.send('{"type":"ping"}')
        assert await asyncio.wait_for(ws.recv(), 2) == '{"type":"pong"}'
        assert await asyncio.wait_for(ws.recv(), 8) == '{"type":"ping"}'


async def test_a_silent_client_is_closed_with_4408(server: ServerProcess, display_token: str) -> None:
    """A client that never answers the heartbeat is closed within about 12 s."""
    async with connect(socket_url(server, display_token), ping_interval=None) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(ws.recv(), 20)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


@pytest.mark.parametrize(
    ("token", "code"),
    [("", 4401), ("nxt1.forged.token", 4401), ("kiosk", 4403)],
)
async def test_refused_tokens_close_with_a_documented_code(
    server: ServerProcess, api: Api, token: str, code: int
) -> None:
    """A bad token closes with 4401; a kiosk's token, which may not watch, with 4403."""
    if token == "kiosk":
        token = api.user("kiosk1", "kiosk")
    async with connect(socket_url(server, token)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


async def test_an_unknown_branch_closes_with_4404(server: ServerProcess, display_token: str) -> None:
    """A socket for a branch this server does not serve closes with 4404."""
    async with connect(socket_url(server, display_token, branch="elsewhere")) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


async def test_a_foreign_origin_is_refused_with_4403(server: ServerProcess, display_token: str) -> None:
    """A page of another site cannot open the socket: its Origin does not match the Host."""
    async with connect(socket_url(server, display_token), origin="http://evil.example") as ws:  # type: ignore[arg-type]
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    same = f"http://127.0.0.1:{server.port}"
    async with connect(socket_url(server, display_token), origin=same) as ws:  # type: ignore[arg-type]
        assert '"snapshot"' in str(await ws.recv())


async def test_notices_reach_the_display_live_and_in_the_snapshot(
    server: ServerProcess, api: Api, display_token: str
) -> None:
    """A notice a manager posts is pushed to the screens, and a screen connecting later has it too."""
    async with display(server, display_token) as client:
        await client.next()
        post_notice(api, "系统维护", "Maintenance", emergency=True)
        notice = await client.next()
    assert notice["type"] == "notice_posted"
    assert (notice["text_zh"], notice["text_en"], notice["emergency"]) == ("系统维护", "Maintenance", True)
    async with display(server, display_token) as client:
        state = (await client.next())["state"]
    assert state["notice"]["text_zh"] == "系统维护" and state["notice"]["emergency"] is True


async def test_a_display_device_is_in_the_devices_report_while_connected(
    server: ServerProcess, api: Api, display_token: str
) -> None:
    """A display account's screen is listed online (no printer) while connected, then disconnected;
    staff watching the board from a PC are not devices."""

    def listed() -> list[dict[str, Any]]:
        response = api.http.get("/api/branches/main/devices", headers=api.auth(api.admin()))
        assert response.status_code == 200
        devices: list[dict[str, Any]] = response.json()["devices"]
        return devices

    def tv1() -> dict[str, Any] | None:
        return next((d for d in listed() if d["device"] == "tv1"), None)

    async def until(check: Callable[[], Any]) -> Any:
        deadline = time.monotonic() + 10
        while not (value := check()):
            assert time.monotonic() < deadline, f"not within 10 s (last: {value!r})"
            await asyncio.sleep(0.05)
        return value

    async with display(server, display_token) as client:
        await client.next()
        record = await until(lambda: (d := tv1()) and d["online"] and d)
        assert (record["role"], record["status"], record["printer"]) == ("display", "ok", None)
        assert record["address"] == "127.0.0.1"
    gone = await until(lambda: (d := tv1()) and not d["connected"] and d)
    assert gone["status"] == "offline"

    async with display(server, api.user("clerk", "staff", ["1"])) as client:
        await client.next()
        await asyncio.sleep(0.5)  # long enough for a record to be written, were one written
        assert [d["device"] for d in listed()] == ["tv1"]
