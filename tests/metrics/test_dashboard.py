"""The manager's dashboard in a real browser: its figures are the metrics API's, and it follows events live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page, expect

from server.clock import ManualClock
from tests.browser import chromium
from tests.metrics.conftest import Hall, running_hall, shanghai
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]

expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def scripted_day(hall: Hall) -> None:
    """A Monday a week ago with one ticket, then this Monday's morning up to 10:20 (A003 waiting)."""
    hall.at(10, 0, day=(2026, 2, 23)).act(hall.alice, "1", "open")
    hall.issue("A")
    hall.at(10, 5, day=(2026, 2, 23)).act(hall.alice, "1", "call-next")
    hall.at(10, 10, day=(2026, 2, 23)).act(hall.alice, "1", "finish")
    hall.act(hall.alice, "1", "close")

    hall.at(9, 0).act(hall.alice, "1", "open")
    hall.act(hall.bob, "2", "open")
    hall.issue("A")
    hall.at(9, 2).issue("A")
    hall.at(9, 5).issue("B")
    hall.at(9, 6).act(hall.alice, "1", "call-next")  # A001, waited 6 min
    hall.at(9, 8).act(hall.bob, "2", "call-next")  # B001, waited 3 min
    hall.at(9, 10).act(hall.alice, "1", "finish")
    hall.at(9, 14).act(hall.bob, "2", "finish")
    hall.rate("A001", 4)  # alice's customer
    hall.at(9, 15).act(hall.alice, "1", "call-next")  # A002, waited 13 min: over A's 10
    hall.at(9, 16).act(hall.alice, "1", "no-show")
    hall.at(10, 0).issue("A")
    hall.at(10, 20)


def expect_value(page: Page, selector: str, expected: Any) -> None:
    locator = page.locator(selector)
    expect(locator).to_have_attribute("data-value", "" if expected is None else str(expected).removesuffix(".0"))


def test_the_dashboard_shows_the_metrics_of_the_api_and_follows_events(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path, browser: Browser
) -> None:
    """Tiles, queues, counters, hours, staff and the previous week equal the API; a call shows live."""
    clock = ManualClock(shanghai(2026, 2, 23, 10, 0))
    with running_hall(redis_url, tmp_path, clock) as hall:
        scripted_day(hall)
        report = hall.metrics().json()
        week_ago = hall.metrics(**{"from": "2026-02-23", "to": "2026-02-23"}).json()
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
        try:
            page = context.new_page()
            log_in(page, hall.api.url, "molly", path="/dashboard")
            expect(page.locator("h1")).to_contain_text("Dashboard")

            totals, live = report["totals"], report["live"]
            assert (live["waiting"], live["longest_wait_s"]) == (1, 1200.0)
            expect(page.locator("#kpi-waiting")).to_have_text("1")
            expect(page.locator("#kpi-longest-wait")).to_have_text("20:00")
            assert (totals["issued"], totals["served"], totals["no_shows"]) == (4, 2, 1)
            expect(page.locator("#kpi-issued")).to_have_text("4")
            expect(page.locator("#kpi-served")).to_have_text("2")
            expect(page.locator("#kpi-no-shows")).to_have_text("1")
            # Called 3, within target 2 (A001 6 min of 10, B001 3 min of 5; A002 13 min late).
            assert totals["service_level"] == 0.6667
            expect(page.locator("#kpi-service-level")).to_have_text("67%")
            expect_value(page, "#kpi-mean-wait", totals["wait"]["mean_s"])
            expect(page.locator("#kpi-mean-wait")).to_have_text("7:20")  # (6 + 3 + 13) / 3 min

            queue_a = page.locator('#queues tr[data-service="A"]')
            expect(queue_a.locator('[data-field="waiting"]')).to_have_text("1")
            expect(queue_a.locator('[data-field="open_counters"]')).to_have_text("1")
            counter_1 = page.locator('#counters tr[data-counter="1"]')
            expect(counter_1.locator('[data-field="staff"]')).to_have_text("alice")
            expect(counter_1.locator('[data-field="served"]')).to_have_text(str(report["by_counter"]["1"]["served"]))
            expect_value(page, '#counters tr[data-counter="1"] [data-field="utilisation"]',
                         report["by_counter"]["1"]["utilisation"])  # fmt: skip

            for name in ("alice", "bob"):
                figures = report["by_staff"][name]
                row = f'#staff tr[data-staff="{name}"]'
                for field, expected in (("calls", figures["calls"]), ("served", figures["served"]),
                                        ("no_shows", figures["no_shows"]),
                                        ("handling_mean_s", figures["handling"]["mean_s"])):  # fmt: skip
                    expect_value(page, f'{row} [data-field="{field}"]', expected)
            expect(page.locator('#staff tr[data-staff="bob"] [data-field="handling_mean_s"]')).to_have_text("6:00")
            assert (report["by_staff"]["alice"]["ratings"], report["by_staff"]["alice"]["rating_mean"]) == (1, 4)
            expect(page.locator('#staff tr[data-staff="alice"] [data-field="rating_mean"]')).to_have_text("4.0 (1)")
            expect(page.locator('#staff tr[data-staff="bob"] [data-field="rating_mean"]')).to_have_text("—")

            for hour in ("09", "10"):
                expect_value(page, f'#hour-table tr[data-hour="{hour}"] [data-field="issued"]',
                             report["by_hour"][hour]["issued"])  # fmt: skip
                bar = page.locator(f'#chart-arrivals rect[data-hour="{hour}"][data-field="issued"]')
                expect(bar).to_have_attribute("data-value", str(report["by_hour"][hour]["issued"]))
            expect(page.locator('#chart-waits circle[data-hour="09"][data-field="mean_s"]')).to_have_count(1)

            assert week_ago["totals"]["issued"] == 1
            expect(page.locator('#compare th[data-column="week-1"]')).to_have_text("2026-02-23")
            expect(page.locator('#compare tr[data-measure="issued"] td[data-column="week-1"]')).to_have_text("1")
            expect(page.locator('#compare tr[data-measure="issued"] td[data-column="today"]')).to_have_text("4")
            expect_value(page, '#compare tr[data-measure="handling_mean_s"] td[data-column="week-1"]',
                         week_ago["totals"]["handling"]["mean_s"])  # fmt: skip

            # Live: alice calls A003; the page follows through the staff socket, without a reload.
            hall.act(hall.alice, "1", "call-next")
            expect(page.locator("#kpi-waiting")).to_have_text("0")
            expect(counter_1.locator('[data-field="current"]')).to_have_text("A003")
            expect(page.locator("#kpi-service-level")).to_have_text("50%")  # A003 waited 20 min: late

            page.goto(f"{hall.api.url}/dashboard?lang=zh")
            expect(page.locator("h1")).to_contain_text("运营看板")
            expect(page.locator("#kpi-issued")).to_have_text("4")
        finally:
            context.close()


def test_only_managers_and_admins_open_the_dashboard(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """Nobody logged in goes to the login page, staff to their counter, another branch's URL is 404."""
    clock = ManualClock(shanghai(2026, 3, 2, 9, 0))
    with running_hall(redis_url, tmp_path, clock) as hall:
        anonymous = httpx.get(f"{hall.api.url}/dashboard", follow_redirects=False)
        assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/dashboard"
        for username, status, where in (("alice", 303, "/counter"), ("molly", 200, None)):
            with httpx.Client(base_url=hall.api.url) as session:
                login = session.post("/login", data={"username": username, "password": f"pw-{username}-123"})
                assert login.status_code == 303
                page = session.get("/dashboard/hall", follow_redirects=False)
                assert page.status_code == status
                assert page.headers.get("location") == where
                if status == 200:
                    assert "script-src 'self'" in page.headers["content-security-policy"]
                    assert session.get("/dashboard/elsewhere").status_code == 404
