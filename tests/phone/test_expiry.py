"""Time-bound rules on a test clock: finished tickets' pages expire, complaints go overdue, phones are erased."""

from __future__ import annotations

from datetime import timedelta

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.clock import ManualClock
from tests.conftest import Api
from tests.phone.conftest import ok, serve
from tests.servers import InProcessServer

pytestmark = pytest.mark.redis

Clocked = tuple[InProcessServer, ManualClock, Api]


def test_a_finished_tickets_page_stops_working_two_hours_after(clocked: Clocked) -> None:
    """Served at 10:00: the page works at 12:00 and is 410 Gone one second later, on every channel."""
    server, clock, api = clocked
    ticket = api.issue("A")
    serve(api, "2")
    start = clock.now()
    clock.set(start + timedelta(hours=2))
    page = api.http.get(f"/t/{ticket['id']}")
    assert page.status_code == 200
    updates = f"/api/branches/main/tickets/{ticket['id']}/updates?wait=0"
    assert ok(api.http.get(updates))["expires_at"] == "2026-03-02T12:00:00+08:00"

    clock.set(start + timedelta(hours=2, seconds=1))
    page = api.http.get(f"/t/{ticket['id']}", headers={"Accept-Language": "en"})
    assert page.status_code == 410 and "This ticket page has expired." in page.text
    assert api.http.get(updates).json()["error"]["code"] == "gone"
    rating = api.http.post(f"/api/branches/main/tickets/{ticket['id']}/rating", json={"rating": 5})
    assert (rating.status_code, rating.json()["error"]["code"]) == (410, "gone")
    complaint = api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json={"text": "late"})
    assert complaint.status_code == 410
    with connect(f"ws://127.0.0.1:{server.port}/ws/tickets/{ticket['id']}") as ws, pytest.raises(
        ConnectionClosed
    ) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410


def test_a_waiting_ticket_never_expires(clocked: Clocked) -> None:
    """A ticket still waiting the next morning keeps its page."""
    _, clock, api = clocked
    ticket = api.issue("A")
    clock.set(clock.now() + timedelta(hours=20))
    assert api.http.get(f"/t/{ticket['id']}").status_code == 200


def test_a_complaint_goes_overdue_after_the_answer_target(clocked: Clocked) -> None:
    """Open for 24 h it is on time; a second more and it is overdue; answered late says so."""
    _, clock, api = clocked
    manager = api.auth(api.user("boss", "manager"))
    ticket = api.issue("A")
    filed = ok(api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json={"text": "rude"}), 201)
    assert filed["answer_due_at"] == "2026-03-03T10:00:00+08:00"
    start = clock.now()

    def listed() -> dict[str, object]:
        complaints = ok(api.http.get("/api/branches/main/complaints", headers=manager))["complaints"]
        assert len(complaints) == 1
        complaint: dict[str, object] = complaints[0]
        return complaint

    clock.set(start + timedelta(hours=24))
    assert (listed()["overdue"], listed()["age_s"]) == (False, 24 * 3600)
    clock.set(start + timedelta(hours=24, seconds=1))
    assert listed()["overdue"] is True
    ok(api.http.patch(f"/api/branches/main/complaints/{filed['id']}", json={"answer": "Sorry"}, headers=manager))
    clock.set(start + timedelta(hours=30))
    answered = listed()
    assert (answered["overdue"], answered["answered_late"], answered["waited_s"]) == (False, True, 24 * 3600 + 1)


def test_phone_numbers_are_erased_after_the_retention(clocked: Clocked) -> None:
    """After 30 days the complaint stays, its phone number is gone."""
    _, clock, api = clocked
    manager = api.auth(api.user("boss", "manager"))
    ticket = api.issue("A")
    body = {"text": "call me", "phone": "13800138000"}
    ok(api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json=body), 201)
    start = clock.now()
    clock.set(start + timedelta(days=30))
    kept = ok(api.http.get("/api/branches/main/complaints", headers=manager))["complaints"]
    assert [(c["phone"], c["phone_erased"]) for c in kept] == [("13800138000", False)]
    clock.set(start + timedelta(days=30, seconds=1))
    erased = ok(api.http.get("/api/branches/main/complaints", headers=manager))["complaints"]
    assert [(c["phone"], c["phone_erased"], c["text"]) for c in erased] == [(None, True, "call me")]
