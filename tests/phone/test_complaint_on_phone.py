"""The customer follows their complaint on the ticket's page (390x844, Chinese and English): the
manager's answer reaches the page live, the page of a served ticket with a complaint outlives its
two hours, and a rating sent after the feedback window closed says so while the page stays."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from server.clock import ManualClock
from server.phone import REFRESH_S
from tests.conftest import Api
from tests.phone.conftest import EXPECT_MS, ok, page_url, phone_state, serve, wait_live
from tests.servers import InProcessServer, ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.redis]

Clocked = tuple[InProcessServer, ManualClock, Api]
#: Longest an answer takes to reach an open page: one reload of a finished ticket's view, and some.
NEXT_RELOAD_MS = int(REFRESH_S * 1000) + EXPECT_MS

WORDS = {
    "zh-CN": {
        "title": "我的投诉", "open": "处理中", "answered": "已答复", "received": "投诉已收到，我们将在 24 小时内处理。",
        "due": "我们将于 {time} 前答复您，答复会显示在本页。", "answer_head": "营业厅答复（{time}）：",
        "kept": "在您的投诉得到答复之前，本页面一直有效。", "expires": "本页面将于 {time} 失效",
        "send": "提交答复", "closed_window": "评价和投诉的时间已过；本页仍显示您投诉的答复。",
        "due_time": "3月3日 10:00", "answered_time": "3月2日 12:30", "expires_time": "3月9日 12:30",
    },
    "en-US": {
        "title": "My complaints", "open": "Being dealt with", "answered": "Answered",
        "received": "Complaint received; we answer within 24 hours.",
        "due": "We answer by {time}; the answer shows on this page.", "answer_head": "Our answer ({time}):",
        "kept": "This page keeps working until your complaint is answered.",
        "expires": "This page stops working at {time}", "send": "Send answer",
        "closed_window": "Rating and complaints have closed; this page still shows your complaints' answers.",
        "due_time": "3 Mar, 10:00", "answered_time": "2 Mar, 12:30", "expires_time": "9 Mar, 12:30",
    },
}  # fmt: skip
LOCALES = list(WORDS)


def complain_on(page: Page, text: str, phone: str = "") -> None:
    page.locator("#complaint-open").click()
    page.locator("#complaint-text").fill(text)
    if phone:
        page.locator("#complaint-phone").fill(phone)
    page.locator("#complaint-submit").click()


@pytest.mark.parametrize("locale", LOCALES)
def test_the_managers_answer_reaches_the_customers_page_live(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page], open_desk: Callable[..., Page],
    locale: str,
) -> None:  # fmt: skip
    """Filed on the phone, the complaint is listed there at once, open; answered on the managers'
    page, the answer appears on the open phone page without a reload."""
    words = WORDS[locale]
    mine = hall.issue("A")
    serve(hall, "2")
    problems: list[str] = []
    phone = open_phone(page_url(hall_server.url, mine), locale, problems)
    wait_live(phone)
    text = f"The counter closed while I waited ({locale})."
    complain_on(phone, text, phone="+86 138 0013 8000")
    expect(phone.locator("#notice")).to_have_text(words["received"], timeout=EXPECT_MS)
    item = phone.locator("#follow-up-list li")
    expect(phone.locator("#follow-up h2")).to_have_text(words["title"])
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-state", "open")
    expect(item.locator(".filed")).to_contain_text(words["open"])
    expect(item.locator(".text")).to_have_text(text)
    expect(item.locator(".due")).to_be_visible()
    expect(phone.locator("#expires")).to_have_text(words["kept"])
    phone.evaluate("() => { window.sameDocument = true; }")

    desk = open_desk(hall_server.url, locale)
    row = desk.locator("#complaints tbody tr", has_text=text)
    row.locator("textarea").fill("We are sorry: the counter should not have closed.")
    row.get_by_role("button", name=words["send"]).click()
    expect(row).to_have_attribute("data-state", "answered")

    expect(item).to_have_attribute("data-state", "answered", timeout=NEXT_RELOAD_MS)
    expect(item.locator(".answer")).to_have_text("We are sorry: the counter should not have closed.")
    expect(item.locator(".answer-head")).to_be_visible()
    expect(item.locator(".due")).to_have_count(0)
    assert phone.evaluate("() => window.sameDocument === true"), "the open page got it: no reload"
    assert "138 0013 8000" not in phone.content() and "manager1" not in phone.locator("main").inner_text()
    assert problems == [], "no script errors and no Content-Security-Policy violations"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_served_ticket_with_a_complaint_keeps_its_page_past_two_hours(
    clocked: Clocked, open_phone: Callable[..., Page], locale: str
) -> None:
    """Served at 10:00 with a complaint: at 12:30 the page still opens, read-only, says it lasts until
    the answer; answered then, it shows the answer and lasts seven days more, dated."""
    words = WORDS[locale]
    server, clock, api = clocked
    manager = api.auth(api.user("boss", "manager"))
    ticket = api.issue("A")
    serve(api, "2")
    start = clock.now()
    filed = ok(api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json={"text": "Rude."}), 201)

    clock.set(start + timedelta(hours=2, minutes=30))
    phone = open_phone(f"{server.url}/t/{ticket['id']}", locale)
    wait_live(phone)
    item = phone.locator("#follow-up-list li")
    expect(item).to_have_attribute("data-state", "open")
    expect(item.locator(".due")).to_have_text(words["due"].format(time=words["due_time"]))
    expect(phone.locator("#expires")).to_have_text(words["kept"])
    expect(phone.locator("#rating")).to_be_hidden()
    expect(phone.locator("#complaint")).to_be_hidden()

    ok(api.http.patch(f"/api/branches/main/complaints/{filed['id']}", json={"answer": "Sorry."}, headers=manager))
    phone.reload()
    expect(item).to_have_attribute("data-state", "answered")
    expect(item.locator(".filed")).to_contain_text(words["answered"])
    expect(item.locator(".answer-head")).to_have_text(words["answer_head"].format(time=words["answered_time"]))
    expect(item.locator(".answer")).to_have_text("Sorry.")
    expect(phone.locator("#expires")).to_have_text(words["expires"].format(time=words["expires_time"]))

    clock.set(start + timedelta(days=7, hours=2, minutes=31))
    gone = phone.reload()
    assert gone is not None and gone.status == 410


@pytest.mark.parametrize("locale", LOCALES)
def test_a_rating_sent_after_the_window_closed_says_so_and_the_page_stays(
    clocked: Clocked, open_phone: Callable[..., Page], locale: str
) -> None:
    """The rating form was open at 11:00; sent at 12:00:01 it is refused, and the page says rating has
    closed, hides the form and keeps showing the complaint instead of ending."""
    words = WORDS[locale]
    server, clock, api = clocked
    ticket = api.issue("A")
    serve(api, "2")
    start = clock.now()
    ok(api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json={"text": "Slow."}), 201)
    clock.set(start + timedelta(hours=1))
    phone = open_phone(f"{server.url}/t/{ticket['id']}", locale)
    wait_live(phone)
    expect(phone.locator("#rating")).to_be_visible()

    clock.set(start + timedelta(hours=2, seconds=1))
    phone.locator('.star[data-value="2"]').click()
    phone.locator("#rating-submit").click()
    expect(phone.locator("#notice")).to_have_text(words["closed_window"])
    expect(phone.locator("#rating")).to_be_hidden()
    expect(phone.locator("#complaint")).to_be_hidden()
    expect(phone.locator("#follow-up-list li .text")).to_have_text("Slow.")
    assert phone_state(phone)["ended"] is None
