"""Names users typed are shown as text everywhere: a service called <script>alert(1)</script> is harmless."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, expect

from tests.conftest import Api
from tests.web.conftest import cookie_session, log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]

SERVICE_NAME = "<script>alert(1)</script>"
COUNTER_NAME = "<img src=x onerror=alert(2)>"
REASON = "<b>back soon</b><script>alert(3)</script>"
NOTICE = '"><svg onload=alert(4)>'


def hostile_names(api: Api) -> None:
    admin = api.auth(api.admin())
    response = api.http.put("/api/branches/main/config/services/C", headers=admin,
                            json={"name_zh": SERVICE_NAME, "name_en": SERVICE_NAME})  # fmt: skip
    assert response.status_code == 200, response.text
    response = api.http.put("/api/branches/main/config/counters/4", headers=admin, json={"name_en": COUNTER_NAME})
    assert response.status_code == 200, response.text
    response = api.http.post("/api/branches/main/notice", headers=admin, json={"text_zh": NOTICE, "text_en": NOTICE})
    assert response.status_code == 200, response.text
    assert api.counter("4", "pause", {"reason": REASON}).status_code == 200
    api.issue("C")


def watch_dialogs(page: Page) -> list[str]:
    """Every dialog the page opens (an injected alert would be one); dismissed at once."""
    opened: list[str] = []

    def seen(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    return opened


def nothing_injected(page: Page) -> None:
    expect(page.locator("img[src='x']")).to_have_count(0)
    expect(page.locator("svg")).to_have_count(0)
    expect(page.locator("b", has_text="back soon")).to_have_count(0)


def test_hostile_names_show_literally_on_the_counter_admin_and_display_pages(
    api: Api, new_context: Callable[[], BrowserContext]
) -> None:
    """Service, counter, pause reason and notice texts full of markup show as typed and run nothing."""
    api.user("carol", "staff", ["1", "4"])
    display_token = api.user("tv1", "display")
    hostile_names(api)

    counter = new_context().new_page()
    counter_dialogs = watch_dialogs(counter)
    log_in(counter, api.url, "carol")
    expect(counter.locator('button.choice[data-counter="4"]')).to_have_text(COUNTER_NAME)
    counter.click('button.choice[data-counter="1"]')
    expect(counter.locator('#waiting li[data-service="C"] .service-name')).to_have_text(SERVICE_NAME)
    expect(counter.locator("#next li .service-name")).to_have_text([SERVICE_NAME])
    counter.keyboard.press("n")
    expect(counter.locator("#current-service")).to_have_text(SERVICE_NAME)
    expect(counter.locator('#transfer-service option[value="B"]')).to_have_count(1)
    counter.click("#leave")
    counter.click('button.choice[data-counter="4"]')
    expect(counter.locator("#counter-name")).to_have_text(COUNTER_NAME)
    expect(counter.locator("#counter-reason")).to_have_text(REASON)
    nothing_injected(counter)

    admin = new_context().new_page()
    admin_dialogs = watch_dialogs(admin)
    log_in(admin, api.url, "admin", path="/admin")
    expect(admin.locator('#overview-services tr[data-service="C"] td').nth(1)).to_have_text(SERVICE_NAME)
    expect(admin.locator('#overview-counters tr[data-counter="4"] td').first).to_have_text(COUNTER_NAME)
    expect(admin.locator('#overview-counters tr[data-counter="4"] td').nth(2)).to_have_text(REASON)
    expect(admin.locator("#overview-notice")).to_contain_text(NOTICE)
    admin.click('.tabs a[data-tab="services"]')
    expect(admin.locator('#services-table tr[data-service="C"] input[name="name_en"]')).to_have_value(SERVICE_NAME)
    admin.click('.tabs a[data-tab="counters"]')
    expect(admin.locator('#counters-table tr[data-counter="1"]')).to_contain_text(SERVICE_NAME)
    nothing_injected(admin)

    display = new_context().new_page()
    display_dialogs = watch_dialogs(display)
    display.goto(f"{api.url}/display/main?token={display_token}")
    expect(display.locator("#connection")).to_have_attribute("data-state", "online")
    expect(display.locator('#waiting li[data-service="C"] .en')).to_have_text(SERVICE_NAME)
    expect(display.locator('.counter[data-counter="4"] .counter-name .en')).to_have_text(COUNTER_NAME)
    expect(display.locator("#ticker-text")).to_contain_text(NOTICE)
    nothing_injected(display)

    assert counter_dialogs == admin_dialogs == display_dialogs == []


def test_the_pages_html_never_holds_the_markup_unescaped(api: Api) -> None:
    """The server-rendered HTML of every page escapes the names (templates and embedded JSON)."""
    api.user("carol", "staff", ["1", "4"])
    hostile_names(api)
    display_token = api.user("tv1", "display")
    pages = {
        "/counter": cookie_session(api, "carol").get("/counter?lang=en").text,
        "/admin": cookie_session(api, "admin").get("/admin").text,
        "/display/main": api.http.get(f"/display/main?token={display_token}").text,
    }
    for path, html in pages.items():
        for raw in (SERVICE_NAME, COUNTER_NAME, REASON, NOTICE):
            assert raw not in html, f"{path} holds {raw!r} unescaped"
    assert "&lt;img src=x onerror=alert(2)&gt;" in pages["/counter"]
