"""A whole shift at the counter in a real browser, with the lobby display open beside it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from tests.conftest import Api
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]


def counter_tile(display: Page, counter: str) -> Locator:
    return display.locator(f'.counter[data-counter="{counter}"]')


def waiting_count(page: Page, service: str) -> Locator:
    return page.locator(f'#waiting li[data-service="{service}"] .count')


def test_a_whole_shift_with_the_display_updating_live(api: Api, new_context: Callable[[], BrowserContext]) -> None:
    """Log in, take, call, recall, transfer, no-show, reactivate, finish, pause, resume, log out: live everywhere."""
    api.user("alice", "staff", ["1"])
    display_token = api.user("tv1", "display")
    display = new_context().new_page()
    display.goto(f"{api.url}/display/main?token={display_token}")
    expect(display.locator("#connection")).to_have_attribute("data-state", "online")

    desk = new_context().new_page()
    log_in(desk, api.url, "alice")
    desk.click('button.choice[data-counter="1"]')
    expect(desk.locator("#desk")).to_be_visible()
    expect(desk.locator("#connection")).to_have_attribute("data-state", "online")
    assert api.state()["counters"][0]["holder"] == "alice"

    # Tickets issued at the kiosk show up at once, without a refresh.
    first, second = api.issue("A"), api.issue("A")
    expect(waiting_count(desk, "A")).to_have_text("2")
    expect(desk.locator("#next li")).to_have_count(2)

    desk.keyboard.press("n")  # call next
    expect(desk.locator("#current-number")).to_have_text(first["number"])
    expect(counter_tile(display, "1").locator(".counter-number")).to_have_text(first["number"])
    expect(waiting_count(desk, "A")).to_have_text("1")
    expect(desk.locator("#current-handling")).not_to_have_text("—")

    desk.keyboard.press("r")  # recall
    expect(desk.locator("#current-calls")).to_have_text("2")
    # The recall marks the call's one row on the display instead of adding a duplicate.
    expect(display.locator("#recent li.recalled .recall-badge")).to_have_count(1)
    expect(display.locator("#recent li")).to_have_count(1)

    desk.keyboard.press("t")  # transfer: the list of services gets the focus
    expect(desk.locator("#transfer-service")).to_be_focused()
    desk.select_option("#transfer-service", "B")
    desk.keyboard.press("Enter")
    expect(desk.locator("#current-number")).to_have_text("Nobody called")
    expect(counter_tile(display, "1").locator(".counter-number")).to_have_text("—")
    expect(display.locator('#waiting li[data-service="B"] .service-count')).to_have_text("1")

    desk.keyboard.press("n")
    expect(desk.locator("#current-number")).to_have_text(second["number"])
    desk.keyboard.press("x")  # no-show: the first X asks, the second marks it
    desk.keyboard.press("x")
    expect(desk.locator("#current-number")).to_have_text("Nobody called")
    expect(desk.locator("#no-shows .chip")).to_have_text([second["number"]])

    desk.keyboard.press("a")  # reactivate: type the number, Enter
    expect(desk.locator("#reactivate-number")).to_be_focused()
    desk.keyboard.type(second["number"])
    desk.keyboard.press("Enter")
    expect(waiting_count(desk, "A")).to_have_text("1")
    expect(desk.locator("#no-shows .chip")).to_have_count(0)
    expect(desk.locator("#next li .number")).to_have_text([second["number"]])

    desk.keyboard.press("n")
    expect(desk.locator("#current-number")).to_have_text(second["number"])
    expect(counter_tile(display, "1").locator(".counter-number")).to_have_text(second["number"])
    desk.keyboard.press("f")  # finish
    expect(desk.locator("#today-served")).to_have_text("1")
    expect(desk.locator("#today-average")).not_to_have_text("—")

    enquiry = api.issue("C")
    desk.keyboard.press("g")  # call a specific number
    desk.keyboard.type(enquiry["number"])
    desk.keyboard.press("Enter")
    expect(desk.locator("#current-number")).to_have_text(enquiry["number"])
    desk.click('button[data-action="finish"]')
    expect(desk.locator("#today-served")).to_have_text("2")

    desk.keyboard.press("p")  # pause with a reason
    desk.fill("#pause-reason", "Lunch")
    desk.keyboard.press("Enter")
    expect(desk.locator("#counter-status")).to_have_attribute("data-status", "paused")
    expect(desk.locator("#counter-reason")).to_have_text("Lunch")
    expect(counter_tile(display, "1")).to_have_attribute("data-status", "paused")
    expect(desk.locator('button[data-action="call-next"]')).to_be_disabled()

    desk.keyboard.press("o")  # resume
    expect(desk.locator("#counter-status")).to_have_attribute("data-status", "open")
    expect(counter_tile(display, "1")).to_have_attribute("data-status", "open")

    session = next(c["value"] for c in desk.context.cookies() if c["name"] == "nextup_session")
    desk.keyboard.press("Shift+L")  # log out
    desk.wait_for_url(f"{api.url}/login")
    assert api.state()["counters"][0]["holder"] is None
    stale = httpx.get(f"{api.url}/api/session", cookies={"nextup_session": session})
    assert stale.status_code == 401
    assert not [c for c in desk.context.cookies() if c["name"] == "nextup_session"]


def test_a_second_member_of_staff_is_told_who_holds_the_counter(
    api: Api, new_context: Callable[[], BrowserContext]
) -> None:
    """Two staff of one counter: the second sees a plain refusal naming the first, and cannot act."""
    api.user("alice", "staff", ["1"])
    api.user("bob", "staff", ["1", "2"])
    alice = new_context().new_page()
    log_in(alice, api.url, "alice")
    alice.click('button.choice[data-counter="1"]')
    expect(alice.locator("#desk")).to_be_visible()

    bob = new_context().new_page()
    log_in(bob, api.url, "bob")
    bob.click('button.choice[data-counter="1"]')
    expect(bob.locator("#refusal")).to_have_text("Counter 1 is taken by alice; choose another counter.")
    expect(bob.locator("#desk")).to_be_hidden()
    api.issue("A")
    bob.keyboard.press("n")  # no counter taken: the shortcut does nothing
    expect(alice.locator("#waiting li .count").first).to_have_text("1")
    assert api.state()["counters"][0]["current"] is None

    bob.click('button.choice[data-counter="2"]')  # a free counter is taken at once
    expect(bob.locator("#desk")).to_be_visible()
    expect(bob.locator("#counter-name")).to_have_text("Counter 2")
