"""The display page in Debian's chromium, driven by Playwright, against a real ``nextup serve``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import chromium
from tests.conftest import Api
from tests.display.conftest import call_next, finish, post_notice
from tests.servers import ROOT, ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # What a hall TV runs with: sound without a click first.
    with chromium("--autoplay-policy=no-user-gesture-required") as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh 1080p landscape screen.

    Its CSP is bypassed because Playwright evaluates the tests' predicates with eval, which the page's
    own policy forbids; ``test_a_call_appears_within_a_second_under_the_pages_own_policy`` keeps it.
    """
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    tab = context.new_page()
    yield tab
    context.close()


def open_display(page: Page, server: ServerProcess, token: str, query: str = "") -> Page:
    """Open the display page and wait until it has its first snapshot."""
    page.goto(f"{server.url}/display/main?token={token}{query}")
    page.wait_for_selector('body[data-synced="true"]', timeout=10_000)
    return page


def board(page: Page) -> dict[str, str]:
    """Counter id -> the number its tile shows."""
    shown: dict[str, str] = page.eval_on_selector_all(
        ".counter",
        "tiles => Object.fromEntries(tiles.map(t => [t.dataset.counter,"
        " t.querySelector('.counter-number').textContent]))",
    )
    return shown


def announcements(page: Page) -> list[dict[str, Any]]:
    queued: list[dict[str, Any]] = page.evaluate("window.nextupAnnouncements")
    return queued


def test_a_call_appears_within_a_second_under_the_pages_own_policy(
    browser: Browser, server: ServerProcess, api: Api
) -> None:
    """A call made through the API shows on its tile and in the spotlight within a second, CSP enforced."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    try:
        page = open_display(context.new_page(), server, api.user("tv1", "display"))
        expect(page.locator("#connection")).to_have_attribute("data-state", "online")
        api.issue("A")
        call_next(api, "2")
        expect(page.locator('.counter[data-counter="2"] .counter-number')).to_have_text("A001", timeout=1_000)
        expect(page.locator("#spotlight-number")).to_have_text("A001")
        expect(page.locator("#spotlight")).to_have_attribute("data-active", "true")
    finally:
        context.close()


def test_a_recall_highlights_the_call_again(page: Page, server: ServerProcess, api: Api) -> None:
    """Recalling a ticket highlights and announces it a second time."""
    open_display(page, server, api.user("tv1", "display"))
    api.issue("B")
    call_next(api, "3")
    page.wait_for_function("window.nextupHighlights.length === 1", timeout=5_000)
    assert api.counter("3", "recall").status_code == 200
    page.wait_for_function(
        "window.nextupHighlights.length === 2 && document.querySelector('#spotlight').dataset.active === 'true'",
        timeout=15_000,
    )
    highlights = page.evaluate("window.nextupHighlights")
    assert [(h["number"], h["counter"], h["kind"]) for h in highlights] == [
        ("B001", "3", "call"),
        ("B001", "3", "recall"),
    ]
    assert [a["number"] for a in announcements(page)] == ["B001", "B001"]


def test_three_calls_within_a_second_are_shown_and_announced_in_order(
    page: Page, server: ServerProcess, api: Api
) -> None:
    """Simultaneous calls are all shown, queued for announcement in order, and each gets its moment."""
    open_display(page, server, api.user("tv1", "display"))
    for service in "AAB":
        api.issue(service)
    numbers = [call_next(api, counter)["number"] for counter in ("1", "2", "3")]
    page.wait_for_function("window.nextupAnnouncements.length === 3", timeout=2_000)
    assert board(page) == {"1": "A001", "2": "A002", "3": "B001", "4": "—"}
    queued = announcements(page)
    assert [(a["number"], a["counter"]) for a in queued] == list(zip(numbers, ("1", "2", "3"), strict=True))
    assert queued[0]["zh"] == "请 A 零零一 号到 1 号窗口办理"
    assert queued[0]["en"] == "Number A 0 0 1, please go to counter 1"
    assert queued[2]["zh"] == "请 B 零零一 号到 3 号窗口办理"
    assert all(a["at"] for a in queued)
    recent = page.eval_on_selector_all("#recent .recent-number", "items => items.map(i => i.textContent)")
    assert recent == ["B001", "A002", "A001"]
    # With no voice installed the queue still advances: every call is highlighted in turn.
    page.wait_for_function("window.nextupHighlights.length === 3", timeout=20_000)
    assert [h["number"] for h in page.evaluate("window.nextupHighlights")] == numbers
    page.wait_for_function("window.nextupSpeaking === null", timeout=15_000)


def test_after_kill_9_and_a_restart_the_page_recovers_and_shows_missed_calls(
    page: Page, server: ServerProcess, api: Api, start_server: Callable[..., ServerProcess]
) -> None:
    """The page reconnects by itself after the server is killed and restarted, and shows what it missed."""
    other = start_server()
    open_display(page, server, api.user("tv1", "display"))
    load_id = page.evaluate("window.nextupLoadId")
    for service in "AABC":
        api.issue(service)
    call_next(api, "1")
    page.wait_for_function("window.nextupAnnouncements.length === 1", timeout=5_000)

    server.kill()
    page.wait_for_function("window.nextupDisplay.connected === false", timeout=15_000)
    assert page.get_attribute("#connection", "data-state") == "offline"
    through_other = Api(other.url)
    try:
        missed = [call_next(through_other, c)["number"] for c in ("2", "3", "4")]
    finally:
        through_other.close()

    restarted = server.successor().start()
    try:
        page.wait_for_function("window.nextupAnnouncements.length === 4", timeout=30_000)
        assert page.evaluate("window.nextupLoadId") == load_id  # no reload
        assert page.evaluate("window.nextupDisplay.connects") >= 2
        assert [a["number"] for a in announcements(page)][1:] == missed == ["A002", "B001", "C001"]
        assert board(page) == {"1": "A001", "2": "A002", "3": "B001", "4": "C001"}
        page.wait_for_function("window.nextupDisplay.connected === true", timeout=5_000)
    finally:
        restarted.stop()


def test_a_screen_can_show_only_some_counters_in_one_language(page: Page, server: ServerProcess, api: Api) -> None:
    """?counters=1,2&lang=en shows those counters only, in English, and ignores calls elsewhere."""
    open_display(page, server, api.user("tv1", "display"), "&counters=1,2&lang=en")
    assert list(board(page)) == ["1", "2"]
    assert not page.is_visible(".branch .zh") and page.is_visible(".branch .en")
    for service in "BA":
        api.issue(service)
    call_next(api, "3")  # B001 at counter 3: not on this screen
    call_next(api, "2")
    page.wait_for_function("window.nextupAnnouncements.length === 1", timeout=2_000)
    assert [a["number"] for a in announcements(page)] == ["A001"]
    waiting = page.eval_on_selector_all("#waiting li", "rows => rows.map(r => r.dataset.service)")
    assert waiting == ["A", "C"]


def test_waiting_counts_follow_the_events(page: Page, server: ServerProcess, api: Api) -> None:
    """Waiting per service goes up with each ticket issued and down with each call."""
    open_display(page, server, api.user("tv1", "display"))
    for service in "AAC":
        api.issue(service)
    count = "document.querySelector('#waiting li[data-service=\"{}\"] .service-count').textContent"
    page.wait_for_function(f"{count.format('A')} === '2' && {count.format('C')} === '1'", timeout=2_000)
    call_next(api, "2")
    page.wait_for_function(f"{count.format('A')} === '1'", timeout=2_000)


def test_notices_are_shown_as_text_never_as_markup(page: Page, server: ServerProcess, api: Api) -> None:
    """A notice is shown in the ticker exactly as typed; markup in it is not interpreted."""
    open_display(page, server, api.user("tv1", "display"))
    hostile = '<img src=x onerror="window.pwned=1">停电通知'
    post_notice(api, hostile, "Power cut <b>today</b>", emergency=True)
    page.wait_for_function("!document.querySelector('#ticker').hidden", timeout=2_000)
    assert page.text_content("#ticker-text") == hostile + "　·　Power cut <b>today</b>"
    assert page.get_attribute("#ticker", "data-emergency") == "true"
    assert page.query_selector("#ticker img") is None and page.evaluate("window.pwned") is None


def test_screenshots_for_the_docs(browser: Browser, server: ServerProcess, api: Api) -> None:
    """The display at 1920x1080 and 1080x1920, with calls and a notice, saved as docs/display*.png."""
    token = api.user("tv1", "display")
    for service in "AAABCCA":
        api.issue(service)
    for counter in ("1", "2", "3", "4"):
        call_next(api, counter)
    finish(api, "2")
    call_next(api, "2")
    assert api.counter("4", "finish").status_code == 200
    assert api.counter("4", "pause", {"reason": "午休"}).status_code == 200
    post_notice(api, "今日 16:00 起暂停办理外汇业务，敬请谅解。", "Foreign exchange closes at 16:00 today.")
    DOCS.mkdir(exist_ok=True)
    for name, size in (("display.png", (1920, 1080)), ("display-portrait.png", (1080, 1920))):
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        try:
            page = open_display(context.new_page(), server, token)
            page.wait_for_function("window.nextupDisplay.connected === true", timeout=5_000)
            assert board(page)["2"] == "A004"
            page.screenshot(path=str(DOCS / name))
        finally:
            context.close()
    assert (DOCS / "display.png").stat().st_size > 10_000


def test_the_page_refuses_a_bad_token(server: ServerProcess) -> None:
    """With a bad token the page says, in words, to pair the display again: 401 and no display script
    (tests/display/test_display_for_people.py reads it in a browser)."""
    response = httpx.get(f"{server.url}/display/main?token=nope")
    assert response.status_code == 401
    assert "需要重新配对" in response.text and "display.js" not in response.text


def test_without_a_credential_the_page_offers_pairing(server: ServerProcess) -> None:
    """With no token and no device cookie the page is the pairing screen, in both languages."""
    response = httpx.get(f"{server.url}/display/main", cookies={"nextup_device": "stale"})
    assert response.status_code == 200
    assert "pairing.js" in response.text and "display.js" not in response.text
    assert "请管理员在后台输入配对码" in response.text and "Ask an administrator" in response.text
    assert 'nextup_device=""' in response.headers["set-cookie"]  # the stale cookie is dropped
    assert httpx.get(f"{server.url}/display/elsewhere?token=x").status_code == 404


def test_the_page_keeps_its_token_private(server: ServerProcess, api: Api) -> None:
    """The page is never cached nor sends a referrer, and allows only its own scripts."""
    token = api.user("tv1", "display")
    response = httpx.get(f"{server.url}/display/main?token={token}")
    assert response.status_code == 200
    assert token not in response.text  # the page works from the HttpOnly cookie instead
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"nextup_device={token};") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    static = httpx.get(f"{server.url}/display/static/display.js")
    assert static.status_code == 200 and "nextupAnnouncements" in static.text


def test_an_unpaired_display_shows_a_code_and_goes_live_once_an_admin_approves_it(
    browser: Browser, server: ServerProcess, api: Api
) -> None:
    """The pairing screen shows a code; after the admin's approval the page reloads live, no token in its URL."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    urls: list[str] = []
    try:
        page = context.new_page()
        page.on("framenavigated", lambda frame: urls.append(frame.url))
        page.on("request", lambda request: urls.append(request.url))
        page.on("websocket", lambda ws: urls.append(ws.url))
        page.goto(f"{server.url}/display/main")
        code = page.locator("#pairing-code")
        expect(code).to_have_text(re.compile(r"^[0-9]{6}$"), timeout=10_000)
        expect(page.locator(".pairing-ask")).to_contain_text("请管理员在后台输入配对码")
        response = api.http.post(
            "/api/branches/main/pairing", json={"code": code.text_content(), "name": "hall-tv-7"},
            headers=api.auth(api.admin()),
        )  # fmt: skip
        assert response.status_code == 201, response.text
        page.wait_for_selector('body[data-synced="true"]', timeout=15_000)
        expect(page.locator("#connection")).to_have_attribute("data-state", "online")
        api.issue("A")
        call_next(api, "2")
        expect(page.locator('.counter[data-counter="2"] .counter-number')).to_have_text("A001", timeout=5_000)
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["nextup_device"]["httpOnly"] and cookies["nextup_device"]["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # the script cannot read the credential
    finally:
        context.close()
    assert urls and not [u for u in urls if "token" in u or "nxt1." in u]
