"""The queue rules through the real HTTP API of a `nextup serve` process on the demo branch.

Demo branch `main`: counter 1 serves A, C; counter 2 serves A; counter 3 serves B, A; counter 4
serves C, B; all open. Priority cap 1, no-show window 30 min, reactivated no-shows 3 places back.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from server import keys
from server.clock import ManualClock
from server.config import demo_branch
from server.metrics import estimate
from server.settings import Settings
from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD, InProcessServer

pytestmark = pytest.mark.redis

Json = dict[str, Any]


# --- helpers -------------------------------------------------------------------------------------


def ok(response: httpx.Response) -> Json:
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def call_next(api: Api, counter: str) -> Json:
    return ok(api.counter(counter, "call-next"))


def serve(api: Api, counter: str) -> Json:
    """Call the next ticket to `counter` and finish it at once; return the called ticket."""
    ticket = call_next(api, counter)
    ok(api.counter(counter, "finish"))
    return ticket


def numbers_called(api: Api, counter: str, count: int) -> list[str]:
    return [serve(api, counter)["number"] for _ in range(count)]


def get_ticket(api: Api, ticket_id: str) -> Json:
    return ok(api.http.get(f"/api/branches/main/tickets/{ticket_id}"))


def refused(response: httpx.Response, code: str, state: str, status: int = 409) -> Json:
    """The response is a refusal with `code` that names the current `state`."""
    assert response.status_code == status, response.text
    error: Json = response.json()["error"]
    assert error["code"] == code
    assert error["state"] == state
    assert error["message"]
    return error


def events(client: redis.Redis, after: str = "-") -> list[tuple[str, str, Json]]:
    """(seq, type, data) of the branch's events after `after` (exclusive), oldest first."""
    start = after if after == "-" else f"({after}"
    return [
        (seq, fields["type"], json.loads(fields["data"]))
        for seq, fields in client.xrange(keys.events("main"), min=start)
    ]


def last_seq(client: redis.Redis) -> str:
    latest = client.xrevrange(keys.events("main"), count=1)
    return str(latest[0][0]) if latest else "0-0"


# --- routing -------------------------------------------------------------------------------------


def test_call_next_is_first_in_first_out(api: Api) -> None:
    """Within one service and class, tickets are called in the order they were issued."""
    issued = [api.issue("A")["number"] for _ in range(4)]
    assert issued == ["A001", "A002", "A003", "A004"]
    assert numbers_called(api, "2", 4) == issued


def test_priority_first_then_capped_at_one_in_a_row(api: Api) -> None:
    """With both classes waiting and cap 1, the counter alternates: P, R, P, R ..."""
    regular = [api.issue("A")["id"] for _ in range(3)]
    priority = [api.issue("A", priority=True)["id"] for _ in range(3)]
    called = [serve(api, "2")["id"] for _ in range(6)]
    assert called == [priority[0], regular[0], priority[1], regular[1], priority[2], regular[2]]


def test_priority_keeps_coming_while_no_regular_waits(api: Api) -> None:
    """The cap holds priority back only for a waiting regular ticket; the streak then resets."""
    priority = [api.issue("A", priority=True)["id"] for _ in range(3)]
    assert [serve(api, "2")["id"] for _ in range(2)] == priority[:2]
    regular = api.issue("A")["id"]
    # Two priority calls in a row: the regular ticket issued later goes before the third.
    assert serve(api, "2")["id"] == regular
    assert serve(api, "2")["id"] == priority[2]


def test_priority_streak_is_per_counter(api: Api) -> None:
    """Each counter counts its own priority streak."""
    p1, p2 = api.issue("A", priority=True), api.issue("A", priority=True)
    api.issue("A")
    assert serve(api, "2")["id"] == p1["id"]
    # Counter 1 has called no priority ticket yet, so it may take the next one.
    assert serve(api, "1")["id"] == p2["id"]


def test_longest_wait_across_a_counters_services(api: Api) -> None:
    """A counter serving A and C takes whichever waiting ticket was issued first."""
    issued = [api.issue(service)["number"] for service in ("C", "A", "C", "A")]
    assert issued == ["C001", "A001", "C002", "A002"]
    assert numbers_called(api, "1", 4) == issued


def test_counter_calls_only_its_services(api: Api) -> None:
    """Counter 2 serves only A: with only B waiting it answers 204 and B keeps waiting."""
    b = api.issue("B")
    response = api.counter("2", "call-next")
    assert response.status_code == 204
    assert response.content == b""
    assert get_ticket(api, b["id"])["status"] == "waiting"
    assert serve(api, "3")["id"] == b["id"]


def test_204_when_nothing_waits(api: Api, redis_client: redis.Redis) -> None:
    """Call-next on empty queues is 204 with no body, no event, and the counter stays free."""
    before = last_seq(redis_client)
    for counter in ("1", "2", "3", "4"):
        response = api.counter(counter, "call-next")
        assert response.status_code == 204
        assert response.content == b""
    assert events(redis_client, before) == []
    assert all(c["current"] is None for c in api.state()["counters"])


# --- transfer ------------------------------------------------------------------------------------


def test_transfer_from_counter_keeps_number_and_place(api: Api, redis_client: redis.Redis) -> None:
    """A called ticket transferred to B keeps its number and goes before B tickets issued after it."""
    b1 = api.issue("B")
    a1 = api.issue("A")
    b2 = api.issue("B")
    assert call_next(api, "2")["id"] == a1["id"]
    before = last_seq(redis_client)
    moved = ok(api.counter("2", "transfer", {"service": "B"}))
    assert moved["id"] == a1["id"]
    assert (moved["number"], moved["service"], moved["status"]) == ("A001", "B", "waiting")
    assert moved["counter"] is None
    assert moved["transfers"] == 1
    assert moved["ahead"] == 1  # only B001, issued before it
    [(_, kind, data)] = events(redis_client, before)
    assert kind == "ticket_transferred"
    assert (data["from_service"], data["to_service"], data["counter"]) == ("A", "B", "2")
    assert data["staff"] == "admin"
    assert data["ticket"]["id"] == a1["id"]
    # Counter 2 is free again and serves only A: nothing for it.
    assert api.counter("2", "call-next").status_code == 204
    assert [serve(api, "4")["id"] for _ in range(3)] == [b1["id"], a1["id"], b2["id"]]


def test_transfer_waiting_ticket_keeps_number_and_place(api: Api, redis_client: redis.Redis) -> None:
    """A waiting ticket transferred by staff keeps its number and its place by issue time."""
    b1 = api.issue("B")
    a1 = api.issue("A")
    b2 = api.issue("B")
    before = last_seq(redis_client)
    moved = ok(
        api.http.post(
            f"/api/branches/main/tickets/{a1['id']}/transfer",
            json={"service": "B"},
            headers=api.auth(api.admin()),
        )
    )
    assert (moved["number"], moved["service"], moved["status"], moved["ahead"]) == ("A001", "B", "waiting", 1)
    [(_, kind, data)] = events(redis_client, before)
    assert kind == "ticket_transferred"
    assert data["counter"] is None
    assert (data["from_service"], data["to_service"]) == ("A", "B")
    # No longer in A: counter 2 has nothing; counter 3 (B, A) takes B in issue order.
    assert api.counter("2", "call-next").status_code == 204
    assert [serve(api, "3")["id"] for _ in range(3)] == [b1["id"], a1["id"], b2["id"]]


def test_transfer_to_its_own_service_is_invalid(api: Api) -> None:
    """Transferring a ticket to the service it is already in is 422 on `service`."""
    a1 = api.issue("A")
    response = api.http.post(
        f"/api/branches/main/tickets/{a1['id']}/transfer",
        json={"service": "A"},
        headers=api.auth(api.admin()),
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "service"
    assert get_ticket(api, a1["id"])["transfers"] == 0


# --- no-show and reactivation --------------------------------------------------------------------


def test_reactivated_no_show_reenters_three_places_back(api: Api, redis_client: redis.Redis) -> None:
    """A no-show reactivated within the window waits again 3 places behind the head (过号顺延)."""
    tickets = [api.issue("A") for _ in range(6)]
    assert call_next(api, "2")["id"] == tickets[0]["id"]
    gone = ok(api.counter("2", "no-show"))
    assert gone["status"] == "no_show"
    before = last_seq(redis_client)
    back = ok(api.counter("2", "reactivate", {"number": "A001"}))
    assert (back["id"], back["status"], back["counter"]) == (tickets[0]["id"], "waiting", None)
    assert back["ahead"] == 3
    [(_, kind, data)] = events(redis_client, before)
    assert kind == "ticket_reactivated"
    assert (data["counter"], data["staff"]) == ("2", "admin")
    assert numbers_called(api, "2", 6) == ["A002", "A003", "A004", "A001", "A005", "A006"]


def test_reactivated_no_show_goes_to_the_end_when_few_wait(api: Api) -> None:
    """With fewer than 3 waiting, a reactivated no-show goes behind all of them."""
    api.issue("A"), api.issue("A")
    call_next(api, "2")
    ok(api.counter("2", "no-show"))
    back = ok(api.counter("2", "reactivate", {"number": "A001"}))
    assert back["ahead"] == 1
    assert numbers_called(api, "2", 2) == ["A002", "A001"]


def test_reactivation_refused_after_the_window(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Within 30 minutes of the no-show reactivation works; one second later it is 409."""
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    clock = ManualClock(start)
    settings = Settings(redis_url=None, data_dir=tmp_path, admin_password=ADMIN_PASSWORD, public_url=None)
    with InProcessServer(settings, demo_branch(), redis_url, clock) as server:
        api = Api(server.url)
        try:
            for _ in range(2):
                api.issue("A")
                call_next(api, "2")
                ok(api.counter("2", "no-show"))
            clock.set(start + timedelta(minutes=30))
            assert ok(api.counter("2", "reactivate", {"number": "A001"}))["status"] == "waiting"
            clock.set(start + timedelta(minutes=30, seconds=1))
            before = last_seq(redis_client)
            error = refused(api.counter("2", "reactivate", {"number": "A002"}), "reactivation_window_passed", "no_show")
            assert error["number"] == "A002"
            assert events(redis_client, before) == []
        finally:
            api.close()


# --- recall, cancel, call by number -------------------------------------------------------------


def test_recall_counts_calls_and_reannounces(api: Api, redis_client: redis.Redis) -> None:
    """Recall keeps the ticket at the counter, adds a call, and appends ticket_recalled."""
    a1 = api.issue("A")
    first = call_next(api, "2")
    assert first["calls"] == 1
    before = last_seq(redis_client)
    again = ok(api.counter("2", "recall"))
    again = ok(api.counter("2", "recall"))
    assert (again["id"], again["status"], again["calls"]) == (a1["id"], "called", 3)
    assert again["called_at"] == first["called_at"]
    recalls = events(redis_client, before)
    assert [kind for _, kind, _ in recalls] == ["ticket_recalled", "ticket_recalled"]
    assert [data["ticket"]["calls"] for _, _, data in recalls] == [2, 3]
    assert all(data["counter"] == "2" and data["staff"] == "admin" for _, _, data in recalls)
    # The display's "last calls" list shows the re-announcement too.
    recent = api.state()["recent_calls"]
    assert [(c["number"], c["counter"]) for c in recent[:3]] == [("A001", "2")] * 3


def test_cancel_waiting_ticket(api: Api, redis_client: redis.Redis) -> None:
    """The holder cancels a waiting ticket: it leaves the queue and those behind move up."""
    a1, a2 = api.issue("A"), api.issue("A")
    assert get_ticket(api, a2["id"])["ahead"] == 1
    before = last_seq(redis_client)
    cancelled = ok(api.http.post(f"/api/branches/main/tickets/{a1['id']}/cancel"))
    assert cancelled["status"] == "cancelled"
    assert cancelled["finished_at"] is not None
    [(_, kind, data)] = events(redis_client, before)
    assert (kind, data["ticket"]["id"]) == ("ticket_cancelled", a1["id"])
    assert get_ticket(api, a2["id"])["ahead"] == 0
    assert serve(api, "2")["id"] == a2["id"]
    assert api.counter("2", "call-next").status_code == 204


def test_call_by_number(api: Api) -> None:
    """Staff call one waiting ticket by its number; the rest keep their order."""
    for _ in range(3):
        api.issue("A")
    called = ok(api.counter("2", "call", {"number": "A003"}))
    assert (called["number"], called["status"], called["counter"]) == ("A003", "called", "2")
    ok(api.counter("2", "finish"))
    # Lower case is accepted.
    assert ok(api.counter("2", "call", {"number": "a002"}))["number"] == "A002"
    ok(api.counter("2", "finish"))
    assert serve(api, "2")["number"] == "A001"


def test_call_by_number_refusals(api: Api) -> None:
    """Calling by number: unknown number 404, wrong service 409, not waiting 409 with its state."""
    api.issue("A")
    b1 = api.issue("B")
    assert api.counter("2", "call", {"number": "A999"}).status_code == 404
    wrong = api.counter("2", "call", {"number": "B001"})
    assert wrong.status_code == 409
    assert wrong.json()["error"]["code"] == "not_served_here"
    assert wrong.json()["error"]["state"] == "waiting"
    assert get_ticket(api, b1["id"])["status"] == "waiting"
    serve(api, "2")
    refused(api.counter("1", "call", {"number": "A001"}), "invalid_state", "served")


# --- counter status ------------------------------------------------------------------------------


def test_paused_or_closed_counter_calls_nothing(api: Api, redis_client: redis.Redis) -> None:
    """A paused or closed counter refuses call-next and call-by-number with its state; open resumes."""
    a1 = api.issue("A")
    paused = ok(api.counter("2", "pause", {"reason": "午休 lunch"}))
    assert (paused["status"], paused["reason"]) == ("paused", "午休 lunch")
    counter2 = next(c for c in api.state()["counters"] if c["id"] == "2")
    assert (counter2["status"], counter2["reason"]) == ("paused", "午休 lunch")
    refused(api.counter("2", "call-next"), "counter_not_open", "paused")
    refused(api.counter("2", "call", {"number": "A001"}), "counter_not_open", "paused")
    assert ok(api.counter("2", "close"))["status"] == "closed"
    refused(api.counter("2", "call-next"), "counter_not_open", "closed")
    assert get_ticket(api, a1["id"])["status"] == "waiting"
    assert ok(api.counter("2", "open"))["status"] == "open"
    assert call_next(api, "2")["id"] == a1["id"]


def test_call_next_while_serving_is_busy(api: Api) -> None:
    """One counter has one current ticket: call-next while serving is 409 counter_busy."""
    api.issue("A")
    a2 = api.issue("A")
    call_next(api, "2")
    error = refused(api.counter("2", "call-next"), "counter_busy", "serving")
    assert error["number"] == "A001"
    assert get_ticket(api, a2["id"])["status"] == "waiting"
    refused(api.counter("2", "call", {"number": "A002"}), "counter_busy", "serving")


def test_illegal_counter_transitions_are_409_with_state(api: Api, redis_client: redis.Redis) -> None:
    """Each counter action refused in the wrong counter state is 409, names the state, changes nothing."""
    before = last_seq(redis_client)
    for action in ("finish", "no-show", "recall"):
        refused(api.counter("2", action), "no_current_ticket", "open")
    refused(api.counter("2", "transfer", {"service": "B"}), "no_current_ticket", "open")
    refused(api.counter("2", "open"), "invalid_state", "open")
    assert events(redis_client, before) == []

    ok(api.counter("2", "pause", {"reason": "break"}))
    refused(api.counter("2", "pause", {"reason": "again"}), "invalid_state", "paused")
    ok(api.counter("2", "close"))
    refused(api.counter("2", "close"), "invalid_state", "closed")
    refused(api.counter("2", "pause", {"reason": "x"}), "invalid_state", "closed")
    refused(api.counter("2", "finish"), "no_current_ticket", "closed")
    ok(api.counter("2", "open"))

    api.issue("A")
    call_next(api, "2")
    before = last_seq(redis_client)
    refused(api.counter("2", "close"), "counter_busy", "serving")
    refused(api.counter("2", "pause", {"reason": "x"}), "counter_busy", "serving")
    assert events(redis_client, before) == []
    counter2 = next(c for c in api.state()["counters"] if c["id"] == "2")
    assert counter2["status"] == "open"
    assert counter2["current"]["number"] == "A001"


def test_illegal_ticket_transitions_are_409_with_state(api: Api, redis_client: redis.Redis) -> None:
    """Each ticket action refused in the wrong ticket state is 409, names the state, changes nothing."""
    served, called, waiting, no_show = (api.issue("A") for _ in range(4))
    assert serve(api, "2")["id"] == served["id"]
    assert call_next(api, "1")["id"] == called["id"]
    ok(api.counter("3", "call", {"number": "A004"}))
    ok(api.counter("3", "no-show"))
    before = last_seq(redis_client)

    def cancel(ticket: Json) -> httpx.Response:
        return api.http.post(f"/api/branches/main/tickets/{ticket['id']}/cancel")

    def transfer(ticket: Json) -> httpx.Response:
        return api.http.post(
            f"/api/branches/main/tickets/{ticket['id']}/transfer",
            json={"service": "B"},
            headers=api.auth(api.admin()),
        )

    refused(cancel(served), "invalid_state", "served")
    refused(cancel(called), "invalid_state", "called")
    refused(cancel(no_show), "invalid_state", "no_show")
    refused(transfer(served), "invalid_state", "served")
    refused(transfer(no_show), "invalid_state", "no_show")
    refused(api.counter("2", "reactivate", {"number": "A003"}), "invalid_state", "waiting")
    refused(api.counter("2", "reactivate", {"number": "A001"}), "invalid_state", "served")
    refused(api.counter("2", "reactivate", {"number": "A002"}), "invalid_state", "called")
    refused(api.counter("2", "call", {"number": "A002"}), "invalid_state", "called")
    refused(api.counter("2", "call", {"number": "A004"}), "invalid_state", "no_show")
    ok(cancel(waiting))
    refused(cancel(waiting), "invalid_state", "cancelled")
    refused(transfer(waiting), "invalid_state", "cancelled")
    assert [kind for _, kind, _ in events(redis_client, before)] == ["ticket_cancelled"]
    statuses = [get_ticket(api, t["id"])["status"] for t in (served, called, waiting, no_show)]
    assert statuses == ["served", "called", "cancelled", "no_show"]


# --- position and estimate -----------------------------------------------------------------------


def settled_estimate(api: Api, ticket_id: str, expected: float, slack: float = 5.0) -> int:
    """The ticket's estimate once the background model has read the change (within a deadline).

    The model replays a snapshot taken every ``REFRESH_S`` seconds and counts down between two, so
    an estimate up to ``slack`` seconds below the replayed figure is the same figure.
    """
    deadline = time.monotonic() + 4 * estimate.REFRESH_S + 5
    while True:
        value = int(get_ticket(api, ticket_id)["estimated_wait_s"])
        if round(expected) - slack <= value <= round(expected) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_ahead_and_estimated_wait_follow_the_rules(api: Api) -> None:
    """`ahead` counts the calls before a ticket; the estimate replays call-next over the open counters."""
    # Nothing measured yet: a call takes the configured handling time, or a short no-show at the
    # prior no-show rate. A: 300 s, served by counters 1, 2, 3; C: 180 s, by counters 1 and 4.
    step_a = estimate.per_call_s(estimate.Handling(300), estimate.PRIOR_NO_SHOW_RATE, estimate.DEFAULT_NO_SHOW_S)
    step_c = estimate.per_call_s(estimate.Handling(180), estimate.PRIOR_NO_SHOW_RATE, estimate.DEFAULT_NO_SHOW_S)
    regular = [api.issue("A") for _ in range(3)]
    # Three idle counters call all three at once.
    assert [(t["ahead"], t["estimated_wait_s"]) for t in regular] == [(0, 0), (1, 0), (2, 0)]
    priority = api.issue("A", priority=True)
    assert (priority["ahead"], priority["estimated_wait_s"]) == (0, 0)
    # Now one priority ticket goes before each regular one (cap 1).
    assert [get_ticket(api, t["id"])["ahead"] for t in regular] == [1, 2, 3]

    ok(api.counter("2", "pause", {"reason": "break"}))
    ok(api.counter("3", "close"))
    # Counter 1 alone: the priority ticket, then the three regular ones, one handling time apart.
    assert settled_estimate(api, regular[2]["id"], 3 * step_a) in range(round(3 * step_a) - 5, round(3 * step_a) + 1)
    ok(api.counter("1", "close"))
    # With no counter open for A nobody can call it: no minutes are promised, the place in line stands.
    unserved = get_ticket(api, regular[2]["id"])
    assert (unserved["ahead"], unserved["estimated_wait_s"]) == (3, None)

    c1, c2 = api.issue("C"), api.issue("C")
    assert (c1["ahead"], c2["ahead"]) == (0, 1)
    # Counter 4 serves C alone: the second waits one C handling time.
    assert settled_estimate(api, c2["id"], step_c) in range(round(step_c) - 5, round(step_c) + 1)
    ok(api.counter("1", "open"))
    # Counter 1 is shared: it calls the priority A ticket first, so C2 still waits for counter 4,
    # and the first regular A ticket gets counter 1 once the priority one is served.
    assert settled_estimate(api, c2["id"], step_c) in range(round(step_c) - 5, round(step_c) + 1)
    assert settled_estimate(api, regular[0]["id"], step_a) in range(round(step_a) - 5, round(step_a) + 1)

    called = call_next(api, "1")
    assert called["id"] == priority["id"]
    assert (called["ahead"], called["estimated_wait_s"]) == (None, None)
    assert [get_ticket(api, t["id"])["ahead"] for t in regular] == [0, 1, 2]


# --- events --------------------------------------------------------------------------------------


def test_every_change_appends_exactly_one_event(api: Api, redis_client: redis.Redis) -> None:
    """Each change appends one event of its type carrying ticket, counter and staff."""
    alice = api.user("alice", "staff", ["2"])

    def as_alice(action: str, body: Json | None = None) -> httpx.Response:
        return api.http.post(f"/api/branches/main/counters/2/{action}", json=body or {}, headers=api.auth(alice))

    def one_event(expected_type: str) -> Json:
        nonlocal seq
        new = events(redis_client, seq)
        assert [kind for _, kind, _ in new] == [expected_type]
        seq = new[0][0]
        data = new[0][2]
        assert data["type"] == expected_type
        assert data["branch"] == "main"
        assert data["at"] and data["ts"]
        return data

    seq = last_seq(redis_client)
    a1 = api.issue("A")
    issued = one_event("ticket_issued")
    assert issued["ticket"]["id"] == a1["id"]
    assert issued["ticket"]["number"] == "A001"
    assert issued["ticket"]["service"] == "A"

    ok(as_alice("call-next"))
    data = one_event("ticket_called")
    assert (data["ticket"]["id"], data["counter"], data["staff"]) == (a1["id"], "2", "alice")
    ok(as_alice("recall"))
    assert one_event("ticket_recalled")["staff"] == "alice"
    ok(as_alice("finish"))
    data = one_event("ticket_served")
    assert (data["ticket"]["status"], data["counter"], data["staff"]) == ("served", "2", "alice")

    a2 = api.issue("A")
    one_event("ticket_issued")
    ok(as_alice("call", {"number": "A002"}))
    assert one_event("ticket_called")["ticket"]["id"] == a2["id"]
    ok(as_alice("no-show"))
    data = one_event("ticket_no_show")
    assert (data["ticket"]["status"], data["counter"], data["staff"]) == ("no_show", "2", "alice")
    ok(as_alice("reactivate", {"number": "A002"}))
    data = one_event("ticket_reactivated")
    assert (data["ticket"]["status"], data["counter"], data["staff"]) == ("waiting", "2", "alice")
    ok(as_alice("call-next"))
    one_event("ticket_called")
    ok(as_alice("transfer", {"service": "C"}))
    data = one_event("ticket_transferred")
    assert (data["from_service"], data["to_service"]) == ("A", "C")
    assert (data["counter"], data["staff"]) == ("2", "alice")
    ok(api.http.post(f"/api/branches/main/tickets/{a2['id']}/cancel"))
    assert one_event("ticket_cancelled")["ticket"]["status"] == "cancelled"

    ok(as_alice("pause", {"reason": "tea"}))
    data = one_event("counter_paused")
    assert (data["counter"], data["status"], data["reason"], data["staff"]) == ("2", "paused", "tea", "alice")
    ok(as_alice("open"))
    data = one_event("counter_opened")
    assert (data["counter"], data["status"], data["staff"]) == ("2", "open", "alice")
    ok(as_alice("close"))
    data = one_event("counter_closed")
    assert (data["counter"], data["status"], data["staff"]) == ("2", "closed", "alice")

    # Reads change nothing and append nothing.
    api.state()
    get_ticket(api, a1["id"])
    assert events(redis_client, seq) == []


def test_idempotency_key_replays_the_same_ticket(api: Api, redis_client: redis.Redis) -> None:
    """A retried issue with the same Idempotency-Key returns the same ticket and uses no new number."""

    def issue(key: str | None) -> httpx.Response:
        headers = api.auth(api.admin())
        if key:
            headers["Idempotency-Key"] = key
        return api.http.post("/api/branches/main/tickets", json={"service": "A"}, headers=headers)

    first = issue("kiosk-1:0001")
    assert first.status_code == 201
    replay = issue("kiosk-1:0001")
    assert replay.status_code == 201
    assert replay.json()["id"] == first.json()["id"]
    assert replay.json()["number"] == "A001"
    assert issue("kiosk-1:0002").json()["number"] == "A002"
    assert issue(None).json()["number"] == "A003"
    issued = [data["ticket"]["number"] for _, kind, data in events(redis_client) if kind == "ticket_issued"]
    assert issued == ["A001", "A002", "A003"]
    # A replay after the ticket moved on shows its current status.
    serve(api, "2")
    assert issue("kiosk-1:0001").json()["status"] == "served"
    bad = issue("no spaces allowed")
    assert bad.status_code == 422
    assert bad.json()["error"]["field"] == "Idempotency-Key"
