"""Business days and opening hours through the real API, with a clock the test holds.

The server runs in this process (``InProcessServer``) on a real port and a real Redis, so the test
can move its ``ManualClock`` through midnight and across opening hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from server import keys
from server.clock import ManualClock
from server.config import Branch, demo_branch, parse_config
from server.settings import Settings
from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD, InProcessServer

pytestmark = pytest.mark.redis

#: Weekdays 08:30-12:00 and 13:00-17:30 in Shanghai, Sundays closed; V has a daily cap of 2.
HOURS_BRANCH = """
[branch]
id = "hall"
name_zh = "营业厅"
name_en = "Hall"
timezone = "Asia/Shanghai"

[hours]
mon = ["08:30-12:00", "13:00-17:30"]
tue = ["08:30-12:00", "13:00-17:30"]
wed = ["08:30-12:00", "13:00-17:30"]
thu = ["08:30-12:00", "13:00-17:30"]
fri = ["08:30-12:00", "13:00-17:30"]
sun = "closed"

[[services]]
id = "A"
prefix = "A"
name_zh = "个人业务"
name_en = "Personal services"
stop_issuing_before_close_min = 15

[[services]]
id = "V"
prefix = "V"
name_zh = "贵宾理财"
name_en = "Wealth management"
daily_cap = 2

[[counters]]
id = "1"
services = ["A", "V"]
initial_status = "open"
"""


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def shanghai(*args: int) -> datetime:
    """A Shanghai wall-clock time (UTC+8, no daylight saving) as the UTC moment the server sees."""
    return datetime(*args, tzinfo=demo_branch().zone).astimezone(UTC)


@contextmanager
def running(branch: Branch, clock: ManualClock, redis_url: str, tmp_path: Path) -> Iterator[Api]:
    settings = Settings(redis_url=None, data_dir=tmp_path / "data", admin_password=ADMIN_PASSWORD, public_url=None)
    with InProcessServer(settings, branch, redis_url, clock) as server:
        api = Api(server.url)
        try:
            yield api
        finally:
            api.close()


def issue(api: Api, service: str, branch: str) -> httpx.Response:
    return api.http.post(
        f"/api/branches/{branch}/tickets",
        json={"service": service, "priority": False},
        headers=api.auth(api.admin()),
    )


def get_ticket(api: Api, ticket_id: str, branch: str = "main") -> dict[str, Any]:
    response = api.http.get(f"/api/branches/{branch}/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def test_numbers_restart_at_local_midnight_not_utc(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """At 00:00 in Shanghai (16:00 UTC, still the same UTC date) numbering starts again at 001."""
    clock = ManualClock(shanghai(2026, 3, 2, 23, 58))
    with running(demo_branch(), clock, redis_url, tmp_path) as api:
        first, second = api.issue("A"), api.issue("A")
        assert [first["number"], second["number"]] == ["A001", "A002"]
        assert first["business_day"] == "2026-03-02"
        assert first["issued_at"].startswith("2026-03-02T23:58:00")
        assert first["issued_at"].endswith("+08:00")

        clock.set(utc(2026, 3, 2, 15, 59, 59))  # 23:59:59 local: still Monday's numbering
        assert api.issue("A")["number"] == "A003"

        clock.set(utc(2026, 3, 2, 16, 0))  # 00:00 local on the 3rd; UTC is still the 2nd
        today = api.issue("A")
        assert today["number"] == "A001"
        assert today["business_day"] == "2026-03-03"
        assert today["issued_at"].startswith("2026-03-03T00:00:00")
        assert today["id"] != first["id"]
        assert api.issue("B")["number"] == "B001"
        assert api.issue("A")["number"] == "A002"


def test_yesterdays_tickets_stay_readable(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """After the rollover, yesterday's tickets are still served by GET with their number and day."""
    clock = ManualClock(shanghai(2026, 3, 2, 23, 58))
    with running(demo_branch(), clock, redis_url, tmp_path) as api:
        yesterday = [api.issue("A"), api.issue("C")]
        clock.set(shanghai(2026, 3, 3, 9, 0))
        api.issue("A")
        for ticket in yesterday:
            again = get_ticket(api, ticket["id"])
            assert again["number"] == ticket["number"]
            assert again["business_day"] == "2026-03-02"
            assert again["issued_at"] == ticket["issued_at"]
            assert again["status"] == "waiting"
        # Yesterday's records are kept, under yesterday's date.
        assert redis_client.hget(keys.numbers("main", "2026-03-02"), "A001") == yesterday[0]["id"]
        assert redis_client.hget(keys.numbering("main", "2026-03-02"), "A") == "1"
        assert redis_client.hget(keys.numbering("main", "2026-03-03"), "A") == "1"


def test_yesterdays_waiting_tickets_after_rollover(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Numbers name today's tickets; yesterday's waiting tickets stay queued and call-next takes them first.

    Decided behaviour: the rollover restarts numbering but does not purge the queues. A ticket still
    waiting at midnight (an around-the-clock branch) keeps its place: it has waited longest, so
    call-next calls it before today's tickets. Calling or reactivating *by number* means today's
    ticket of that number; a number only yesterday had is not found.
    """
    clock = ManualClock(shanghai(2026, 3, 2, 23, 58))
    with running(demo_branch(), clock, redis_url, tmp_path) as api:
        old_a1, old_a2 = api.issue("A"), api.issue("A")
        clock.set(utc(2026, 3, 2, 16, 1))
        new_a1 = api.issue("A")
        assert new_a1["number"] == old_a1["number"] == "A001"
        # Yesterday's two tickets are ahead of today's first.
        assert new_a1["ahead"] == 2

        by_number = api.counter("2", "call", {"number": "A001"})
        assert by_number.status_code == 200, by_number.text
        assert by_number.json()["id"] == new_a1["id"]
        assert by_number.json()["business_day"] == "2026-03-03"
        assert api.counter("2", "finish").status_code == 200

        only_yesterday = api.counter("2", "call", {"number": "A002"})
        assert only_yesterday.status_code == 404
        assert only_yesterday.json()["error"]["code"] == "not_found"

        called = []
        for _ in range(2):
            response = api.counter("2", "call-next")
            assert response.status_code == 200, response.text
            called.append(response.json())
            assert api.counter("2", "finish").status_code == 200
        assert [t["id"] for t in called] == [old_a1["id"], old_a2["id"]]
        assert all(t["business_day"] == "2026-03-02" for t in called)
        assert api.counter("2", "call-next").status_code == 204


@pytest.mark.parametrize(
    ("moment", "code"),
    [
        (shanghai(2026, 3, 2, 7, 0), "closed"),  # Monday before opening
        (shanghai(2026, 3, 2, 12, 30), "closed"),  # lunch break
        (shanghai(2026, 3, 2, 17, 30), "closed"),  # closing time
        (shanghai(2026, 3, 7, 10, 0), "closed"),  # Saturday: not listed
        (shanghai(2026, 3, 8, 10, 0), "closed"),  # Sunday: "closed"
        (shanghai(2026, 3, 2, 17, 20), "stopped_issuing"),  # within A's 15 min margin
        (shanghai(2026, 3, 2, 11, 50), "stopped_issuing"),  # before the lunch break too
    ],
)
def test_issue_refused_outside_hours(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path, moment: datetime, code: str
) -> None:
    """Outside hours, or within the stop-issuing margin, issuing is 409 with a reason in both languages."""
    clock = ManualClock(moment)
    with running(parse_config(HOURS_BRANCH), clock, redis_url, tmp_path) as api:
        events_before = redis_client.xlen(keys.events("hall"))
        response = issue(api, "A", "hall")
        assert response.status_code == 409
        error = response.json()["error"]
        assert error["code"] == code
        assert error["message"]
        assert error["message_zh"]
        assert redis_client.xlen(keys.events("hall")) == events_before
        # The refusal consumed no number: the first ticket once open is A001.
        clock.set(shanghai(2026, 3, 9, 9, 0))
        assert issue(api, "A", "hall").json()["number"] == "A001"


def test_issue_allowed_inside_hours(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Inside the hours, up to the margin, tickets are issued."""
    clock = ManualClock(shanghai(2026, 3, 2, 8, 30))
    with running(parse_config(HOURS_BRANCH), clock, redis_url, tmp_path) as api:
        for hour, minute in ((8, 30), (13, 0), (17, 14)):
            clock.set(shanghai(2026, 3, 2, hour, minute))
            response = issue(api, "A", "hall")
            assert response.status_code == 201, response.text


def test_daily_cap(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Past its daily cap a service refuses with 409 daily_cap_reached, uses no number, resets next day."""
    clock = ManualClock(shanghai(2026, 3, 2, 10, 0))
    with running(parse_config(HOURS_BRANCH), clock, redis_url, tmp_path) as api:
        assert [issue(api, "V", "hall").json()["number"] for _ in range(2)] == ["V001", "V002"]
        events_before = redis_client.xlen(keys.events("hall"))
        for _ in range(2):
            refused = issue(api, "V", "hall")
            assert refused.status_code == 409
            error = refused.json()["error"]
            assert error["code"] == "daily_cap_reached"
            assert "2" in error["message"]
            assert "贵宾理财" in error["message_zh"]
        assert redis_client.hget(keys.numbering("hall", "2026-03-02"), "V") == "2"
        assert redis_client.xlen(keys.events("hall")) == events_before
        # Another service is not capped.
        assert issue(api, "A", "hall").json()["number"] == "A001"

        clock.set(shanghai(2026, 3, 3, 9, 0))
        next_day = issue(api, "V", "hall")
        assert next_day.status_code == 201, next_day.text
        assert next_day.json()["number"] == "V001"
