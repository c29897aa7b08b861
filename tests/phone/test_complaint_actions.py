"""The managers' complaints page at 1366x768, in Chinese and English: the counts above the list follow
every answer, close and reopen at once (no reload) and always equal the rows shown; each complaint
offers close (asked first: it leaves the list) and reopen as the API's transitions allow; a refused
change says why in words."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, expect

from server import keys
from tests.conftest import Api
from tests.phone.conftest import file_complaint, listed, ok
from tests.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.redis]

#: The list request of the page (GET, any filter); a change (PATCH) goes to /complaints/{id}.
LIST_REQUEST = re.compile(r"/api/branches/main/complaints(\?[^/]*)?$")

WORDS = {
    "zh-CN": {
        "close": "关闭", "reopen": "重新打开", "send": "提交答复", "cancel": "取消", "confirm": "关闭投诉",
        "answered": "已答复 {number} 的投诉。", "closed": "已关闭 {number} 的投诉。",
        "reopened": "已重新打开 {number} 的投诉。", "unanswered": "这条投诉尚未答复，客户将看不到任何答复。",
        "ask": "{number} 的投诉关闭后将不再出现在未关闭列表中",
        "open_count": "待处理 {n} 条", "answered_count": "已答复 {n} 条",
        "changed_closed": "该投诉已被他人处理，当前状态：已关闭。", "gone": "这条投诉已不存在。",
    },
    "en-US": {
        "close": "Close", "reopen": "Reopen", "send": "Send answer", "cancel": "Cancel", "confirm": "Close it",
        "answered": "The complaint of {number} is answered.", "closed": "The complaint of {number} is closed.",
        "reopened": "The complaint of {number} is open again.",
        "unanswered": "It has no answer yet: the customer will see none.",
        "ask": "Once closed, the complaint of {number} leaves the list of complaints not closed",
        "open_count": "{n} open", "answered_count": "{n} answered",
        "changed_closed": "Someone else dealt with this complaint meanwhile; it is now Closed.",
        "gone": "This complaint no longer exists.",
    },
}  # fmt: skip
LOCALES = list(WORDS)


def counts_and_rows(page: Page) -> tuple[dict[str, int], dict[str, int]]:
    """What the summary says, by state (and total, overdue), and what the rows below it are, read together."""
    shown: tuple[dict[str, int], dict[str, int]] = tuple(  # type: ignore[assignment]
        page.evaluate(
            """() => {
                const counts = {};
                for (const c of document.querySelectorAll('#summary .count')) {
                    counts[c.dataset.count] = Number(c.dataset.n);
                }
                const rows = [...document.querySelectorAll('#complaints tbody tr')];
                const tally = {total: rows.length, overdue: rows.filter((r) => r.dataset.overdue === 'true').length};
                for (const r of rows) tally[r.dataset.state] = (tally[r.dataset.state] || 0) + 1;
                return [counts, tally];
            }"""
        )
    )
    return shown


def assert_counts_are_the_rows(page: Page) -> dict[str, int]:
    """Every count shown equals the rows of its state (a state shown with none counts 0); the counts."""
    counts, rows = counts_and_rows(page)
    assert counts == {name: rows.get(name, 0) for name in counts}, (counts, rows)
    assert "total" in counts
    return counts


@pytest.fixture
def hold_reloads(hall_server: ServerProcess) -> Iterator[Callable[[Page], None]]:
    """Holds every later list request of a page unanswered: what changes then, changed without a reload."""
    held: list[Route] = []
    pages: list[Page] = []

    def keep(route: Route) -> None:
        held.append(route)

    def hold(page: Page) -> None:
        page.route(LIST_REQUEST, keep)
        pages.append(page)
        # The hold works: a reload asked for now is held.
        before = len(held)
        page.evaluate("() => { window.NextUpComplaints.reload(); }")
        deadline = time.monotonic() + 10
        while len(held) == before:
            assert time.monotonic() < deadline, "the list request was not held"
            page.wait_for_timeout(50)  # lets Playwright dispatch the route to keep()

    yield hold
    for page in pages:
        if not page.is_closed():
            page.unroute(LIST_REQUEST)
    for route in held:
        with contextlib.suppress(PlaywrightError):  # the page may be gone already
            route.abort()


def row_of(page: Page, complaint_id: str) -> Any:
    return page.locator(f'#complaints tr[data-complaint="{complaint_id}"]')


@pytest.mark.parametrize("locale", LOCALES)
def test_counts_follow_answer_close_and_reopen_at_once_and_equal_the_rows(
    hall: Api, hall_server: ServerProcess, open_desk: Callable[..., Page], manager: dict[str, str],
    hold_reloads: Callable[[Page], None], locale: str,
) -> None:  # fmt: skip
    """With every reload held back, answering moves a complaint from open to answered in the counts,
    closing (asked first; cancel changes nothing) takes it off the list and the counts, reopening
    takes it off the closed list; the counts equal the rows shown after each step."""
    words = WORDS[locale]
    first_ticket, second_ticket = hall.issue("A"), hall.issue("A")
    first = file_complaint(hall, first_ticket, "Waited an hour.")
    second = file_complaint(hall, second_ticket, "The screen skipped my number.")
    problems: list[str] = []
    desk = open_desk(hall_server.url, locale, problems)
    expect(row_of(desk, first)).to_have_attribute("data-state", "open")
    expect(row_of(desk, second)).to_have_attribute("data-state", "open")
    before = assert_counts_are_the_rows(desk)
    assert set(before) == {"total", "open", "overdue", "answered"}, "the default list: not closed"
    hold_reloads(desk)

    # Answer: open -1, answered +1, at once.
    row = row_of(desk, first)
    expect(row.locator('button[data-action="close"]')).to_be_visible()
    expect(row.locator('button[data-action="reopen"]')).to_be_hidden()
    row.locator("textarea").fill("We are sorry.")
    row.get_by_role("button", name=words["send"]).click()
    expect(desk.locator("#message")).to_have_text(words["answered"].format(number=first_ticket["number"]))
    expect(row).to_have_attribute("data-state", "answered")
    expect(desk.locator('#summary [data-count="open"]')).to_have_text(
        re.compile(re.escape(words["open_count"].format(n=before["open"] - 1)))
    )
    expect(desk.locator('#summary [data-count="answered"]')).to_have_text(
        re.compile(re.escape(words["answered_count"].format(n=before["answered"] + 1)))
    )
    assert_counts_are_the_rows(desk)
    expect(row.locator('button[data-action="reopen"]')).to_be_visible()

    # Close, asked first: cancel leaves it as it was.
    row.get_by_role("button", name=words["close"], exact=True).click()
    dialog = desk.locator("#close-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(words["ask"].format(number=first_ticket["number"]))
    expect(dialog.get_by_text(words["unanswered"])).to_be_hidden()
    dialog.get_by_role("button", name=words["cancel"]).click()
    expect(dialog).to_be_hidden()
    expect(row).to_have_attribute("data-state", "answered")
    assert listed(hall, manager, first)["state"] == "answered"  # type: ignore[index]

    row.get_by_role("button", name=words["close"], exact=True).click()
    dialog.get_by_role("button", name=words["confirm"]).click()
    expect(desk.locator("#message")).to_have_text(words["closed"].format(number=first_ticket["number"]))
    expect(row).to_have_count(0)
    after_close = assert_counts_are_the_rows(desk)
    assert (after_close["total"], after_close["answered"]) == (before["total"] - 1, before["answered"])

    # An unanswered complaint: the question says the customer will see no answer.
    other = row_of(desk, second)
    other.get_by_role("button", name=words["close"], exact=True).click()
    expect(dialog.get_by_text(words["unanswered"])).to_be_visible()
    dialog.get_by_role("button", name=words["confirm"]).click()
    expect(other).to_have_count(0)
    assert_counts_are_the_rows(desk)
    assert (listed(hall, manager, first, "closed") or {}).get("state") == "closed"
    assert (listed(hall, manager, second, "closed") or {}).get("state") == "closed"

    # The closed list; reopening takes the complaint off it, at once.
    desk.unroute(LIST_REQUEST)
    desk.locator("#state-filter").select_option("closed")
    expect(row_of(desk, first)).to_have_attribute("data-state", "closed")
    expect(desk.locator('#summary [data-count="closed"]')).to_be_visible()
    closed = assert_counts_are_the_rows(desk)
    assert set(closed) == {"total", "closed"}
    hold_reloads(desk)
    reopened = row_of(desk, first)
    expect(reopened.locator('button[data-action="close"]')).to_be_hidden()
    reopened.get_by_role("button", name=words["reopen"]).click()
    expect(desk.locator("#message")).to_have_text(words["reopened"].format(number=first_ticket["number"]))
    expect(reopened).to_have_count(0)
    assert assert_counts_are_the_rows(desk)["closed"] == closed["closed"] - 1
    assert (listed(hall, manager, first) or {}).get("state") == "open"
    assert problems == [], "no script errors and no Content-Security-Policy violations"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_refused_close_or_reopen_says_why_in_words(
    hall: Api, hall_server: ServerProcess, open_desk: Callable[..., Page], manager: dict[str, str],
    hall_redis: redis.Redis, locale: str,
) -> None:  # fmt: skip
    """Closed by someone else meanwhile: closing names its state and the row leaves; gone meanwhile:
    one sentence says so; never a code or the server's English in the Chinese page."""
    words = WORDS[locale]
    taken = file_complaint(hall, hall.issue("A"), "Nobody came.")
    vanished = file_complaint(hall, hall.issue("A"), "Too cold.")
    desk = open_desk(hall_server.url, locale)
    expect(row_of(desk, taken)).to_be_visible()
    expect(row_of(desk, vanished)).to_be_visible()

    ok(hall.http.patch(f"/api/branches/main/complaints/{taken}", json={"state": "closed"}, headers=manager))
    row_of(desk, taken).get_by_role("button", name=words["close"], exact=True).click()
    desk.locator("#close-dialog").get_by_role("button", name=words["confirm"]).click()
    expect(desk.locator("#message")).to_have_text(words["changed_closed"])
    expect(row_of(desk, taken)).to_have_count(0)

    hall_redis.delete(keys.complaint("main", vanished))
    row_of(desk, vanished).get_by_role("button", name=words["close"], exact=True).click()
    desk.locator("#close-dialog").get_by_role("button", name=words["confirm"]).click()
    expect(desk.locator("#message")).to_have_text(words["gone"])
    expect(row_of(desk, vanished)).to_have_count(0)
    assert_counts_are_the_rows(desk)
