"""Following a complaint on the ticket's page (server/follow_up.py), on a test clock: the page of a
finished ticket with a complaint stays readable until the answer came and days after, shows the
answer to its holder and nothing of anyone else, while rating and complaining still end after 2 h
and retention still removes the ticket."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.clock import ManualClock
from server.config import demo_branch
from server.errors import ConfigError
from server.follow_up import page_expires_ms
from server.retention import prune_tickets
from server.settings import PhoneSettings, load_phone_settings
from server.store import QueueStore
from tests.conftest import Api
from tests.phone.conftest import ok, serve
from tests.servers import InProcessServer

Clocked = tuple[InProcessServer, ManualClock, Api]
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def message(api: Api, ticket: dict[str, Any]) -> dict[str, Any]:
    """The ticket's message as the page gets it (long polling, at once)."""
    reply: dict[str, Any] = ok(api.http.get(f"/api/branches/main/tickets/{ticket['id']}/updates?wait=0"))
    return reply


def complain(api: Api, ticket: dict[str, Any], text: str, phone: str | None = None) -> str:
    body = {"text": text} | ({"phone": phone} if phone else {})
    filed = ok(api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json=body), 201)
    complaint_id: str = filed["id"]
    return complaint_id


def change(api: Api, manager: dict[str, str], complaint_id: str, body: dict[str, str]) -> None:
    ok(api.http.patch(f"/api/branches/main/complaints/{complaint_id}", json=body, headers=manager))


def json_of(text: str | bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value


def page_status(api: Api, ticket: dict[str, Any]) -> int:
    return api.http.get(f"/t/{ticket['id']}").status_code


# ---- The rule, without I/O ------------------------------------------------------------------------


def test_the_page_rule_covers_the_answer_whatever_the_settings() -> None:
    """Without complaints: 2 h after the end; with one open: no end; answered: days after the answer."""
    settings = PhoneSettings()
    assert page_expires_ms(None, [], settings) is None
    assert page_expires_ms(0, [], settings) == 2 * HOUR_MS
    assert page_expires_ms(0, [{"state": "open", "filed_ms": "60000"}], settings) is None
    answered = {"state": "answered", "filed_ms": "60000", "answered_ms": str(30 * HOUR_MS)}
    assert page_expires_ms(0, [answered], settings) == 30 * HOUR_MS + 7 * DAY_MS
    closed_unanswered = {"state": "closed", "filed_ms": "60000", "answered_ms": ""}
    assert page_expires_ms(0, [answered, closed_unanswered], settings) == 30 * HOUR_MS + 7 * DAY_MS
    assert page_expires_ms(0, [closed_unanswered], PhoneSettings(complaint_page_days=0)) is None
    # Never shorter than the finished page's own time, however short the follow-up.
    short = PhoneSettings(finished_page_ttl_s=3 * 3600, complaint_page_days=0.01)
    assert page_expires_ms(0, [closed_unanswered], short) == 3 * HOUR_MS


def test_the_follow_up_days_are_a_setting() -> None:
    """NEXTUP_COMPLAINT_PAGE_DAYS sets them; anything but a number >= 0 stops the start, named."""
    assert PhoneSettings().complaint_page_days == 7
    assert load_phone_settings({"NEXTUP_COMPLAINT_PAGE_DAYS": "14"}).complaint_page_days == 14
    with pytest.raises(ConfigError, match="NEXTUP_COMPLAINT_PAGE_DAYS"):
        load_phone_settings({"NEXTUP_COMPLAINT_PAGE_DAYS": "a week"})


# ---- On a real server ------------------------------------------------------------------------------


@pytest.mark.redis
def test_the_page_stays_readable_while_the_complaint_waits_for_its_answer(clocked: Clocked) -> None:
    """Served at 10:00, complained about at 10:30: at 12:00:01 and three days later the page works,
    shows the complaint open with its deadline, and no longer takes a rating or a complaint."""
    _, clock, api = clocked
    ticket = api.issue("A")
    serve(api, "2")
    start = clock.now()
    clock.set(start + timedelta(minutes=30))
    complain(api, ticket, "The counter closed on me.")
    first = message(api, ticket)
    assert first["expires_at"] is None and first["feedback"]["accepting"] is True
    assert first["feedback"]["filed"] == [{
        "state": "open", "text": "The counter closed on me.", "filed_at": "2026-03-02T10:30:00+08:00",
        "answer_due_at": "2026-03-03T10:30:00+08:00", "answer": None, "answered_at": None}]  # fmt: skip

    for later in (timedelta(hours=2, seconds=1), timedelta(days=3)):
        clock.set(start + later)
        assert page_status(api, ticket) == 200
        now = message(api, ticket)
        assert (now["expires_at"], now["feedback"]["accepting"], now["feedback"]["filed"][0]["state"]) == (
            None, False, "open")  # fmt: skip
        rating = api.http.post(f"/api/branches/main/tickets/{ticket['id']}/rating", json={"rating": 1})
        again = api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json={"text": "again"})
        assert (rating.status_code, again.status_code) == (410, 410)


@pytest.mark.redis
def test_the_answer_reaches_the_page_which_stays_seven_days_after_it(clocked: Clocked) -> None:
    """Answered a day late, the answer is on every channel of the page; the page then works seven
    days more and is 410 Gone a second after, on every channel."""
    server, clock, api = clocked
    manager = api.auth(api.user("boss", "manager"))
    ticket = api.issue("A")
    serve(api, "2")
    start = clock.now()
    complaint_id = complain(api, ticket, "Rude staff.")
    clock.set(start + timedelta(hours=48))
    change(api, manager, complaint_id, {"answer": "We are sorry; we spoke to the team."})
    answered = message(api, ticket)
    assert answered["feedback"]["filed"][0] | {"filed_at": ""} == {
        "state": "answered", "text": "Rude staff.", "filed_at": "", "answer_due_at": "2026-03-03T10:00:00+08:00",
        "answer": "We are sorry; we spoke to the team.", "answered_at": "2026-03-04T10:00:00+08:00"}  # fmt: skip
    assert answered["expires_at"] == "2026-03-11T10:00:00+08:00"
    page = api.http.get(f"/t/{ticket['id']}")
    assert page.status_code == 200 and "We are sorry; we spoke to the team." in page.text
    with connect(f"ws://127.0.0.1:{server.port}/ws/tickets/{ticket['id']}") as ws:
        assert json_of(ws.recv(timeout=5))["feedback"]["filed"][0]["answer"] == "We are sorry; we spoke to the team."

    clock.set(start + timedelta(hours=48, days=7))
    assert page_status(api, ticket) == 200
    clock.set(start + timedelta(hours=48, days=7, seconds=1))
    assert page_status(api, ticket) == 410
    assert api.http.get(f"/api/branches/main/tickets/{ticket['id']}/updates?wait=0").status_code == 410
    with (
        connect(f"ws://127.0.0.1:{server.port}/ws/tickets/{ticket['id']}") as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4410

    # Reopened, it waits for an answer again: the page works again until it is answered.
    change(api, manager, complaint_id, {"state": "open"})
    assert page_status(api, ticket) == 200 and message(api, ticket)["expires_at"] is None


@pytest.mark.redis
def test_the_page_shows_only_its_own_complaints_and_never_a_phone_number_or_who_answered(
    clocked: Clocked,
) -> None:
    """Two customers complain; each page lists its own complaint, without the phone number (still
    encrypted in Redis) and without the manager's name."""
    _, _, api = clocked
    manager = api.auth(api.user("boss", "manager"))
    mine, theirs = api.issue("A"), api.issue("A")
    serve(api, "2")
    serve(api, "2")
    my_complaint = complain(api, mine, "Mine: too slow.", phone="13800138000")
    complain(api, theirs, "Theirs: too cold.", phone="13900139000")
    change(api, manager, my_complaint, {"answer": "Sorry for the wait."})
    for ticket, text, other in ((mine, "Mine: too slow.", "Theirs"), (theirs, "Theirs: too cold.", "Mine")):
        seen = message(api, ticket)
        assert [c["text"] for c in seen["feedback"]["filed"]] == [text]
        page = api.http.get(f"/t/{ticket['id']}").text
        for secret in ("13800138000", "13900139000", "boss", other):
            assert secret not in str(seen) and secret not in page


@pytest.mark.redis
def test_retention_still_removes_a_ticket_with_an_open_complaint(clocked: Clocked, redis_url: str) -> None:
    """The follow-up never outlives the ticket's records: after NEXTUP_TICKET_RETENTION_DAYS the
    ticket goes, open complaint or not, and its page is 404; the complaint stays for the managers."""
    _, clock, api = clocked
    manager = api.auth(api.user("boss", "manager"))
    ticket = api.issue("A")
    serve(api, "2")
    complain(api, ticket, "Never answered.")
    clock.set(clock.now() + timedelta(days=91))
    assert page_status(api, ticket) == 200

    async def prune() -> int:
        client = Redis.from_url(redis_url, decode_responses=True)
        try:
            return await prune_tickets(QueueStore(client, demo_branch(), clock), 90)
        finally:
            await client.aclose()

    assert asyncio.run(prune()) == 1
    assert page_status(api, ticket) == 404
    complaints = ok(api.http.get("/api/branches/main/complaints", headers=manager))["complaints"]
    assert [(c["number"], c["text"], c["state"]) for c in complaints] == [(ticket["number"], "Never answered.", "open")]
