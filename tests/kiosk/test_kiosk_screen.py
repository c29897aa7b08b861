"""The kiosk's start screen in chromium at the sizes kiosks have: buttons that fill the screen and are
large enough to touch, the priority toggle, and the words shown when no counter serves a service."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from printer.emulator import PrinterEmulator
from tests.conftest import Api
from tests.kiosk.conftest import open_kiosk, tap
from tests.kiosk.processes import RunningKiosk
from tests.servers import ROOT, ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

DOCS = ROOT / "docs"

#: The usual kiosk: a 21.5-inch 1080x1920 panel, 546.1 mm across its diagonal of 2,203 pixels, so
#: 0.248 mm a pixel. A touch target of 15 mm is then 61 px (at 1920x1080, the same panel turned).
MM_PER_PX = 21.5 * 25.4 / math.hypot(1080, 1920)
MIN_TARGET_PX = math.ceil(15 / MM_PER_PX)

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)

#: Everything the layout checks need, measured in the page.
MEASURE = """() => {
  const box = (el) => { const r = el.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height}; };
  const shown = (root) => [...root.querySelectorAll('span')].filter(s => s.getClientRects().length
    && !s.querySelector('span'));
  const services = [...document.querySelectorAll('button.service')].map(b => ({
    ...box(b), id: b.dataset.service,
    overflows: b.scrollHeight > b.clientHeight + 1 || b.scrollWidth > b.clientWidth + 1,
    texts: shown(b).map(box)}));
  const toggle = document.getElementById('priority');
  return {services, priority: {...box(toggle), texts: shown(toggle).map(box)},
          viewport: {width: innerWidth, height: innerHeight},
          scrolls: document.documentElement.scrollHeight > innerHeight
            || document.documentElement.scrollWidth > innerWidth};
}"""


@pytest.fixture
def screen(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Factory: a fresh kiosk-sized tab (``size`` as (width, height))."""
    contexts = []

    def make(size: tuple[int, int]) -> Page:
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def open_demo_kiosk(page: Page, server: ServerProcess, lang: str = "zh") -> Page:
    """The demo branch's kiosk page, connected, in ``lang``."""
    return open_in(page, f"{server.url}/kiosk/main", lang)


def open_in(page: Page, url: str, lang: str) -> Page:
    """A kiosk page, connected, in ``lang`` (the toggle on the page)."""
    open_kiosk(page, url)
    if lang == "en":
        page.click("#lang")
        expect(page.locator("body")).to_have_class("lang-en")
    return page


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (inner["left"] >= outer["left"] - 1 and inner["right"] <= outer["right"] + 1
            and inner["top"] >= outer["top"] - 1 and inner["bottom"] <= outer["bottom"] + 1)  # fmt: skip


def assert_buttons_fill_the_screen(layout: dict[str, Any], count: int) -> None:
    """Equal buttons of at least the minimum size filling most of the height, none cut off."""
    services, viewport = layout["services"], layout["viewport"]
    assert len(services) == count
    heights = [s["height"] for s in services]
    assert max(heights) - min(heights) <= 1, heights
    assert min(heights) >= MIN_TARGET_PX and min(s["width"] for s in services) >= MIN_TARGET_PX
    top, bottom = min(s["top"] for s in services), max(s["bottom"] for s in services)
    assert bottom - top >= 0.5 * viewport["height"], (top, bottom)
    assert bottom >= 0.9 * viewport["height"] and bottom <= viewport["height"], bottom
    assert not layout["scrolls"]
    for service in services:
        assert not service["overflows"], service["id"]
        assert service["texts"] and all(inside(text, service) for text in service["texts"]), service["id"]
        assert service["left"] >= 0 and service["right"] <= viewport["width"], service["id"]


def test_the_minimum_touch_target_is_15_mm_on_the_usual_kiosk_panel() -> None:
    """The assumption the layout tests use: 0.248 mm a pixel, so 15 mm is 61 px."""
    assert round(MM_PER_PX, 3) == 0.248 and MIN_TARGET_PX == 61


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_service_buttons_fill_the_screen_with_equal_large_targets(
    screen: Callable[..., Page], server: ServerProcess, api: Api, size: tuple[int, int], lang: str
) -> None:
    """The demo branch's three services fill the screen below the priority toggle, equal and whole."""
    for service in "AAB":
        api.issue(service)
    page = open_demo_kiosk(screen(size), server, lang)
    layout = page.evaluate(MEASURE)
    assert_buttons_fill_the_screen(layout, 3)
    priority = layout["priority"]
    assert priority["height"] >= MIN_TARGET_PX and priority["width"] >= MIN_TARGET_PX
    assert priority["bottom"] <= min(s["top"] for s in layout["services"])  # set before tapping a service
    assert all(inside(text, priority) for text in priority["texts"])


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_eight_services_with_long_names_still_fit(
    screen: Callable[..., Page],
    start_server: Callable[..., ServerProcess],
    start_kiosk: Callable[..., RunningKiosk],
    emulator: PrinterEmulator,
    tmp_path: Path,
    size: tuple[int, int],
    lang: str,
) -> None:
    """A branch of eight services, some with long English names: two or three columns, still whole."""
    server = start_server(many_services_branch(tmp_path))
    api = Api(server.url)
    kiosk = start_kiosk(server, api.user("kiosk1", "kiosk"), emulator.url)
    api.close()
    page = open_in(screen(size), kiosk.url, lang)
    expect(page.locator("button.service")).to_have_count(8)
    assert_buttons_fill_the_screen(page.evaluate(MEASURE), 8)


def test_the_priority_toggle_shows_its_state_and_is_reset_after_a_ticket(
    screen: Callable[..., Page], server: ServerProcess, api: Api
) -> None:
    """Off: an empty box and 'off' in words; on: a tick and 'on'; the next customer finds it off again."""
    page = open_demo_kiosk(screen(PORTRAIT), server)
    toggle = page.locator("#priority")
    tick = "getComputedStyle(document.querySelector('#priority .check'), '::after').content"
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(toggle.locator(".state-off .zh")).to_have_text("未选择 · 轻触选择")
    expect(toggle.locator(".state-on")).to_be_hidden()
    assert page.evaluate(tick) == "none"
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(toggle.locator(".state-on .zh")).to_have_text("已选择 · 请再选业务")
    expect(toggle.locator(".state-off")).to_be_hidden()
    assert page.evaluate(tick) != "none"
    page.click("#lang")
    expect(toggle.locator(".state-on .en")).to_have_text("On · now choose a service")
    page.click("#lang")

    number = tap(page, "A")
    expect(page.locator("#ticket-priority")).to_be_visible()
    assert api.state()["services"][0]["priority_waiting"] == 1 and number == "A001"
    page.click("#done")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(toggle.locator(".state-off .zh")).to_be_visible()
    assert page.evaluate(tick) == "none"
    assert tap(page, "A") == "A002"
    assert api.state()["services"][0]["priority_waiting"] == 1  # the second ticket is a regular one


@pytest.mark.parametrize(
    "lang,words,waiting_words,minutes",
    [("zh", "暂无窗口办理此业务", "等候 2 人 · 暂无窗口办理", "分钟"),
     ("en", "No counter is serving this right now", "2 waiting · no counter serving now", "min")],
)  # fmt: skip
def test_kiosk_and_phone_say_no_counter_serves_instead_of_minutes(
    screen: Callable[..., Page], browser: Browser, server: ServerProcess, api: Api,
    lang: str, words: str, waiting_words: str, minutes: str,
) -> None:  # fmt: skip
    """B's counters paused and closed: its button and a B ticket's phone page say so; minutes come back."""
    api.issue("A")
    _, second = api.issue("B"), api.issue("B")
    assert api.counter("3", "pause", {"reason": "午休"}).status_code == 200
    assert api.counter("4", "close").status_code == 200
    page = open_demo_kiosk(screen(PORTRAIT), server, lang)
    meta = page.locator(f"button.service[data-service=B] .service-meta .{lang}")
    expect(meta).to_have_text(waiting_words)
    expect(page.locator(f"button.service[data-service=A] .service-meta .{lang}")).to_contain_text(minutes)

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        mine = phone.new_page()
        mine.goto(f"{server.url}/t/{second['id']}?lang={lang}")
        expect(mine.locator("#wait")).to_contain_text(words, timeout=15_000)
        assert minutes not in str(mine.text_content("#wait"))
        assert mine.get_attribute("#wait", "data-no-counter") == "true"

        # The customer takes a ticket anyway: the kiosk's ticket screen says so too.
        tap(page, "B")
        expect(page.locator(f"#ticket-ahead-{lang}")).to_contain_text(words if lang == "zh" else words.lower())
        page.click("#done")

        assert api.counter("4", "open").status_code == 200
        expect(meta).to_contain_text(minutes)
        expect(mine.locator("#wait")).to_contain_text(minutes)
        assert mine.get_attribute("#wait", "data-no-counter") == "false"
    finally:
        phone.close()


def test_the_portrait_screenshot_for_the_docs(screen: Callable[..., Page], server: ServerProcess, api: Api) -> None:
    """The kiosk at 1080x1920 in Chinese, with people waiting and the priority toggle: docs/kiosk-portrait.png."""
    for service in "AAABBC":
        api.issue(service)
    page = open_demo_kiosk(screen(PORTRAIT), server)
    expect(page.locator("#priority")).to_be_visible()
    expect(page.locator("button.service[data-service=A] .service-meta .zh")).to_contain_text("等候 3 人")
    DOCS.mkdir(exist_ok=True)
    page.screenshot(path=str(DOCS / "kiosk-portrait.png"))
    assert (DOCS / "kiosk-portrait.png").stat().st_size > 10_000


def many_services_branch(tmp_path: Path) -> Path:
    """Branch ``main`` with eight services (long English names among them) and two open counters."""
    names = [("个人业务", "Personal services"), ("对公业务", "Business accounts and corporate services"),
             ("咨询", "Enquiries"), ("外汇", "Foreign exchange and international remittances"),
             ("贵宾理财", "Wealth management (VIP)"), ("信用卡", "Credit cards"),
             ("社保卡", "Social security cards"), ("贷款", "Loans and mortgages")]  # fmt: skip
    services = "".join(
        f'\n[[services]]\nid = "{chr(65 + i)}"\nprefix = "{chr(65 + i)}"\nname_zh = "{zh}"\nname_en = "{en}"\n'
        for i, (zh, en) in enumerate(names)
    )
    ids = ", ".join(f'"{chr(65 + i)}"' for i in range(len(names)))
    path = tmp_path / "many.toml"
    path.write_text(
        '[branch]\nid = "main"\nname_zh = "测试网点"\nname_en = "Test branch"\ntimezone = "Asia/Shanghai"\n'
        + services
        + "".join(f'\n[[counters]]\nid = "{n}"\nservices = [{ids}]\ninitial_status = "open"\n' for n in (1, 2)),
        encoding="utf-8",
    )
    return path
