"""Ratings and complaints over HTTP: who may send what, when, how often; the managers' side."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
import redis

from server import keys
from server.phone import COMPLAINTS_PER_TICKET
from tests.conftest import Api
from tests.phone.conftest import ok, random_id, serve

pytestmark = pytest.mark.redis


def rate(api: Api, ticket: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    return api.http.post(f"/api/branches/main/tickets/{ticket['id']}/rating", json=body)


def complain(api: Api, ticket: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    return api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json=body)


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def served_ticket(api: Api) -> dict[str, Any]:
    ticket = api.issue("A")
    serve(api, "2")
    return ticket


def test_only_a_served_ticket_can_be_rated(hall: Api) -> None:
    """A waiting, called or cancelled ticket is refused 409 naming its state."""
    waiting = hall.issue("A")
    assert error_of(rate(hall, waiting, {"rating": 5}), 409) | {"message": ""} == {
        "code": "invalid_state", "message": "", "state": "waiting", "number": waiting["number"]}  # fmt: skip
    ok(hall.counter("2", "call-next"))
    assert error_of(rate(hall, waiting, {"rating": 5}), 409)["state"] == "called"
    leaving = hall.issue("A")
    ok(hall.http.post(f"/api/branches/main/tickets/{leaving['id']}/cancel"))
    assert error_of(rate(hall, leaving, {"rating": 5}), 409)["state"] == "cancelled"
    assert error_of(rate(hall, {"id": random_id()}, {"rating": 5}), 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("body", "field"),
    [({}, "rating"), ({"rating": 0}, "rating"), ({"rating": 6}, "rating"), ({"rating": 4.5}, "rating"),
     ({"rating": True}, "rating"), ({"rating": "5"}, "rating"), ({"rating": 5, "comment": "x" * 501}, "comment"),
     ({"rating": 5, "comment": 7}, "comment")],
)  # fmt: skip
def test_a_rating_is_a_whole_number_from_1_to_5_with_a_short_comment(
    hall: Api, body: dict[str, Any], field: str
) -> None:
    """Anything else is 422 naming the field, and the ticket can still be rated."""
    ticket = served_ticket(hall)
    assert error_of(rate(hall, ticket, body), 422)["field"] == field
    assert ok(rate(hall, ticket, {"rating": 3, "comment": "x" * 500}), 201)["rating"] == 3


def test_a_complaint_needs_text_and_at_most_a_phone_number(hall: Api) -> None:
    """Empty or too long text, or a phone that is not a number: 422 naming the field."""
    ticket = served_ticket(hall)
    assert error_of(complain(hall, ticket, {}), 422)["field"] == "text"
    assert error_of(complain(hall, ticket, {"text": "x" * 1001}), 422)["field"] == "text"
    assert error_of(complain(hall, ticket, {"text": "rude", "phone": "call me"}), 422)["field"] == "phone"
    assert ok(complain(hall, ticket, {"text": "x" * 1000}), 201)["state"] == "open"


def test_a_ticket_files_at_most_three_complaints(hall: Api) -> None:
    """The fourth complaint of one ticket is refused 409 too_many_complaints."""
    ticket = hall.issue("A")  # a waiting ticket may complain too
    for _ in range(COMPLAINTS_PER_TICKET):
        ok(complain(hall, ticket, {"text": "still waiting"}), 201)
    assert error_of(complain(hall, ticket, {"text": "again"}), 409)["code"] == "too_many_complaints"


def test_phone_numbers_are_encrypted_and_shown_only_to_managers(
    hall: Api, hall_redis: redis.Redis, manager: dict[str, str]
) -> None:
    """Redis holds a Fernet token, not the number; the manager's list decrypts it."""
    ticket = served_ticket(hall)
    filed = ok(complain(hall, ticket, {"text": "lost my card", "phone": "13800138000"}), 201)
    stored = cast(dict[str, str], hall_redis.hgetall(keys.complaint("main", filed["id"])))
    assert stored["phone"].startswith("gAAAAA") and "13800138000" not in str(stored)
    listed = ok(hall.http.get("/api/branches/main/complaints", headers=manager))["complaints"]
    assert [c["phone"] for c in listed if c["id"] == filed["id"]] == ["13800138000"]


def test_only_managers_and_admins_see_and_answer_complaints(hall: Api) -> None:
    """No token: 401; staff: 403; the same for answering."""
    staff = hall.auth(hall.user("clerk", "staff", ["1"]))
    assert error_of(hall.http.get("/api/branches/main/complaints"), 401)["code"] == "unauthorized"
    assert error_of(hall.http.get("/api/branches/main/complaints", headers=staff), 403)["code"] == "forbidden"
    assert error_of(hall.http.patch(f"/api/branches/main/complaints/{random_id()}", json={"state": "closed"},
                                    headers=staff), 403)["code"] == "forbidden"  # fmt: skip
    assert error_of(hall.http.get("/api/branches/main/ratings", headers=staff), 403)["code"] == "forbidden"


def test_complaint_states_follow_their_transitions(hall: Api, manager: dict[str, str]) -> None:
    """open -> answered (needs an answer) -> closed; reopened; a closed one cannot be answered."""
    ticket = served_ticket(hall)
    filed = ok(complain(hall, ticket, {"text": "too slow"}), 201)
    url = f"/api/branches/main/complaints/{filed['id']}"
    assert error_of(hall.http.patch(url, json={"state": "answered"}, headers=manager), 422)["field"] == "answer"
    assert error_of(hall.http.patch(url, json={"state": "open"}, headers=manager), 409)["state"] == "open"
    assert error_of(hall.http.patch(url, json={"state": "lost"}, headers=manager), 422)["field"] == "state"
    assert ok(hall.http.patch(url, json={"answer": "Sorry."}, headers=manager))["state"] == "answered"
    closed = ok(hall.http.patch(url, json={"state": "closed"}, headers=manager))
    assert (closed["state"], closed["answer"]) == ("closed", "Sorry.") and closed["closed_at"]
    assert error_of(hall.http.patch(url, json={"answer": "More"}, headers=manager), 409)["state"] == "closed"
    assert ok(hall.http.patch(url, json={"state": "open"}, headers=manager))["state"] == "open"
    assert error_of(hall.http.patch(f"/api/branches/main/complaints/{random_id()}", json={"state": "closed"},
                                    headers=manager), 404)["code"] == "not_found"  # fmt: skip


def test_answering_a_complaint_is_audited(hall: Api, manager: dict[str, str]) -> None:
    """The audit log names the manager and the complaint."""
    filed = ok(complain(hall, served_ticket(hall), {"text": "queue jumped"}), 201)
    ok(hall.http.patch(f"/api/branches/main/complaints/{filed['id']}", json={"answer": "Checked."}, headers=manager))
    entries = ok(hall.http.get("/api/branches/main/audit", headers=hall.auth(hall.admin())))["entries"]
    assert [(e["actor"], e["details"]["complaint"]) for e in entries if e["action"] == "complaint_answered"][:1] == [
        ("manager1", filed["id"])
    ]


def test_managers_read_ratings_with_their_comments(hall: Api, manager: dict[str, str]) -> None:
    """Newest first, with number, counter, staff and comment."""
    ticket = served_ticket(hall)
    ok(rate(hall, ticket, {"rating": 2, "comment": "long wait"}), 201)
    ratings = ok(hall.http.get("/api/branches/main/ratings?count=1", headers=manager))["ratings"]
    assert [(r["number"], r["rating"], r["comment"], r["counter"], r["staff"]) for r in ratings] == [
        (ticket["number"], 2, "long wait", "2", "admin")
    ]


def test_feedback_keys_are_where_server_keys_says(hall: Api, hall_redis: redis.Redis) -> None:
    """The scripts write the feedback keys server/keys.py names."""
    ticket = served_ticket(hall)
    ok(rate(hall, ticket, {"rating": 5}), 201)
    filed = ok(complain(hall, ticket, {"text": "noisy", "phone": "+8613800138000"}), 201)
    assert hall_redis.zscore(keys.ratings("main"), ticket["id"]) is not None
    assert hall_redis.hget(keys.rating("main", ticket["id"]), "rating") == "5"
    assert hall_redis.zscore(keys.complaints("main"), filed["id"]) is not None
    assert hall_redis.zscore(keys.complaint_phones("main"), filed["id"]) is not None
    assert hall_redis.smembers(keys.ticket_complaints("main", ticket["id"])) == {filed["id"]}
    assert hall_redis.get(keys.feedback_secret()) is None  # the key is in the secrets file, not in Redis
