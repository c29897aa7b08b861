"""The lobby display in the branch's emergency state (应急预案): a full-screen overlay above everything in
the screen's languages, announced and announced again, calls neither shown over it nor announced; its end
gives the screen back as it was; a display opened meanwhile shows it from its snapshot.

Chromium via Playwright against a real ``nextup serve``; started and ended through the real API.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.datastructures import QueryParams

from server.config import demo_branch
from server.display_ws import page_config
from tests.browser import covered_by
from tests.conftest import Api
from tests.display.conftest import call_next, post_notice
from tests.display.test_display_legibility import (
    CJK,
    LATIN_WORD,
    MIN_CONTRAST,
    MIN_TEXT_PX,
    contrast,
    open_display,
    screen,
    texts,
    wait_until_calm,
)
from tests.emergency import end_emergency, start_emergency
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

EAST_ZH = "请从东门离开，不要乘坐电梯。"
EAST_EN = "Leave by the east door; do not use the lifts."
SAYS_ZH = "请保持冷静，听从工作人员指引，经最近的安全出口有序离开大厅。"
SAYS_EN = "Please stay calm, follow the staff and leave the hall by the nearest exit."
#: The repeat interval a test asks for (?emergency_repeat_s=, the smallest allowed); 180 s by default.
REPEAT = "&emergency_repeat_s=5"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = screen(browser)
    yield tab
    tab.context.close()


def announced(page: Page, kind: str | None = None) -> list[dict[str, Any]]:
    queued: list[dict[str, Any]] = page.evaluate("window.nextupAnnouncements")
    return [a for a in queued if kind is None or a["kind"] == kind]


def on_top(page: Page, selector: str) -> bool:
    """Whether the emergency overlay is what is painted over ``selector``."""
    return covered_by(page, selector, "#emergency")


def overlay_text(page: Page) -> str:
    shown: str = page.eval_on_selector(
        "#emergency",
        "el => [...el.querySelectorAll('h1, p')].filter(e => e.checkVisibility() && e.textContent)"
        ".map(e => e.textContent).join(' | ')",
    )
    return shown


def tile_number(page: Page, counter: str) -> str:
    return str(page.text_content(f'.counter[data-counter="{counter}"] .counter-number'))


@pytest.mark.parametrize("lang", ["both", "zh", "en"])
def test_an_emergency_covers_the_screen_is_announced_and_its_end_gives_the_screen_back(
    browser: Browser, server: ServerProcess, api: Api, lang: str
) -> None:
    """Started: the overlay covers board, calls and ticker with the kind's title and words and the manager's
    words, is announced at once and again; a call meanwhile is neither on top nor announced. Ended: the board
    (with that call), the notice and the calls' announcements are back, and "resumed" is announced once."""
    api.issue("A")
    waiting = api.issue("A")
    after = api.issue("B")
    call_next(api, "1")
    post_notice(api, "今日 16:00 起暂停办理外汇业务。", "Foreign exchange closes at 16:00 today.")
    page = screen(browser)
    try:
        open_display(page, server, api, REPEAT + ("" if lang == "both" else f"&lang={lang}"))
        wait_until_calm(page)
        expect(page.locator("#emergency")).to_be_hidden()
        calls_before = len(announced(page, "call"))

        start_emergency(api, "evacuation", text_zh=EAST_ZH, text_en=EAST_EN)
        expect(page.locator("#emergency")).to_be_visible()
        expect(page.locator("body")).to_have_attribute("data-emergency", "evacuation")
        zh = f"紧急疏散 | {SAYS_ZH} | {EAST_ZH}"
        en = f"Emergency evacuation | {SAYS_EN} | {EAST_EN}"
        expected = {"both": f"{zh} | {en}", "zh": zh, "en": en}[lang]
        assert overlay_text(page) == expected
        for selector in ("#spotlight", "#counters", "#recent", "#ticker", "header.bar"):
            assert on_top(page, selector), selector
        page.wait_for_function("window.nextupAnnouncements.some(a => a.kind === 'emergency')", timeout=5_000)
        first = announced(page, "emergency")[0]
        assert first["zh"] == f"紧急疏散。{SAYS_ZH}{EAST_ZH}"
        assert first["en"] == f"Emergency evacuation. {SAYS_EN} {EAST_EN}"

        # A call made meanwhile updates the board under the overlay, but is neither on top nor announced.
        assert api.counter("1", "finish").status_code == 200
        call_next(api, "1")
        expect(page.locator('.counter[data-counter="1"] .counter-number')).to_have_text(waiting["number"])
        assert on_top(page, '.counter[data-counter="1"]') and on_top(page, "#spotlight")
        # Announced again while it lasts (every 5 s here): and still no call among the announcements.
        page.wait_for_function(
            "window.nextupAnnouncements.filter(a => a.kind === 'emergency').length >= 2", timeout=15_000
        )
        assert len(announced(page, "call")) == calls_before
        assert waiting["number"] not in [h["number"] for h in page.evaluate("window.nextupHighlights")]

        end_emergency(api)
        expect(page.locator("#emergency")).to_be_hidden()
        expect(page.locator("body")).to_have_attribute("data-emergency", "")
        assert tile_number(page, "1") == waiting["number"]
        expect(page.locator("#spotlight-number")).to_have_text(waiting["number"])
        expect(page.locator("#ticker")).to_be_visible()
        page.wait_for_function("window.nextupAnnouncements.some(a => a.kind === 'resumed')", timeout=5_000)
        resumed = announced(page, "resumed")
        assert [(a["zh"], a["en"]) for a in resumed] == [("现已恢复正常服务。", "Normal service has resumed.")]
        assert len(announced(page, "call")) == calls_before, "the call made during the emergency is not announced late"
        # Calls are announced again.
        call_next(api, "3")
        page.wait_for_function(
            "n => window.nextupAnnouncements.some(a => a.number === n)", arg=after["number"], timeout=5_000
        )
        assert [a["number"] for a in announced(page, "call")][calls_before:] == [after["number"]]
    finally:
        page.context.close()


def test_a_display_opened_during_an_emergency_shows_it_from_its_snapshot(
    page: Page, server: ServerProcess, api: Api
) -> None:
    """A display that connects while the state is in force covers its screen at once and announces it once;
    the manager's words are shown as typed, markup and all, never as markup."""
    hostile = '<img src=x onerror="window.pwned=1">系统维护'
    start_emergency(api, "system_fault", text_zh=hostile)
    open_display(page, server, api)
    expect(page.locator("#emergency")).to_be_visible()
    fault_zh = "系统出现故障，暂停叫号和取号。请稍候，工作人员会为您安排。"
    fault_en = "The system has a fault: calls and tickets are paused. Please wait; the staff will help you."
    assert overlay_text(page) == f"系统故障 | {fault_zh} | {hostile} | System fault | {fault_en}"
    assert page.query_selector("#emergency img") is None and page.evaluate("window.pwned") is None
    page.wait_for_function("window.nextupAnnouncements.some(a => a.kind === 'emergency')", timeout=5_000)
    assert [a["kind"] for a in announced(page)] == ["emergency"]
    # Ended while the page was away (here: reloaded after the end): nothing to show, nothing to say.
    end_emergency(api)
    expect(page.locator("#emergency")).to_be_hidden()
    page.reload()
    page.wait_for_selector('body[data-synced="true"]', timeout=10_000)
    expect(page.locator("#emergency")).to_be_hidden()
    assert announced(page) == []


#: The longest own words a manager may add (server/emergency.py MAX_TEXT), in both languages.
LONG_ZH = (
    "请所有客户保持冷静，不要惊慌，不要拥挤，听从大厅工作人员的指引，从东侧和北侧安全出口有序撤离，"
    "不要乘坐电梯，不要返回取物。老人、儿童和行动不便的客户请在原地等候工作人员协助。"
) * 3
LONG_EN = (
    "Everybody please stay calm and do not rush. Follow the staff and leave by the east or the north exit; "
    "do not use the lifts and do not go back for belongings. Wait where you are if you need help. "
) * 2


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_the_overlay_is_legible_from_across_the_hall_with_the_longest_words(
    browser: Browser, server: ServerProcess, api: Api, size: tuple[int, int]
) -> None:
    """With the longest words a manager may add in both languages: every text of the overlay is at least
    40 px, contrasted at least 4.5:1, inside the screen and not cut off; the title is larger still."""
    start_emergency(api, "evacuation", text_zh=LONG_ZH[:300], text_en=LONG_EN[:300])
    page = screen(browser, *size)
    try:
        open_display(page, server, api)
        expect(page.locator("#emergency")).to_be_visible()
        shown = texts(page, "#emergency")
        assert {t["text"] for t in shown} >= {"紧急疏散", "Emergency evacuation", LONG_ZH[:300], LONG_EN[:300].strip()}
        small = [(t["text"][:20], t["size"]) for t in shown if t["size"] < MIN_TEXT_PX]
        assert small == [], f"text below {MIN_TEXT_PX} px"
        faint = [(t["text"][:20], round(contrast(t["color"], t["background"]), 2)) for t in shown
                 if contrast(t["color"], t["background"]) < MIN_CONTRAST]  # fmt: skip
        assert faint == [], f"contrast below {MIN_CONTRAST}:1"
        assert [(t["text"][:20], t["clipped"]) for t in shown if t["clipped"]] == []
        for t in shown:
            left, top, right, bottom = t["rect"]
            assert left >= -1 and top >= -1 and right <= size[0] + 1 and bottom <= size[1] + 1, t["text"][:20]
        titles = [t["size"] for t in shown if "emergency-title" in t["where"]]
        words = [t["size"] for t in shown if "emergency-title" not in t["where"]]
        assert min(titles) > max(words)
    finally:
        page.context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_one_language_screen_shows_the_managers_words_written_only_in_the_other(
    page: Page, server: ServerProcess, api: Api, lang: str
) -> None:
    """?lang= keeps the kind's words in its language; the manager's words, written in one language only,
    are shown rather than lost (they are the manager's own, shown as typed)."""
    start_emergency(api, "closure", text_zh="今日因停电暂停营业。")
    open_display(page, server, api, f"&lang={lang}")
    expect(page.locator("#emergency")).to_be_visible()
    kind_words = [t["text"] for t in texts(page, "#emergency") if "emergency-own" not in t["where"]]
    assert kind_words == (["暂停营业", "本网点暂停营业，暂停叫号和取号。给您带来不便，敬请谅解。"] if lang == "zh"
                          else ["Branch closed", "The branch is closed for now: no calls and no tickets. "
                                "We are sorry for the inconvenience."])  # fmt: skip
    pattern = CJK if lang == "en" else LATIN_WORD
    assert not any(pattern.search(w) for w in kind_words)
    expect(page.locator("#emergency .emergency-own:visible")).to_have_text("今日因停电暂停营业。")


@pytest.mark.parametrize(
    ("query", "seconds"),
    [("", 180), ("emergency_repeat_s=5", 5), ("emergency_repeat_s=1", 5), ("emergency_repeat_s=99999", 3600),
     ("emergency_repeat_s=soon", 180)],
)  # fmt: skip
def test_the_announcement_is_repeated_every_three_minutes_unless_the_screen_asks_otherwise(
    query: str, seconds: int
) -> None:
    """Every 180 s by default; ?emergency_repeat_s= within 5-3600 s; anything else is the default."""
    assert page_config(demo_branch(), QueryParams(query))["emergency_repeat_s"] == seconds
