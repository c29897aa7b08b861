"""A small branch for metrics tests, and running it in this process with a clock the test holds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from server.clock import ManualClock
from server.config import Branch, parse_config
from server.settings import Settings
from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD, InProcessServer

#: Open around the clock in Shanghai; A (target 10 min) at counter 1, B (target 5 min) at 1 and 2;
#: both counters start closed, so every opening is an event.
HALL = """
[branch]
id = "hall"
name_zh = "营业厅"
name_en = "Hall"
timezone = "Asia/Shanghai"

[[services]]
id = "A"
prefix = "A"
name_zh = "个人业务"
name_en = "Personal"
target_wait_min = 10

[[services]]
id = "B"
prefix = "B"
name_zh = "对公业务"
name_en = "Business"
target_wait_min = 5

[[counters]]
id = "1"
services = ["A", "B"]

[[counters]]
id = "2"
services = ["B"]
"""


def hall() -> Branch:
    return parse_config(HALL)


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Shanghai wall-clock time as the UTC moment the server sees."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


class Hall:
    """The hall branch on a real port, with staff alice (counter 1), bob (counter 2) and a manager."""

    def __init__(self, api: Api, clock: ManualClock, earlier: Hall | None = None) -> None:
        self.api = api
        self.clock = clock
        self.alice: str
        self.bob: str
        self.manager: str
        #: number -> ticket, of the tickets issued through ``issue`` (across restarts).
        self.issued: dict[str, dict[str, Any]] = dict(earlier.issued) if earlier is not None else {}
        if earlier is not None:
            # Tokens are signed with the data directory's secrets file: an earlier run's stay valid.
            api._tokens["admin"] = earlier.api.admin()
            self.alice, self.bob, self.manager = earlier.alice, earlier.bob, earlier.manager
            return
        self.alice = self.account("alice", "staff", ["1"])
        self.bob = self.account("bob", "staff", ["2"])
        self.manager = self.account("molly", "manager")

    def account(self, username: str, role: str, counters: list[str] | None = None) -> str:
        """A token for the account, creating it unless an earlier server run on this Redis did."""
        response = self.api.http.post(
            "/api/users",
            json={"username": username, "password": f"pw-{username}-123", "role": role, "counters": counters or []},
            headers=self.api.auth(self.api.admin()),
        )
        assert response.status_code in (201, 409), response.text
        return self.api.login(username, f"pw-{username}-123")

    def at(self, *hm: int, day: tuple[int, int, int] = (2026, 3, 2)) -> Hall:
        self.clock.set(shanghai(*day, *hm))
        return self

    def issue(self, service: str) -> dict[str, Any]:
        response = self.api.http.post("/api/branches/hall/tickets", json={"service": service},
                                      headers=self.api.auth(self.api.admin()))  # fmt: skip
        assert response.status_code == 201, response.text
        ticket: dict[str, Any] = response.json()
        self.issued[ticket["number"]] = ticket
        return ticket

    def rate(self, number: str, rating: int) -> None:
        """The holder of ticket ``number`` rates it from the phone page."""
        ticket_id = self.issued[number]["id"]
        response = self.api.http.post(f"/api/branches/hall/tickets/{ticket_id}/rating", json={"rating": rating})
        assert response.status_code == 201, response.text

    def act(self, token: str, counter: str, action: str, body: dict[str, Any] | None = None) -> httpx.Response:
        response = self.api.http.post(f"/api/branches/hall/counters/{counter}/{action}", json=body or {},
                                      headers=self.api.auth(token))  # fmt: skip
        assert response.status_code in (200, 204), response.text
        return response

    def cancel(self, ticket: dict[str, Any]) -> None:
        response = self.api.http.post(f"/api/branches/hall/tickets/{ticket['id']}/cancel", json={})
        assert response.status_code == 200, response.text

    def metrics(self, **params: str) -> httpx.Response:
        return self.api.http.get("/api/branches/hall/metrics", params=params, headers=self.api.auth(self.manager))


@contextmanager
def running_hall(redis_url: str, tmp_path: Path, clock: ManualClock, earlier: Hall | None = None) -> Iterator[Hall]:
    settings = Settings(redis_url=None, data_dir=tmp_path / "data", admin_password=ADMIN_PASSWORD, public_url=None)
    with InProcessServer(settings, hall(), redis_url, clock) as server:
        api = Api(server.url)
        try:
            yield Hall(api, clock, earlier)
        finally:
            api.close()
