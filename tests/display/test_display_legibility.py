"""The lobby display read from 5 m: one language when asked, recalls and closed counters told apart,
an emergency that stands out, text at least 40 px at 1080p and contrast of at least 4.5:1 in every state.

Chromium via Playwright against a real ``nextup serve``; the screen is 1920x1080 unless said.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import Api
from tests.display.conftest import call_next, post_notice
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

#: The smallest text allowed at 1080p, in CSS px (about 25 mm on a 55" TV).
MIN_TEXT_PX = 40
#: WCAG AA for normal text.
MIN_CONTRAST = 4.5

FIRE_ZH = "火警：请立即从最近的安全出口撤离。"
FIRE_EN = "Fire alarm: leave now by the nearest exit."

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
#: English words: two Latin letters in a row (a ticket number such as A001 has one).
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

#: Every visible text on the page: its text, the element holding it, its computed font size, and its
#: colour and effective background as [r, g, b] (the text's colour blended over the first opaque
#: background behind it, with every ancestor's opacity applied).
VISIBLE_TEXTS = """
(root) => {
  const parse = (value) => {
    const m = /rgba?\\(([\\d.]+),\\s*([\\d.]+),\\s*([\\d.]+)(?:,\\s*([\\d.]+))?\\)/.exec(value);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])] : null;
  };
  const over = (top, below, alpha) => top.map((c, i) => c * alpha + below[i] * (1 - alpha));
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
    }
    let colour = [255, 255, 255];
    for (const c of layers.reverse()) colour = over(c.slice(0, 3), colour, c[3]);
    return colour;
  };
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    if (el.className && typeof el.className === "string") name += "." + el.className.trim().split(/\\s+/).join(".");
    return el.parentElement && el.parentElement !== document.body ? describe(el.parentElement) + " > " + name : name;
  };
  const out = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || !el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rect = range.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    const style = getComputedStyle(el);
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    const bg = background(el);
    const fg = parse(style.color);
    out.push({
      text, where: describe(el), size: parseFloat(style.fontSize),
      color: over(fg.slice(0, 3), bg, fg[3] * opacity), background: bg,
      rect: [rect.left, rect.top, rect.right, rect.bottom],
      // Cut off (an ellipsis, or hidden overflow) by an element between the text and its panel; the
      // ticker's window, through which a long notice scrolls, excepted.
      clipped: (() => {
        const panel = el.closest(".counter, section, header, footer");
        for (let e = el; e && e !== panel?.parentElement; e = e.parentElement) {
          if (e.classList.contains("ticker-window")) return false;
          const o = getComputedStyle(e);
          if (o.overflowX !== "visible" && e.scrollWidth > e.clientWidth + 1) return describe(e);
          if (o.overflowY !== "visible" && e.scrollHeight > e.clientHeight + 1) return describe(e);
        }
        return false;
      })(),
      box: (() => {
        const r = (el.closest(".counter, section, header, footer") || document.documentElement).getBoundingClientRect();
        return [r.left, r.top, r.right, r.bottom];
      })(),
    });
  }
  return out;
}
"""


def luminance(rgb: list[float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def screen(browser: Browser, width: int = 1920, height: int = 1080) -> Page:
    # CSP bypassed only so that Playwright may evaluate the tests' scripts (see test_display_page.py).
    context = browser.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    return context.new_page()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = screen(browser)
    yield tab
    tab.context.close()


def open_display(page: Page, server: ServerProcess, api: Api, query: str = "") -> Page:
    page.goto(f"{server.url}/display/main?token={api.user('tv1', 'display')}{query}")
    page.wait_for_selector('body[data-synced="true"]', timeout=10_000)
    page.wait_for_function("window.nextupDisplay.connected === true", timeout=5_000)
    return page


def texts(page: Page, selector: str = "body") -> list[dict[str, Any]]:
    """The texts as painted: after two frames, so that the board has been re-fitted (its ResizeObserver
    runs before a paint) to a change that has just arrived, e.g. a taller emergency banner."""
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    found: list[dict[str, Any]] = page.eval_on_selector(selector, VISIBLE_TEXTS)
    return found


def wait_until_calm(page: Page) -> None:
    """No call being highlighted any more."""
    page.wait_for_function(
        "window.nextupSpeaking === null && document.querySelector('#spotlight').dataset.active === 'false'",
        timeout=20_000,
    )


def busy_branch(api: Api) -> None:
    """Calls at counters 1 and 2, a recall at 2, counter 3 closed, counter 4 paused for lunch, a notice."""
    for service in "AAA":
        api.issue(service)
    call_next(api, "1")
    call_next(api, "2")
    assert api.counter("2", "recall").status_code == 200
    assert api.counter("3", "close").status_code == 200
    assert api.counter("4", "pause", {"reason": "午休"}).status_code == 200
    post_notice(api, "今日 16:00 起暂停办理外汇业务，敬请谅解。", "Foreign exchange closes at 16:00 today.")


# ---- 1. One language when asked -------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_a_screen_in_one_language_shows_no_word_of_the_other(
    browser: Browser, server: ServerProcess, api: Api, lang: str
) -> None:
    """?lang=zh shows only Chinese, ?lang=en only English, and the default both: every visible text of
    the newest-call panel, the board, the lists and the ticker, during a call and after it."""
    busy_branch(api)
    page = screen(browser)
    try:
        open_display(page, server, api, "" if lang == "both" else f"&lang={lang}")
        api.issue("A")
        assert api.counter("1", "finish").status_code == 200
        call_next(api, "1")
        page.wait_for_function("document.querySelector('#spotlight').dataset.active === 'true'", timeout=5_000)
        for moment in ("during the call", "after it"):
            # Ticket numbers and the time are neither language; a pause reason is shown as typed.
            ignored = ("#clock-time", ".recent-number", ".counter-reason")
            shown = [t for t in texts(page) if not t["where"].endswith(ignored)]
            panel = " ".join(t["text"] for t in shown if "#spotlight" in t["where"])
            ticker = " ".join(t["text"] for t in shown if "#ticker" in t["where"])
            if lang == "zh":
                assert [t for t in shown if LATIN_WORD.search(t["text"])] == [], moment
                assert "到 1号窗口" in panel and "外汇" in ticker
            elif lang == "en":
                assert [t for t in shown if CJK.search(t["text"])] == [], moment
                assert "Please go to Counter 1" in panel and "Foreign exchange" in ticker
            else:
                assert "到 1号窗口" in panel and "Please go to Counter 1" in panel, moment
                assert "外汇" in ticker and "Foreign exchange" in ticker
            wait_until_calm(page)
    finally:
        page.context.close()


# ---- 2. A recall marks its row ------------------------------------------------------------------


def recent_rows(page: Page) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = page.eval_on_selector_all(
        "#recent li",
        "items => items.map(li => ({number: li.querySelector('.recent-number').textContent,"
        " recalled: li.classList.contains('recalled'),"
        " badge: (li.querySelector('.recall-badge') || {}).textContent || null}))",
    )
    return rows


def test_a_recall_marks_its_row_instead_of_adding_a_duplicate(
    browser: Browser, page: Page, server: ServerProcess, api: Api
) -> None:
    """A recall moves the call's one row to the top with a 重呼 Recall mark; a reloaded page agrees."""
    open_display(page, server, api)
    for service in "AA":
        api.issue(service)
    call_next(api, "1")
    call_next(api, "2")
    page.wait_for_function("document.querySelectorAll('#recent li').length === 2", timeout=5_000)
    assert recent_rows(page) == [
        {"number": "A002", "recalled": False, "badge": None},
        {"number": "A001", "recalled": False, "badge": None},
    ]
    assert api.counter("1", "recall").status_code == 200
    page.wait_for_function("document.querySelector('#recent li.recalled') !== null", timeout=5_000)
    expected = [
        {"number": "A001", "recalled": True, "badge": "重呼 Recall"},
        {"number": "A002", "recalled": False, "badge": None},
    ]
    assert recent_rows(page) == expected
    # The recall is still announced and highlighted again.
    page.wait_for_function("window.nextupAnnouncements.some(a => a.kind === 'recall')", timeout=5_000)
    # The snapshot lists the recall as a second entry: a fresh page shows one marked row too.
    page.reload()
    page.wait_for_selector('body[data-synced="true"]', timeout=10_000)
    assert recent_rows(page) == expected
    en = screen(browser)
    try:
        open_display(en, server, api, "&lang=en")
        assert [r["badge"] for r in recent_rows(en)] == ["Recall", None]
    finally:
        en.context.close()


# ---- 3. Closed is not paused ---------------------------------------------------------------------


def status_line(page: Page, counter: str) -> str:
    line: str = page.eval_on_selector(
        f'.counter[data-counter="{counter}"] .counter-status',
        "el => Array.from(el.children).filter(c => c.checkVisibility() && c.textContent)"
        ".map(c => c.textContent).join(' ')",
    )
    return line


def test_a_closed_counter_reads_closed_and_a_paused_one_paused_with_its_reason(
    page: Page, server: ServerProcess, api: Api
) -> None:
    """已关闭 Closed and 暂停 Paused (with the reason as typed) are told apart, in the snapshot and live."""
    assert api.counter("3", "close").status_code == 200
    assert api.counter("4", "pause", {"reason": "午休"}).status_code == 200
    open_display(page, server, api)
    assert status_line(page, "3") == "已关闭 Closed"
    assert status_line(page, "4") == "暂停 Paused 午休"
    assert status_line(page, "1") == ""
    # Live: closing and pausing change the line at once.
    assert api.counter("1", "pause", {"reason": "系统维护"}).status_code == 200
    expect(page.locator('.counter[data-counter="1"] .counter-reason')).to_have_text("系统维护")
    assert status_line(page, "1") == "暂停 Paused 系统维护"
    assert api.counter("1", "close").status_code == 200
    expect(page.locator('.counter[data-counter="1"] .counter-reason')).to_have_text("")
    assert status_line(page, "1") == "已关闭 Closed"


# ---- 4. An emergency stands out ----------------------------------------------------------------


def test_an_emergency_notice_is_a_static_banner_titled_emergency(page: Page, server: ServerProcess, api: Api) -> None:
    """An emergency notice: titled 紧急通知 Emergency notice, larger, never scrolling, wrapped in full on
    screen, and announced; an ordinary long notice keeps the 通知 Notice title and scrolls."""
    open_display(page, server, api)
    long_zh = "因系统升级，今日 16:00 起暂停办理所有外汇及跨境汇款业务，请已取号的客户到 1 号窗口咨询，敬请谅解。"
    long_en = "Because of a system upgrade, all foreign exchange and cross-border transfers stop at 16:00 today."
    post_notice(api, long_zh, long_en)
    expect(page.locator("#ticker .ticker-label")).to_have_text("通知 Notice")
    expect(page.locator("#ticker-text")).to_have_class("ticker-text scrolling")
    normal_size = float(page.eval_on_selector("#ticker-text", "el => parseFloat(getComputedStyle(el).fontSize)"))

    post_notice(api, FIRE_ZH, FIRE_EN, emergency=True)
    expect(page.locator("#ticker")).to_have_attribute("data-emergency", "true")
    expect(page.locator("#ticker .ticker-label")).to_have_text("紧急通知 Emergency notice")
    banner = page.eval_on_selector(
        "#ticker-text",
        "el => ({classes: el.className, animation: getComputedStyle(el).animationName,"
        " size: parseFloat(getComputedStyle(el).fontSize), rect: el.getBoundingClientRect().toJSON(),"
        " window: el.parentElement.getBoundingClientRect().toJSON()})",
    )
    assert banner["classes"] == "ticker-text" and banner["animation"] == "none"
    assert banner["size"] > normal_size
    # All of it on screen, standing still: inside its window and the viewport.
    assert banner["rect"]["left"] >= banner["window"]["left"] - 1
    assert banner["rect"]["right"] <= banner["window"]["right"] + 1
    assert banner["rect"]["bottom"] <= 1080
    page.wait_for_function("window.nextupAnnouncements.some(a => a.kind === 'notice')", timeout=5_000)
    notice = [a for a in page.evaluate("window.nextupAnnouncements") if a["kind"] == "notice"]
    assert [(a["zh"], a["en"]) for a in notice] == [(f"紧急通知：{FIRE_ZH}", f"Emergency notice: {FIRE_EN}")]
    # An emergency long enough to wrap wraps rather than scrolls.
    post_notice(api, long_zh, long_en, emergency=True)
    expect(page.locator("#ticker-text")).to_have_text(long_zh + "　·　" + long_en)
    wrapped = page.eval_on_selector(
        "#ticker-text",
        "el => ({height: el.getBoundingClientRect().height, classes: el.className,"
        " line: parseFloat(getComputedStyle(el).lineHeight), bottom: el.getBoundingClientRect().bottom})",
    )
    assert wrapped["classes"] == "ticker-text" and wrapped["height"] > 1.5 * wrapped["line"]
    assert wrapped["bottom"] <= 1080
    # Back to an ordinary notice: the title is 通知 Notice again.
    post_notice(api, "欢迎光临", "Welcome")
    expect(page.locator("#ticker .ticker-label")).to_have_text("通知 Notice")
    expect(page.locator("#ticker")).to_have_attribute("data-emergency", "false")


# ---- 5. Text size and contrast in every state ----------------------------------------------------


def assert_legible(page: Page, state: str, sizes: bool = True) -> list[dict[str, Any]]:
    shown = texts(page)
    assert shown, state
    if sizes:
        small = [(t["text"], t["where"], t["size"]) for t in shown if t["size"] < MIN_TEXT_PX]
        assert small == [], f"{state}: text below {MIN_TEXT_PX} px"
    faint = [
        (t["text"], t["where"], round(contrast(t["color"], t["background"]), 2))
        for t in shown
        if contrast(t["color"], t["background"]) < MIN_CONTRAST
    ]
    assert faint == [], f"{state}: contrast below {MIN_CONTRAST}:1"
    cut = [(t["text"], t["clipped"]) for t in shown if t["clipped"]]
    assert cut == [], f"{state}: text cut off: {cut}"
    return shown


def freeze_animations(page: Page, at_ms: int) -> None:
    """Hold every animation of the page at ``at_ms`` (the flash is yellow before 400 ms, dark after)."""
    page.evaluate("(at) => document.getAnimations().forEach(a => { a.pause(); a.currentTime = at; })", at_ms)


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["landscape", "portrait"])
def test_every_text_is_large_and_contrasted_in_every_state(
    browser: Browser, server: ServerProcess, api: Api, size: tuple[int, int]
) -> None:
    """Every visible text is at least 40 px, inside the screen, with contrast ≥ 4.5:1: at rest, while a
    call flashes (both phases of the flash, panel and tile), with counters open, paused and closed, and
    with an ordinary and an emergency notice."""
    busy_branch(api)
    page = screen(browser, *size)
    try:
        open_display(page, server, api)
        wait_until_calm(page)
        shown = assert_legible(page, "at rest")
        statuses = page.eval_on_selector_all(".counter", "tiles => tiles.map(t => t.dataset.status)")
        assert {"open", "paused", "closed"} <= set(statuses)
        for t in shown:
            if t["where"].endswith(".scrolling"):
                continue  # a long notice scrolls through its window by design
            left, top, right, bottom = t["rect"]
            assert left >= -1 and top >= -1 and right <= size[0] + 1 and bottom <= size[1] + 1, t
            # Inside its tile or panel, not cut off by it.
            box_left, box_top, box_right, box_bottom = t["box"]
            assert left >= box_left - 1 and top >= box_top - 1, t
            assert right <= box_right + 1 and bottom <= box_bottom + 1, t
        assert any("#ticker" in t["where"] for t in shown)
        assert any("recall-badge" in t["where"] for t in shown)

        # A call: the newest-call panel and the counter's tile flash between yellow and dark.
        api.issue("A")
        assert api.counter("1", "finish").status_code == 200
        call_next(api, "1")
        page.wait_for_function("document.querySelector('.counter.flash') !== null", timeout=5_000)
        for phase, at_ms in (("yellow", 100), ("dark", 500)):
            freeze_animations(page, at_ms)
            background = page.eval_on_selector("#spotlight", "el => getComputedStyle(el).backgroundColor")
            assert (background == "rgb(255, 212, 0)") == (phase == "yellow"), background
            flashing = assert_legible(page, f"call flash, {phase}")
            assert any(".counter.flash" in t["where"] for t in flashing)
        page.evaluate("document.getAnimations().forEach(a => a.play())")
        wait_until_calm(page)

        post_notice(api, FIRE_ZH, FIRE_EN, emergency=True)
        expect(page.locator("#ticker")).to_have_attribute("data-emergency", "true")
        emergency = assert_legible(page, "emergency notice")
        assert any("紧急通知" in t["text"] for t in emergency)
    finally:
        page.context.close()
