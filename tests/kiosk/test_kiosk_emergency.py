"""The kiosk in the branch's emergency state (应急预案): the services and the priority toggle cannot be used
and a panel says why in both languages; when it ends the kiosk issues again without a reload.

The demo kiosk of a real ``nextup serve`` (its kiosk follows the server's kiosk socket) in chromium, at
the kiosk's portrait and landscape sizes; the state started and ended through the real API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser import covered_by
from tests.conftest import Api
from tests.emergency import end_emergency, start_emergency
from tests.kiosk.conftest import tap
from tests.kiosk.test_kiosk_screen import LANDSCAPE, PORTRAIT, open_demo_kiosk
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

EAST_ZH = "请从东门离开，不要乘坐电梯。"
EAST_EN = "Leave by the east door; do not use the lifts."

#: Every text of the panel as painted, with its box, size, and whether the panel cuts it off.
PANEL = """() => {
  const panel = document.getElementById('emergency');
  const r = panel.getBoundingClientRect();
  const texts = [...panel.querySelectorAll('p')].filter(p => p.checkVisibility() && p.textContent).map(p => {
    const b = p.getBoundingClientRect();
    return {text: p.textContent, cls: p.className, size: parseFloat(getComputedStyle(p).fontSize),
            left: b.left, top: b.top, right: b.right, bottom: b.bottom};
  });
  return {texts, overflows: panel.scrollHeight > panel.clientHeight + 1 || panel.scrollWidth > panel.clientWidth + 1,
          box: {left: r.left, top: r.top, right: r.right, bottom: r.bottom},
          viewport: {width: innerWidth, height: innerHeight}};
}"""


def panel_text(page: Page) -> list[str]:
    shown: list[str] = page.eval_on_selector_all(
        "#emergency p", "ps => ps.filter(p => p.checkVisibility() && p.textContent).map(p => p.textContent)"
    )
    return shown


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_an_emergency_stops_the_kiosk_with_words_and_its_end_lets_it_issue_again(
    screen: Callable[..., Page], server: ServerProcess, api: Api, size: tuple[int, int], lang: str
) -> None:
    """Started: a panel in both languages (whatever the kiosk's language) with the kind's title, why no
    ticket is issued, its words and the manager's covers the services; they and the priority toggle are
    disabled and a tap issues nothing. Ended: the panel goes and a tap prints a ticket, with no reload."""
    page = open_demo_kiosk(screen(size), server, lang)
    load = page.evaluate("performance.timeOrigin")
    expect(page.locator("#emergency")).to_be_hidden()

    start_emergency(api, "evacuation", text_zh=EAST_ZH, text_en=EAST_EN)
    expect(page.locator("#emergency")).to_be_visible(timeout=10_000)
    assert panel_text(page) == [
        "紧急疏散", "紧急疏散中，暂停取号。", "请保持冷静，听从工作人员指引，经最近的安全出口有序离开大厅。", EAST_ZH,
        "Emergency evacuation", "The hall is being evacuated: no tickets are issued.",
        "Please stay calm, follow the staff and leave the hall by the nearest exit.", EAST_EN,
    ]  # fmt: skip
    expect(page.locator("button.service:enabled")).to_have_count(0)
    expect(page.locator("#priority")).to_be_disabled()
    for selector in ("button.service[data-service=A]", "#priority"):
        assert covered_by(page, selector, "#emergency"), selector
    box = page.locator("button.service[data-service=A]").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("body")).to_have_attribute("data-screen", "start")
    assert api.state()["services"][0]["waiting"] == 0

    end_emergency(api)
    expect(page.locator("#emergency")).to_be_hidden(timeout=10_000)
    expect(page.locator("button.service:enabled")).to_have_count(3)
    expect(page.locator("#priority")).to_be_enabled()
    assert tap(page, "A") == "A001"
    assert page.evaluate("performance.timeOrigin") == load, "no reload"


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_the_panel_holds_the_longest_words_whole_on_screen(
    screen: Callable[..., Page], server: ServerProcess, api: Api, size: tuple[int, int]
) -> None:
    """With the longest words a manager may add in both languages, the panel shows all of them inside the
    screen, none cut off, the title the largest; the manager's words are shown as typed, never as markup."""
    hostile = '<img src=x onerror="window.pwned=1">'
    start_emergency(api, "closure", text_zh=(hostile + "因停电，本网点今日暂停营业。" * 30)[:300],
                    text_en=(hostile + " The branch is closed today because of a power cut." * 10)[:300])  # fmt: skip
    page = open_demo_kiosk(screen(size), server)
    expect(page.locator("#emergency")).to_be_visible(timeout=10_000)
    layout: dict[str, Any] = page.evaluate(PANEL)
    assert not layout["overflows"]
    viewport = layout["viewport"]
    for text in layout["texts"]:
        assert text["left"] >= -1 and text["top"] >= -1, text["text"][:20]
        assert text["right"] <= viewport["width"] + 1 and text["bottom"] <= viewport["height"] + 1, text["text"][:20]
    owns = [t for t in layout["texts"] if t["cls"] == "emergency-own"]
    assert [t["text"][: len(hostile)] for t in owns] == [hostile, hostile]
    assert page.query_selector("#emergency img") is None and page.evaluate("window.pwned") is None
    titles = [t["size"] for t in layout["texts"] if t["cls"] == "emergency-title"]
    assert min(titles) > max(t["size"] for t in layout["texts"] if t["cls"] != "emergency-title")
