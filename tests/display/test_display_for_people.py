"""What a person standing at a lobby TV reads: a broken display says what to do, in words; a pause
reason typed by staff is shown as typed on the English screen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser import chromium
from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

#: What only a developer could act on: API paths, methods, token syntax, the old English-only advice.
DEVELOPER_TEXT = re.compile(r"/api/|POST|token|<token>|display account|Admin\)", re.IGNORECASE)
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def tv(browser: Browser) -> Iterator[Page]:
    """A 1080p landscape TV; CSP bypassed only so that the tests' predicates can run."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, bypass_csp=True)
    yield context.new_page()
    context.close()


def visible_text(page: Page) -> str:
    return page.locator("body").inner_text()


def test_a_bad_token_shows_what_happened_and_what_to_do_in_both_languages(tv: Page, server: ServerProcess) -> None:
    """No API path nor token syntax; the button opens the pairing screen, which shows a code."""
    response = tv.goto(f"{server.url}/display/main?token=nope")
    assert response is not None and response.status == 401
    text = visible_text(tv)
    assert "这台显示屏需要重新配对" in text and "This display needs to be paired again" in text
    assert "网点管理 → 设备 → 配对设备" in text and "Branch administration → Devices → Pair a device" in text
    assert not DEVELOPER_TEXT.search(tv.content().replace('href="/display/main"', ""))
    button = tv.locator("#pair-link")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 1080  # on the screen, not below it
    button.click()
    expect(tv.locator("#pairing-code")).to_have_text(re.compile(r"^[0-9]{6}$"), timeout=10_000)
    assert "token" not in tv.url


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_display_in_one_language_explains_itself_in_that_language(tv: Page, server: ServerProcess, lang: str) -> None:
    """?lang=zh shows only Chinese, ?lang=en only English, and the pairing screen it leads to keeps the choice."""
    tv.goto(f"{server.url}/display/main?token=nope&lang={lang}&counters=1")
    text = visible_text(tv)
    assert bool(CJK.search(text)) is (lang == "zh")
    assert ("重新配对" in text) is (lang == "zh") and ("paired again" in text) is (lang == "en")
    expect(tv.locator("#pair-link")).to_have_attribute("href", f"/display/main?lang={lang}&counters=1")


def test_an_address_for_another_branch_names_this_one(tv: Page, server: ServerProcess) -> None:
    """A display opened at another branch's address says which branch this server serves, and offers pairing here."""
    response = tv.goto(f"{server.url}/display/north?lang=en")
    assert response is not None and response.status == 404
    expect(tv.locator("#display-error")).to_contain_text("This server serves “Demo branch”")
    expect(tv.locator("#pair-link")).to_have_attribute("href", "/display/main?lang=en")
    assert httpx.get(f"{server.url}/display/north").text.count("演示网点") == 1


#: A reason longer than any tile can show (the API allows 200 characters).
LONG_REASON = "System upgrade in progress; please go to counter 2 or 3 meanwhile. " * 3


def reason_fits(page: Page, counter: str) -> dict[str, bool]:
    """Whether the tile's pause reason is shown whole (not cut with an ellipsis) and inside its tile."""
    fits: dict[str, bool] = page.locator(f'.counter[data-counter="{counter}"]').evaluate(
        """tile => {
          const r = tile.querySelector('.counter-reason');
          const a = r.getBoundingClientRect(), t = tile.getBoundingClientRect();
          const line = parseFloat(getComputedStyle(r).lineHeight);  // glyphs may overhang by a few px
          return {whole: r.scrollHeight < r.clientHeight + line / 2,
                  inside: a.left >= t.left && a.right <= t.right && a.top >= t.top && a.bottom <= t.bottom};
        }"""
    )
    return fits


@pytest.mark.parametrize(
    "reason", ["Lunch <b>break</b> 午休", "System upgrade until 14:00", "Closed for the system upgrade, back at 14:00"]
)
def test_the_english_display_shows_a_pause_reason_as_typed(
    tv: Page, server: ServerProcess, api: Api, reason: str
) -> None:
    """The reason is the staff's own text: shown whole on ?lang=en, inside its tile, never translated, never markup."""
    token = api.user("tv1", "display")
    tv.goto(f"{server.url}/display/main?token={token}&lang=en")
    tv.wait_for_selector('body[data-synced="true"]', timeout=10_000)
    assert api.counter("4", "pause", {"reason": reason}).status_code == 200
    tile = tv.locator('.counter[data-counter="4"]')
    expect(tile.locator(".counter-reason")).to_have_text(reason)
    expect(tile.locator(".counter-reason")).to_be_visible()
    expect(tile.locator(".counter-status .en")).to_have_text("Paused")
    expect(tile.locator(".counter-status .zh")).to_be_hidden()
    assert tile.locator(".counter-reason b").count() == 0
    assert reason_fits(tv, "4") == {"whole": True, "inside": True}


def test_a_reason_too_long_for_its_tile_stays_inside_it(tv: Page, server: ServerProcess, api: Api) -> None:
    """Beyond the lines its tile has, a reason is cut with an ellipsis instead of running over the board."""
    token = api.user("tv1", "display")
    tv.goto(f"{server.url}/display/main?token={token}")
    tv.wait_for_selector('body[data-synced="true"]', timeout=10_000)
    assert api.counter("4", "pause", {"reason": LONG_REASON.strip()}).status_code == 200
    expect(tv.locator('.counter[data-counter="4"] .counter-reason')).to_have_text(LONG_REASON.strip())
    assert reason_fits(tv, "4") == {"whole": False, "inside": True}
