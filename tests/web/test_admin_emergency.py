"""The manager's control of the emergency state (应急预案) on /admin, Notices tab, in a real browser: the state
in force in words and branch time, starting it (after a confirmation) with the kind and own words, ending
it (after a confirmation), refusals in words; the lobby display follows."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import Api
from tests.emergency import MANAGER, end
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]

BRANCH_ZONE = ZoneInfo("Asia/Shanghai")
#: The office PC's own zone, not the branch's: the page must still show branch time.
BROWSER_ZONE = "America/New_York"
LOCALE = {"zh": "zh-CN", "en": "en-US"}
WORDS = {
    "zh": {
        "none": "正常营业，未处于应急状态。",
        "in_force": "应急状态：紧急疏散（自 {since} 起）",
        "own": "附加说明：请从东门离开 / Leave by the east door",
        "ask_start": "确定启动“紧急疏散”？所有显示屏将全屏显示并播报，取号机停止取号，大厅暂停服务。",
        "ask_end": "确定解除“紧急疏散”？显示屏、取号机和手机页面将恢复正常。",
        "started": "已启动应急状态：紧急疏散",
        "ended": "已解除应急状态，恢复正常服务。",
        "not_in_force": "当前没有应急状态，无需解除。",
        "says": "屏幕上将显示：系统出现故障，暂停叫号和取号。请稍候，工作人员会为您安排。",
    },
    "en": {
        "none": "Normal service: no emergency state.",
        "in_force": "Emergency state: Emergency evacuation (since {since})",
        "own": "Own words: 请从东门离开 / Leave by the east door",
        "ask_start": "Start “Emergency evacuation”? Every display shows it full screen and announces it, "
        "and kiosks stop issuing: the hall stops.",
        "ask_end": "End “Emergency evacuation”? Displays, kiosks and phones return to normal.",
        "started": "Emergency state started: Emergency evacuation",
        "ended": "Emergency state ended: normal service again.",
        "not_in_force": "There is no emergency state to end.",
        "says": "The screens will say: The system has a fault: calls and tickets are paused. "
        "Please wait; the staff will help you.",
    },
}


def open_notices(context: BrowserContext, api: Api, lang: str) -> Page:
    """The Notices tab of /admin, as the manager."""
    api.user(MANAGER, "manager")
    page = context.new_page()
    log_in(page, api.url, MANAGER, path="/admin", lang=lang)
    page.click('.tabs a[data-tab="notices"]')
    return page


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_manager_starts_and_ends_the_emergency_state_after_confirming_each(
    api: Api, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    """Cancelled: nothing changes. Confirmed: the state is in force with its kind, own words and the time it
    began in branch time, and the display covers its screen; ended (confirmed): normal service again."""
    words = WORDS[lang]
    page = open_notices(new_context(timezone_id=BROWSER_ZONE, locale=LOCALE[lang]), api, lang)
    display = new_context().new_page()
    display.goto(f"{api.url}/display/main?token={api.user('tv1', 'display')}")
    display.wait_for_selector('body[data-synced="true"]')
    expect(page.locator("#emergency-current")).to_have_text(words["none"])
    expect(page.locator("#emergency-end")).to_be_hidden()

    form = page.locator("#emergency-form")
    form.locator('select[name="kind"]').select_option("system_fault")
    expect(page.locator("#emergency-says")).to_have_text(words["says"])
    form.locator('select[name="kind"]').select_option("evacuation")
    form.locator('input[name="text_zh"]').fill("请从东门离开")
    form.locator('input[name="text_en"]').fill("Leave by the east door")
    page.click("#emergency-start")
    expect(page.locator("#emergency-dialog")).to_be_visible()
    expect(page.locator("#emergency-question")).to_have_text(words["ask_start"])
    page.click("#emergency-no")
    expect(page.locator("#emergency-dialog")).to_be_hidden()
    assert api.state()["emergency"] is None, "cancelled: nothing started"

    page.click("#emergency-start")
    page.click("#emergency-yes")
    expect(page.locator("#message")).to_have_text(words["started"])
    emergency = api.state()["emergency"]
    assert emergency is not None and emergency["kind"] == "evacuation"
    since = datetime.fromisoformat(emergency["since"]).astimezone(BRANCH_ZONE).strftime("%H:%M:%S")
    expect(page.locator("#emergency-current")).to_have_text(words["in_force"].format(since=since))
    expect(page.locator("#emergency-words")).to_have_text(words["own"])
    expect(page.locator("#emergency-who")).to_be_visible()
    expect(display.locator("#emergency")).to_be_visible()
    expect(display.locator("#emergency .emergency-own").first).to_have_text("请从东门离开")

    page.click("#emergency-end")
    expect(page.locator("#emergency-question")).to_have_text(words["ask_end"])
    page.click("#emergency-yes")
    expect(page.locator("#message")).to_have_text(words["ended"])
    expect(page.locator("#emergency-current")).to_have_text(words["none"])
    expect(page.locator("#emergency-end")).to_be_hidden()
    assert api.state()["emergency"] is None
    expect(display.locator("#emergency")).to_be_hidden()
    # Audited, with who did it.
    audit = api.http.get("/api/branches/main/audit", headers=api.auth(api.admin())).json()["entries"]
    assert [e["action"] for e in audit if e["actor"] == MANAGER][:2] == ["emergency_ended", "emergency_started"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_ending_a_state_someone_else_ended_meanwhile_is_refused_in_words(
    api: Api, new_context: Callable[..., BrowserContext], lang: str
) -> None:
    """The dialog was open when another manager ended the state: the answer is a sentence, not a code."""
    page = open_notices(new_context(locale=LOCALE[lang]), api, lang)
    response = api.http.post("/api/branches/main/emergency", json={"kind": "evacuation"},
                             headers=api.auth(api.user("other", "manager")))  # fmt: skip
    assert response.status_code == 200, response.text
    expect(page.locator("#emergency-end")).to_be_visible()
    page.click("#emergency-end")
    expect(page.locator("#emergency-dialog")).to_be_visible()
    assert end(api, api.user("other", "manager")).status_code == 200
    page.click("#emergency-yes")
    expect(page.locator("#message")).to_have_text(WORDS[lang]["not_in_force"])
    expect(page.locator("#message")).to_have_attribute("data-kind", "error")
    assert not re.search(r"invalid_state|[{}]", str(page.locator("#message").text_content()))
