"""The staff pages' websocket: views pushed after every event, checked against what the API does."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis

Message = dict[str, Any]


class StaffSocket:
    """A page's websocket: reads view messages, answers pings."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.last: Message | None = None

    def next(self, timeout: float = 10.0) -> Message:
        deadline = time.monotonic() + timeout
        while True:
            message: Message = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["type"] == "ping":
                self.ws.send('{"type":"pong"}')
                continue
            self.last = message
            return message

    def until(self, accept: Callable[[Message], bool], timeout: float = 10.0) -> Message:
        """The first view message ``accept`` approves (the current one included)."""
        deadline = time.monotonic() + timeout
        if self.last is not None and accept(self.last):
            return self.last
        while True:
            message = self.next(max(0.01, deadline - time.monotonic()))
            if accept(message):
                return message


@contextmanager
def staff_socket(server: ServerProcess, token: str, counter: str | None = "1") -> Iterator[StaffSocket]:
    url = f"ws://127.0.0.1:{server.port}/ws/branches/main/staff" + (f"?counter={counter}" if counter else "")
    headers = {"Origin": server.url, "Cookie": f"nextup_session={token}"}
    with connect(url, additional_headers=headers, open_timeout=5) as ws:
        yield StaffSocket(ws)


def act(api: Api, token: str, action: str, body: dict[str, Any] | None = None, counter: str = "1") -> Any:
    response = api.counter_as(token, counter, action, body)
    assert response.status_code in (200, 204), response.text
    return response.json() if response.status_code == 200 else None


def test_the_view_lists_the_next_tickets_in_the_order_call_next_takes_them(server: ServerProcess, api: Api) -> None:
    """Next up, with priority tickets and two services, is exactly what call-next then calls."""
    staff = api.user("staff1", "staff", ["1"])
    issued = [api.issue("A"), api.issue("C"), api.issue("A", priority=True), api.issue("A"),
              api.issue("C", priority=True)]
    with staff_socket(server, staff) as socket:
        view = socket.until(lambda m: len(m["next"]) == 5)
        assert [s["waiting"] for s in view["counter"]["services"]] == [3, 2]
        assert [s["priority_waiting"] for s in view["counter"]["services"]] == [1, 1]
        listed = [t["number"] for t in view["next"]]
    called = []
    for _ in issued:
        called.append(act(api, staff, "call-next")["number"])
        act(api, staff, "finish")
    assert called == listed


def test_every_change_is_pushed_without_asking(server: ServerProcess, api: Api) -> None:
    """Issuing, calling and pausing each reach an open counter page within moments."""
    staff = api.user("staff1", "staff", ["1"])
    with staff_socket(server, staff) as socket:
        socket.until(lambda m: m["type"] == "counter")
        ticket = api.issue("A")
        socket.until(lambda m: [t["number"] for t in m["next"]] == [ticket["number"]])
        act(api, staff, "call-next")
        view = socket.until(lambda m: m["current"] is not None)
        assert view["current"]["number"] == ticket["number"]
        assert view["current"]["waited_s"] is not None and view["current"]["serving_since"]
        act(api, staff, "finish")
        act(api, staff, "pause", {"reason": "Training"})
        view = socket.until(lambda m: m["counter"]["status"] == "paused")
        assert view["counter"]["reason"] == "Training" and view["current"] is None


def test_todays_figures_are_the_staff_members_own(server: ServerProcess, api: Api) -> None:
    """Served count and average handling time count only what this member of staff finished today."""
    staff = api.user("staff1", "staff", ["1"])
    for _ in range(2):
        api.issue("A")
        act(api, staff, "call-next")
        act(api, staff, "finish")
    api.issue("A")
    api.counter("1", "call-next")  # the admin serves one at the same counter: not staff1's
    api.counter("1", "finish")
    with staff_socket(server, staff) as socket:
        view = socket.until(lambda m: m["today"]["served"] == 2)
        assert view["today"]["average_handling_s"] is not None and view["today"]["average_handling_s"] >= 0


def test_a_no_show_is_offered_for_reactivation_until_reactivated(server: ServerProcess, api: Api) -> None:
    """The counter's recent no-shows are listed; reactivating one removes it from the list."""
    staff = api.user("staff1", "staff", ["1"])
    ticket = api.issue("A")
    act(api, staff, "call-next")
    with staff_socket(server, staff) as socket:
        socket.until(lambda m: m["current"] is not None)
        act(api, staff, "no-show")
        view = socket.until(lambda m: bool(m["no_shows"]))
        assert [n["number"] for n in view["no_shows"]] == [ticket["number"]]
        act(api, staff, "reactivate", {"number": ticket["number"]})
        view = socket.until(lambda m: not m["no_shows"])
        assert [t["number"] for t in view["next"]] == [ticket["number"]]


def test_logging_out_closes_the_open_socket(server: ServerProcess, api: Api) -> None:
    """A session ended elsewhere closes its page's socket at the next heartbeat (4401)."""
    staff = api.user("staff1", "staff", ["1"])
    with staff_socket(server, staff) as socket:
        socket.until(lambda m: m["type"] == "counter")
        assert api.http.post("/api/logout", headers=api.auth(staff)).status_code == 204
        with pytest.raises(ConnectionClosed) as closed:
            socket.until(lambda m: False, timeout=15)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_the_branch_view_carries_every_counter_queue_and_device(server: ServerProcess, api: Api) -> None:
    """Admins and managers get the whole branch, pushed again after each event."""
    manager = api.user("boss", "manager")
    with staff_socket(server, manager, counter=None) as socket:
        view = socket.until(lambda m: m["type"] == "branch")
        assert [c["id"] for c in view["state"]["counters"]] == ["1", "2", "3", "4"]
        assert isinstance(view["devices"], list)
        api.issue("B")
        view = socket.until(lambda m: m["state"]["services"][1]["waiting"] == 1)
        assert "ticket_issued" in view["events"]
