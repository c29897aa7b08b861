"""The counter workstation on the counter PC's screen (1366x768), in Chinese and English: messages
where the eye is and in the reader's words, nothing moves under the mouse, no irreversible action on
one key, and the whole desk (with its shortcut hints) on one screen."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import Api
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]

WIDTH, HEIGHT = 1366, 768
NOBODY = {"zh": "当前无号码", "en": "Nobody called"}


def desk(api: Api, new_context: Callable[[], BrowserContext], lang: str) -> Page:
    """alice at counter 1 on a 1366x768 screen, in ``lang``."""
    api.user("alice", "staff", ["1"])
    page = new_context().new_page()
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    log_in(page, api.url, "alice", lang=lang)
    page.goto(f"{api.url}/counter?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh" else "en")
    page.click('button.choice[data-counter="1"]')
    expect(page.locator("#desk")).to_be_visible()
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    return page


def box(page: Page, selector: str) -> dict[str, Any]:
    found = page.locator(selector).bounding_box()
    assert found is not None, selector
    return dict(found)


def settled_box(page: Page, selector: str, within_s: float = 10.0) -> dict[str, Any]:
    """The box once the page has stopped laying out (the first view messages fill the desk in)."""
    deadline = time.monotonic() + within_s
    last = box(page, selector)
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        current = box(page, selector)
        if current == last:
            return current
        last = current
    raise AssertionError(f"{selector} kept moving for {within_s} s")


def in_viewport(page: Page, selector: str) -> bool:
    found = box(page, selector)
    return found["y"] >= 0 and found["x"] >= 0 and found["y"] + found["height"] <= HEIGHT \
        and found["x"] + found["width"] <= WIDTH


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_failed_reactivate_shows_its_message_on_screen_without_moving_the_buttons(
        api: Api, new_context: Callable[[], BrowserContext], lang: str) -> None:
    page = desk(api, new_context, lang)
    call_next = 'button[data-action="call-next"]'
    before = settled_box(page, call_next)
    page.keyboard.press("a")
    expect(page.locator("#reactivate-number")).to_be_focused()
    page.keyboard.type("Z999")
    page.keyboard.press("Enter")
    message = page.locator("#message")
    expect(message).to_be_visible()
    expect(message).to_have_attribute("data-kind", "error")
    expect(message).to_contain_text("Z999")
    assert in_viewport(page, "#message")
    assert box(page, call_next) == before
    # The message does not cover the form that caused it, nor the main actions.
    for selector in ("#reactivate-form", ".actions"):
        covered, bar = box(page, selector), box(page, "#message")
        assert bar["y"] >= covered["y"] + covered["height"] or bar["y"] + bar["height"] <= covered["y"], selector


CHINESE_ONLY = re.compile(r"[A-Za-z]")


def test_errors_in_chinese_are_in_chinese_words(api: Api, new_context: Callable[[], BrowserContext]) -> None:
    page = desk(api, new_context, "zh")
    message = page.locator("#message")

    page.keyboard.press("g")
    page.keyboard.type("Z999")
    page.keyboard.press("Enter")
    expect(message).to_contain_text("Z999")
    text = message.text_content() or ""
    assert not CHINESE_ONLY.search(text.replace("Z999", "")), text
    assert "没有" in text
    page.keyboard.press("Escape")  # the field keeps the number to correct; Esc leaves it

    ticket = api.issue("A")
    page.keyboard.press("n")
    expect(page.locator("#current-number")).to_have_text(ticket["number"])
    page.keyboard.press("f")
    expect(page.locator("#current-number")).to_have_text(NOBODY["zh"])
    page.keyboard.press("a")
    page.keyboard.type(ticket["number"])
    page.keyboard.press("Enter")
    expect(message).to_have_attribute("data-kind", "error")
    expect(message).to_contain_text("已办结")
    text = message.text_content() or ""
    assert not CHINESE_ONLY.search(text.replace(ticket["number"], "")), text
    page.keyboard.press("Escape")

    # The counter's own state, in words: pause, then a call.
    page.keyboard.press("p")
    page.keyboard.press("Enter")
    expect(page.locator("#counter-status")).to_have_attribute("data-status", "paused")
    result = page.evaluate("""async () => {
      const r = await NextUp.api("POST", NextUp.branchPath("/counters/1/call-next"), {});
      return NextUp.errorText(r.data && r.data.error);
    }""")
    assert "已暂停" in result and not CHINESE_ONLY.search(result), result
    result = page.evaluate("""async () => {
      const r = await NextUp.api("POST", NextUp.branchPath("/counters/1/pause"), {reason: "x"});
      return [r.data.error.code, NextUp.errorText(r.data && r.data.error)];
    }""")
    assert result[0] == "invalid_state" and "柜台已暂停" in result[1] and not CHINESE_ONLY.search(result[1]), result


def test_errors_in_english_name_the_ticket(api: Api, new_context: Callable[[], BrowserContext]) -> None:
    page = desk(api, new_context, "en")
    page.keyboard.press("a")
    page.keyboard.type("Z999")
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_have_text("There is no ticket Z999 today.")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_transfer_needs_a_chosen_service_and_a_no_show_a_second_press(
        api: Api, new_context: Callable[[], BrowserContext], lang: str) -> None:
    page = desk(api, new_context, lang)
    first, second = api.issue("A"), api.issue("A")
    page.keyboard.press("n")
    expect(page.locator("#current-number")).to_have_text(first["number"])

    # T then Enter: nothing is chosen, nothing moves, and the page says why.
    page.keyboard.press("t")
    expect(page.locator("#transfer-service")).to_be_focused()
    assert page.locator("#transfer-service").input_value() == ""
    page.keyboard.press("Enter")
    expect(page.locator("#message")).to_be_visible()
    expect(page.locator("#message")).to_have_attribute("data-kind", "info")
    page.wait_for_timeout(500)
    expect(page.locator("#current-number")).to_have_text(first["number"])
    assert api.state()["counters"][0]["current"]["number"] == first["number"]
    page.select_option("#transfer-service", "B")
    page.keyboard.press("Enter")
    expect(page.locator("#current-number")).to_have_text(NOBODY[lang])

    # X once asks; the ticket stays. X again marks it.
    page.keyboard.press("n")
    expect(page.locator("#current-number")).to_have_text(second["number"])
    page.keyboard.press("x")
    expect(page.locator("#message")).to_have_attribute("data-kind", "warn")
    expect(page.locator("#message")).to_contain_text(second["number"])
    page.wait_for_timeout(500)
    expect(page.locator("#current-number")).to_have_text(second["number"])
    page.keyboard.press("x")
    expect(page.locator("#current-number")).to_have_text(NOBODY[lang])
    expect(page.locator("#no-shows .chip")).to_have_text([second["number"]])

    # The button asks the same way: the first click arms it, the second marks the no-show.
    third = api.issue("A")
    page.keyboard.press("n")
    expect(page.locator("#current-number")).to_have_text(third["number"])
    no_show = page.locator('button[data-action="no-show"]')
    no_show.click()
    expect(no_show).to_have_attribute("data-confirm", "true")
    page.wait_for_timeout(300)
    expect(page.locator("#current-number")).to_have_text(third["number"])
    no_show.click()
    expect(page.locator("#current-number")).to_have_text(NOBODY[lang])
    expect(no_show).not_to_have_attribute("data-confirm", "true")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_desk_and_its_shortcut_hints_fit_one_screen(
        api: Api, new_context: Callable[[], BrowserContext], lang: str) -> None:
    page = desk(api, new_context, lang)
    for _ in range(12):
        api.issue("A")
    expect(page.locator("#next li")).not_to_have_count(0)
    height = page.evaluate("document.scrollingElement.scrollHeight")
    assert height <= HEIGHT + 4, height
    for selector in (".shortcuts", "#shortcut-table tr:last-child td:last-child",
                     'button[data-action="call-next"]', 'button[data-action="no-show"]',
                     "#pause-form", "#reactivate-form", "#transfer-form", "#call-form", ".side"):
        assert in_viewport(page, selector), selector
    page.keyboard.press("n")
    expect(page.locator("#current-number")).not_to_have_attribute("data-empty", "true")
    height = page.evaluate("document.scrollingElement.scrollHeight")
    assert height <= HEIGHT + 4, height
    if lang == "zh":
        # The desk as staff see it all day, for the README: docs/counter.png.
        docs = Path(__file__).resolve().parents[2] / "docs"
        page.screenshot(path=str(docs / "counter.png"))
        assert (docs / "counter.png").stat().st_size > 10_000
