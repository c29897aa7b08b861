"""Administration in a real browser: changes take effect at once; managers only read, post and reactivate."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, expect

from tests.conftest import Api
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]


def test_an_admin_adds_a_service_and_a_member_of_staff_from_the_page(
    api: Api, new_context: Callable[[], BrowserContext]
) -> None:
    """A new service served at counter 2 and a new account work at once, without a restart."""
    page = new_context().new_page()
    log_in(page, api.url, "admin", path="/admin")
    page.click('.tabs a[data-tab="services"]')
    form = page.locator("#service-form")
    form.locator('input[name="id"]').fill("D")
    form.locator('input[name="prefix"]').fill("D")
    form.locator('input[name="name_zh"]').fill("外汇")
    form.locator('input[name="name_en"]').fill("Foreign exchange")
    form.locator('input[name="counters"][value="2"]').check()
    form.locator('button[type="submit"]').click()
    expect(page.locator('#services-table tr[data-service="D"]')).to_have_count(1)
    info = api.http.get("/api/branches/main").json()
    assert any(s["id"] == "D" for s in info["services"])
    assert "D" in next(c for c in info["counters"] if c["id"] == "2")["services"]
    expect(page.locator('#overview-services tr[data-service="D"]')).to_have_count(1)  # the live overview too

    page.click('.tabs a[data-tab="users"]')
    form = page.locator("#user-form")
    form.locator('input[name="username"]').fill("dave")
    form.locator('input[name="password"]').fill("dave-password-1")
    form.locator('input[name="counters"][value="2"]').check()
    form.locator('button[type="submit"]').click()
    expect(page.locator('#users-table tr[data-username="dave"]')).to_have_count(1)
    login = api.http.post("/api/login", json={"username": "dave", "password": "dave-password-1"})
    assert login.status_code == 200 and login.json()["counters"] == ["2"]

    page.locator('#users-table tr[data-username="dave"] button.danger').click()  # disable
    expect(page.locator('#users-table tr[data-username="dave"]')).to_contain_text("Disabled")
    assert httpx.get(f"{api.url}/api/session", headers=api.auth(login.json()["token"])).status_code == 401


def test_a_new_display_is_added_by_pairing_and_the_page_shows_no_token(
    api: Api, new_context: Callable[[], BrowserContext]
) -> None:
    """The admin enters the code the TV at /display/main shows; the display goes live; no token on the page."""
    page = new_context().new_page()
    log_in(page, api.url, "admin", path="/admin")
    page.click('.tabs a[data-tab="devices"]')
    expect(page.locator("#pair-how")).to_contain_text("/display/main")
    display = new_context().new_page()
    display.goto(f"{api.url}/display/main")
    code = display.locator("#pairing-code")
    expect(code).to_have_text(re.compile(r"^[0-9]{6}$"), timeout=10_000)
    form = page.locator("#pair-form")
    form.locator('input[name="code"]').fill(str(code.text_content()))
    form.locator('input[name="name"]').fill("hall-tv")
    form.locator('button[type="submit"]').click()
    expect(page.locator("#pair-result")).to_contain_text("Paired: hall-tv (Lobby display)")
    expect(display.locator("#connection")).to_have_attribute("data-state", "online", timeout=15_000)
    expect(page.locator('#devices-table tr[data-device="hall-tv"]')).to_have_count(1)
    html = page.content()
    assert "nxt1." not in html and "token=" not in html
    assert page.locator("#device-form").count() == 0


def test_an_admin_pairs_a_device_by_its_code_in_the_readers_language(
    api: Api, new_context: Callable[[], BrowserContext]
) -> None:
    """The pairing form approves a device's code (the device then claims its token); a wrong code is explained."""
    asked = api.http.post("/api/pairing", json={"kind": "kiosk", "branch": "main"}).json()
    page = new_context().new_page()
    log_in(page, api.url, "admin", path="/admin")
    page.click('.tabs a[data-tab="devices"]')
    form = page.locator("#pair-form")
    form.locator('input[name="code"]').fill("000000" if asked["code"] != "000000" else "000001")
    form.locator('input[name="name"]').fill("kiosk-hall-9")
    form.locator('button[type="submit"]').click()
    expect(page.locator("#pair-result")).to_contain_text("No such pairing code")
    form.locator('input[name="code"]').fill(asked["code"])
    form.locator('input[name="name"]').fill("kiosk-hall-9")
    form.locator('button[type="submit"]').click()
    expect(page.locator("#pair-result")).to_contain_text("Paired: kiosk-hall-9 (Ticket kiosk)")
    claimed = api.http.post("/api/pairing/claim", json={"claim": asked["claim"]})
    assert claimed.status_code == 200 and claimed.json()["name"] == "kiosk-hall-9"


def test_a_manager_reads_everything_but_changes_only_notices_and_reactivations(
    api: Api, new_context: Callable[[], BrowserContext]
) -> None:
    """The manager's page is read-only except the notice and reactivation forms, which work."""
    api.user("boss", "manager")
    ticket = api.issue("A")
    api.counter("1", "call-next")
    api.counter("1", "no-show")
    page = new_context().new_page()
    log_in(page, api.url, "boss", path="/admin")
    expect(page.locator("#read-only")).to_be_visible()
    page.click('.tabs a[data-tab="services"]')
    expect(page.locator('#services-table tr[data-service="A"] input[name="name_en"]')).to_be_disabled()
    expect(page.locator("#service-form")).to_be_hidden()
    page.click('.tabs a[data-tab="users"]')
    expect(page.locator("#section-users")).to_contain_text("Administrators only.")

    page.click('.tabs a[data-tab="notices"]')
    page.fill('#notice-form input[name="text_en"]', "Closing early today")
    page.click('#notice-form button[type="submit"]')
    expect(page.locator("#notice-current")).to_have_text("Closing early today")
    assert api.state()["notice"]["text_en"] == "Closing early today"

    page.click('.tabs a[data-tab="overview"]')
    page.select_option("#reactivate-counter", "1")
    page.fill('#reactivate-form input[name="number"]', ticket["number"])
    page.click('#reactivate-form button[type="submit"]')
    expect(page.locator('#overview-services tr[data-service="A"] .count')).to_have_text("1")
