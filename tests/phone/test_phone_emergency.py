"""The customer's phone page in the branch's emergency state (应急预案): a waiting or called ticket's page
shows a banner with the kind's title and words in the page's language and the manager's words, live, and
loses it when the state ends; a finished ticket's page is not told.

A phone-sized chromium against a real ``nextup serve``; the state started and ended through the real API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Api
from tests.emergency import MANAGER, end, start_emergency
from tests.phone.conftest import EXPECT_MS, call_next, page_url, phone_state, serve, wait_live
from tests.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.redis]

EAST_ZH = "请从东门离开，不要乘坐电梯。"
EAST_EN = "Leave by the east door; do not use the lifts."
WORDS = {
    "zh-CN": ("紧急疏散", "请保持冷静，听从工作人员指引，经最近的安全出口有序离开大厅。", EAST_ZH),
    "en-US": ("Emergency evacuation", "Please stay calm, follow the staff and leave the hall by the nearest exit.",
              EAST_EN),
}  # fmt: skip


@pytest.fixture
def calm(hall: Api) -> Iterator[Api]:
    """The module's server, out of any emergency state after the test (the state outlives a test)."""
    yield hall
    end(hall, hall.user(MANAGER, "manager"))


def banner(page: Page) -> list[str]:
    shown: list[str] = page.eval_on_selector_all(
        "#emergency > *", "els => els.filter(e => e.checkVisibility()).map(e => e.textContent)"
    )
    return shown


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_waiting_and_called_customers_are_told_live_and_the_banner_goes_when_it_ends(
    calm: Api, hall_server: ServerProcess, open_phone: Callable[..., Page], locale: str
) -> None:
    """Started: the waiting and the called ticket's pages show the banner in their language, first on the
    page, with a beep, and promise no wait; the served one's does not. Ended: the banners go, the wait is
    back, the pages stay live."""
    done, called, waiting = calm.issue("A"), calm.issue("A"), calm.issue("A")
    serve(calm, "1")
    call_next(calm, "2")
    pages = {name: open_phone(page_url(hall_server.url, ticket), locale)
             for name, ticket in (("done", done), ("called", called), ("waiting", waiting))}  # fmt: skip
    for page in pages.values():
        wait_live(page)
        expect(page.locator("#emergency")).to_be_hidden()
    expect(pages["done"].locator("#status")).to_have_text("已办结" if locale == "zh-CN" else "Served")

    start_emergency(calm, "evacuation", text_zh=EAST_ZH, text_en=EAST_EN)
    for name in ("waiting", "called"):
        page = pages[name]
        expect(page.locator("#emergency")).to_be_visible(timeout=EXPECT_MS)
        assert banner(page) == list(WORDS[locale])
        assert [e["kind"] for e in phone_state(page)["emergencies"]] == ["evacuation"]
        # First on the page, above the ticket: read before anything else.
        first = page.eval_on_selector("main", "m => [...m.children].find(c => c.checkVisibility()).id")
        assert first == "emergency"
        assert phone_state(page)["beeps"] >= 1
    # People ahead are still counted; no wait is promised while the hall is stopped.
    expect(pages["waiting"].locator("#ahead")).to_be_visible()
    expect(pages["waiting"].locator("#wait")).to_be_hidden()
    expect(pages["called"].locator("#go")).to_be_visible()
    # The finished ticket's page has the news too (its updates carry it) but does not show it.
    assert pages["done"].evaluate("() => document.querySelector('#emergency').hidden")
    assert phone_state(pages["done"])["emergencies"] == []

    response = end(calm, calm.user(MANAGER, "manager"))
    assert response.status_code == 200, response.text
    for page in pages.values():
        expect(page.locator("#emergency")).to_be_hidden(timeout=EXPECT_MS)
        assert phone_state(page)["connected"]
    expect(pages["waiting"].locator("#wait")).to_be_visible()


def test_a_page_opened_during_an_emergency_shows_it_at_once_and_follows_the_language_switch(
    calm: Api, hall_server: ServerProcess, open_phone: Callable[..., Page]
) -> None:
    """Opened during the state: the banner is there from the first view, without an alert; the language
    switch changes the kind's words; the manager's words, written in Chinese only, are shown in both."""
    mine = calm.issue("B")
    start_emergency(calm, "closure", text_zh="今日因停电暂停营业。")
    page = open_phone(page_url(hall_server.url, mine), "en-US")
    wait_live(page)
    expect(page.locator("#emergency")).to_be_visible()
    closed_en = "The branch is closed for now: no calls and no tickets. We are sorry for the inconvenience."
    assert banner(page) == ["Branch closed", closed_en, "今日因停电暂停营业。"]
    assert phone_state(page)["emergencies"] == []
    page.locator("#lang-toggle").click()
    expect(page.locator("#emergency-title")).to_have_text("暂停营业")
    closed_zh = "本网点暂停营业，暂停叫号和取号。给您带来不便，敬请谅解。"
    assert banner(page) == ["暂停营业", closed_zh, "今日因停电暂停营业。"]


def test_the_managers_words_are_shown_as_typed_never_as_markup(
    calm: Api, hall_server: ServerProcess, open_phone: Callable[..., Page]
) -> None:
    """Markup in the manager's words is text on the page, not elements."""
    mine = calm.issue("A")
    page = open_phone(page_url(hall_server.url, mine))
    wait_live(page)
    hostile = '<img src=x onerror="window.pwned=1">系统维护'
    start_emergency(calm, "system_fault", text_zh=hostile)
    expect(page.locator("#emergency-own")).to_have_text(hostile, timeout=EXPECT_MS)
    assert page.query_selector("#emergency img") is None and page.evaluate("window.pwned") is None
