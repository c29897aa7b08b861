"""Administration over HTTP: configuration changes apply at once to every process; accounts; notices; audit."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis


def test_a_renamed_service_shows_at_once_on_another_process(start_server: Callable[..., ServerProcess]) -> None:
    """A configuration change saved through one process is what the other process serves next."""
    first, second = start_server(), start_server()
    api_first, api_second = Api(first.url), Api(second.url)
    response = api_first.http.put(
        "/api/branches/main/config/services/A",
        json={"name_en": "Everyday banking", "name_zh": "日常业务"},
        headers=api_first.auth(api_first.admin()),
    )
    assert response.status_code == 200, response.text

    def seen_on_second() -> bool:
        info = api_second.http.get("/api/branches/main").json()
        return any(s["id"] == "A" and s["name_en"] == "Everyday banking" for s in info["services"])

    wait_for(seen_on_second)


def test_a_new_counter_can_call_at_once(api: Api) -> None:
    """A counter added in administration calls tickets without a restart."""
    response = api.http.put(
        "/api/branches/main/config/counters/9",
        json={"services": ["B"], "initial_status": "open", "name_zh": "9号窗口", "name_en": "Counter 9"},
        headers=api.auth(api.admin()),
    )
    assert response.status_code == 200, response.text
    ticket = api.issue("B")
    called = api.counter("9", "call-next")
    assert called.status_code == 200, called.text
    assert called.json()["id"] == ticket["id"]


def test_an_invalid_change_is_refused_and_changes_nothing(api: Api) -> None:
    """A counter serving an unknown service is refused with 422 and the configuration stays."""
    before = api.http.get("/api/branches/main/config", headers=api.auth(api.admin())).json()
    response = api.http.put(
        "/api/branches/main/config/counters/1", json={"services": ["Z"]}, headers=api.auth(api.admin())
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_field"
    after = api.http.get("/api/branches/main/config", headers=api.auth(api.admin())).json()
    assert after == before


def test_staff_cannot_change_the_configuration(api: Api) -> None:
    """Only admins change the configuration; managers may read it."""
    staff = api.user("zhang", "staff", ["1"])
    manager = api.user("li", "manager")
    change = {"name_en": "Hacked"}
    assert api.http.put("/api/branches/main/config/services/A", json=change,
                        headers=api.auth(staff)).status_code == 403
    assert api.http.put("/api/branches/main/config/services/A", json=change,
                        headers=api.auth(manager)).status_code == 403
    assert api.http.get("/api/branches/main/config", headers=api.auth(manager)).status_code == 200


def test_disabling_an_account_ends_its_sessions(api: Api) -> None:
    """A disabled account's token stops working at once and it cannot log in."""
    token = api.user("wang", "staff", ["2"])
    assert api.counter_as(token, "2", "open").status_code in (200, 409)
    response = api.http.patch("/api/users/wang", json={"disabled": True}, headers=api.auth(api.admin()))
    assert response.status_code == 200 and response.json()["disabled"] is True
    wait_for(lambda: api.counter_as(token, "2", "call-next").status_code == 401)
    login = api.http.post("/api/login", json={"username": "wang", "password": "pw-wang-123"})
    assert login.status_code == 401


def test_logout_ends_the_token(api: Api) -> None:
    """After logout the same token is refused."""
    token = api.user("zhao", "staff", ["2"])
    assert api.http.post("/api/logout", headers=api.auth(token)).status_code == 204
    assert api.counter_as(token, "2", "call-next").status_code == 401


def test_repeated_failed_logins_throttle_the_address(api: Api) -> None:
    """Five wrong passwords from one address: its next attempt, even the right one, waits (429 + Retry-After)."""
    api.user("sun", "staff", ["2"])
    for _ in range(5):
        assert api.http.post("/api/login", json={"username": "sun", "password": "wrong-pass"}).status_code == 401
    throttled = api.http.post("/api/login", json={"username": "sun", "password": "pw-sun-123"})
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "rate_limited"
    assert int(throttled.headers["Retry-After"]) >= 1


def test_a_second_member_of_staff_cannot_take_a_taken_counter(api: Api) -> None:
    """One person per counter: the second gets a clear refusal and cannot act on it."""
    first = api.user("qian", "staff", ["1"])
    second = api.user("zhou", "staff", ["1"])
    assert api.counter_as(first, "1", "take").status_code == 200
    refused = api.counter_as(second, "1", "take")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "counter_taken"
    assert "qian" in refused.json()["error"]["message"]
    api.issue("A")
    assert api.counter_as(second, "1", "call-next").json()["error"]["code"] == "counter_taken"
    assert api.counter_as(first, "1", "call-next").status_code == 200


def test_notice_appears_in_the_state(api: Api) -> None:
    """A manager's notice is in the branch state the displays read."""
    manager = api.user("wu", "manager")
    response = api.http.post(
        "/api/branches/main/notice",
        json={"text_zh": "系统维护", "text_en": "Maintenance", "emergency": True},
        headers=api.auth(manager),
    )
    assert response.status_code == 200, response.text
    notice = api.state()["notice"]
    assert notice["text_zh"] == "系统维护" and notice["emergency"] is True


def test_staff_actions_are_in_the_audit_log(api: Api) -> None:
    """Who did what, when, from which address: staff calls and admin changes are audited."""
    token = api.user("zheng", "staff", ["2"])
    api.issue("A")
    assert api.counter_as(token, "2", "call-next").status_code == 200
    api.http.patch("/api/users/zheng", json={"counters": ["1", "2"]}, headers=api.auth(api.admin()))
    entries = api.http.get("/api/branches/main/audit", headers=api.auth(api.admin())).json()["entries"]
    actions = {(e["actor"], e["action"]) for e in entries}
    assert ("zheng", "ticket_called") in actions
    assert ("admin", "user_changed") in actions
    assert all(e["source"] == "127.0.0.1" for e in entries)
    other = api.user("feng", "staff", ["3"])
    assert api.http.get("/api/branches/main/audit", headers=api.auth(other)).status_code == 403
    # Changing zheng's counters ended zheng's session: the token carried the old counters.
    assert api.counter_as(token, "2", "finish").status_code == 401


def wait_for(condition: Callable[[], bool], deadline_s: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("condition not met before the deadline")


def test_unknown_user_is_404(api: Api) -> None:
    """Changing an account that does not exist is 404."""
    response = api.http.patch("/api/users/nobody", json={"disabled": True}, headers=api.auth(api.admin()))
    assert response.status_code == 404
