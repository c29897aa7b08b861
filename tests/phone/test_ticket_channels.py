"""The phone's live channels over real sockets: the websocket /ws/tickets/{id} and long polling."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Origin

from tests.conftest import Api
from tests.phone.conftest import call_next, ok, random_id, serve
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis


def socket_url(server: ServerProcess, ticket_id: str) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/tickets/{ticket_id}"


def next_ticket_message(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """The next ticket message within ``timeout`` s, answering pings on the way."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no ticket message within {timeout} s")
        message: dict[str, Any] = json.loads(ws.recv(timeout=remaining))
        if message["type"] == "ping":
            ws.send('{"type":"pong"}')
            continue
        return message


def nothing_but_pings(ws: ClientConnection, seconds: float) -> bool:
    try:
        next_ticket_message(ws, seconds)
    except TimeoutError:
        return True
    return False


def test_the_socket_sends_the_ticket_on_connect_and_after_each_change(hall: Api, hall_server: ServerProcess) -> None:
    """First the ticket with its place in line, then a new version when the one ahead is called."""
    hall.issue("A")
    mine = hall.issue("A")
    with connect(socket_url(hall_server, mine["id"])) as ws:
        first = next_ticket_message(ws)
        assert (first["ticket"]["number"], first["ticket"]["ahead"]) == (mine["number"], 1)
        assert first["feedback"] == {
            "rating": None,
            "complaints": 0,
            "complaints_left": 3,
            "accepting": True,
            "filed": [],
        }
        assert first["expires_at"] is None
        call_next(hall, "2")
        second = next_ticket_message(ws)
        assert second["ticket"]["ahead"] == 0 and second["version"] != first["version"]


def test_events_of_other_services_send_nothing(hall: Api, hall_server: ServerProcess) -> None:
    """A ticket of service A hears nothing when service B's queue moves: its view did not change."""
    mine = hall.issue("A")
    with connect(socket_url(hall_server, mine["id"])) as ws:
        next_ticket_message(ws)
        hall.issue("B")
        call_next(hall, "4")
        assert nothing_but_pings(ws, 1.0)


def test_a_burst_of_events_is_one_update_per_change(hall: Api, hall_server: ServerProcess) -> None:
    """Tickets issued behind mine do not change my view; the call of mine does, once."""
    mine = hall.issue("A")
    with connect(socket_url(hall_server, mine["id"])) as ws:
        next_ticket_message(ws)
        for _ in range(5):
            hall.issue("A")
        call_next(hall, "2")
        called = next_ticket_message(ws)
        assert (called["ticket"]["status"], called["ticket"]["counter"]) == ("called", "2")
        assert nothing_but_pings(ws, 0.5)


def test_the_socket_answers_a_ping_and_pings_itself(hall: Api, hall_server: ServerProcess) -> None:
    """A client's ping gets a pong; the server's heartbeat pings arrive every few seconds."""
    mine = hall.issue("A")
    with connect(socket_url(hall_server, mine["id"])) as ws:
        next_ticket_message(ws)
        ws.send('{"type":"ping"}')
        seen = {json.loads(ws.recv(timeout=5))["type"]}
        seen.add(json.loads(ws.recv(timeout=7))["type"])
        assert seen == {"pong", "ping"}


def test_an_unknown_ticket_closes_the_socket_with_4404(hall: Api, hall_server: ServerProcess) -> None:
    """No such ticket: close code 4404."""
    with connect(socket_url(hall_server, random_id())) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404


def test_a_foreign_origin_is_refused(hall: Api, hall_server: ServerProcess) -> None:
    """Another web site's page cannot open the socket: close code 4403."""
    mine = hall.issue("A")
    foreign = Origin("http://evil.example")
    with connect(socket_url(hall_server, mine["id"]), origin=foreign) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def updates_url(ticket_id: str) -> str:
    return f"/api/branches/main/tickets/{ticket_id}/updates"


def test_long_polling_answers_at_once_for_an_old_version(hall: Api, hall_server: ServerProcess) -> None:
    """A poll with no or another version gets the current message straight away."""
    mine = hall.issue("A")
    started = time.monotonic()
    message = ok(hall.http.get(updates_url(mine["id"]), params={"since": "old", "wait": 20}))
    assert time.monotonic() - started < 10  # not held for its 20 s
    assert message["type"] == "ticket" and message["ticket"]["status"] == "waiting"


def test_long_polling_holds_until_the_ticket_changes(hall: Api, hall_server: ServerProcess) -> None:
    """A poll with the current version is answered when the ticket is called, not before."""
    mine = hall.issue("A")
    version = ok(hall.http.get(updates_url(mine["id"]), params={"wait": 0}))["version"]
    answered: list[dict[str, Any]] = []

    def poll() -> None:
        with httpx.Client(base_url=hall_server.url, timeout=30) as client:
            answered.append(ok(client.get(updates_url(mine["id"]), params={"since": version, "wait": 20})))

    poller = threading.Thread(target=poll)
    poller.start()
    hall.issue("B")  # another service: the poll goes on waiting
    poller.join(timeout=0.5)
    assert poller.is_alive() and not answered, "an event of another service does not end the poll"
    call_next(hall, "2")
    poller.join(timeout=10)
    assert [m["ticket"]["status"] for m in answered] == ["called"]
    assert answered[0]["version"] != version


def test_long_polling_ends_after_its_wait_with_the_same_version(hall: Api, hall_server: ServerProcess) -> None:
    """Nothing changed within ``wait``: the same message comes back, as a keep-alive."""
    mine = hall.issue("A")
    version = ok(hall.http.get(updates_url(mine["id"]), params={"wait": 0}))["version"]
    started = time.monotonic()
    message = ok(hall.http.get(updates_url(mine["id"]), params={"since": version, "wait": 1}))
    # It held the request for its wait (the upper bound only catches a wait that never ends).
    assert 0.9 < time.monotonic() - started < 30
    assert message["version"] == version


def test_a_rating_reaches_open_sockets(hall: Api, hall_server: ServerProcess) -> None:
    """A rating from another tab shows in the feedback part of the message."""
    mine = hall.issue("A")
    serve(hall, "2")
    with connect(socket_url(hall_server, mine["id"])) as ws:
        assert next_ticket_message(ws)["feedback"]["rating"] is None
        ok(hall.http.post(f"/api/branches/main/tickets/{mine['id']}/rating", json={"rating": 5}), 201)
        assert next_ticket_message(ws)["feedback"]["rating"] == 5
