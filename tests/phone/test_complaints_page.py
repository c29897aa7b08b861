"""The managers' complaints page in a real browser: complaints filed on the phone page show there, in
Chinese and English, and are answered there; customers' text shows literally; only managers get in."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Dialog, Page, expect

from server import keys
from server.web.complaints import REFRESH_S
from tests.conftest import Api
from tests.phone.conftest import EXPECT_MS, file_complaint, listed, ok, page_url, serve, wait_live
from tests.servers import ServerProcess
from tests.web.conftest import password_of

pytestmark = [pytest.mark.browser, pytest.mark.redis]

#: Long enough for a complaint filed after the page loaded to show: one periodic reload, and some.
NEXT_RELOAD_MS = REFRESH_S * 1000 + EXPECT_MS

HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)><b>bold</b> & "quoted"'


def watch_dialogs(page: Page) -> list[str]:
    """Every dialog the page opens (an injected alert would be one); dismissed at once."""
    opened: list[str] = []

    def seen(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    return opened


def test_a_complaint_from_the_phone_shows_on_the_managers_page_and_is_answered_there(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page], open_desk: Callable[..., Page],
    manager: dict[str, str],
) -> None:  # fmt: skip
    """Filed on the phone, it appears open (待处理) at the next reload; answered on the page, it is answered."""
    problems: list[str] = []
    desk = open_desk(hall_server.url, "zh-CN", problems)
    expect(desk.locator("h1")).to_contain_text("客户投诉")
    expect(desk.locator("#summary")).to_contain_text("共")
    expect(desk.locator("#target")).to_have_text("答复时限：24 小时")
    expect(desk.locator("#updated")).to_have_text(re.compile(r"^更新于 \d\d:\d\d:\d\d$"))

    mine = hall.issue("A")
    serve(hall, "2")
    phone = open_phone(page_url(hall_server.url, mine), "zh-CN")
    wait_live(phone)
    phone.locator("#complaint-open").click()
    phone.locator("#complaint-text").fill("等了很久，柜台还提前关了。")
    phone.locator("#complaint-phone").fill("+86 138 0013 8000")
    phone.locator("#complaint-submit").click()
    expect(phone.locator("#notice")).to_have_text("投诉已收到，我们将在 24 小时内处理。", timeout=EXPECT_MS)
    complaints = ok(hall.http.get("/api/branches/main/complaints", headers=manager))["complaints"]
    [complaint] = [c for c in complaints if c["number"] == mine["number"]]

    # The page was open before the complaint: its periodic reload brings it in, first in the list.
    row = desk.locator(f'#complaints tr[data-complaint="{complaint["id"]}"]')
    expect(row).to_have_attribute("data-state", "open", timeout=NEXT_RELOAD_MS)
    expect(desk.locator("#complaints tbody tr").first).to_have_attribute("data-complaint", complaint["id"])
    expect(row.locator('[data-field="number"]')).to_have_text(mine["number"])
    expect(row.locator('[data-field="where"]')).to_have_text("2号窗口 · admin")
    expect(row.locator('[data-field="text"]')).to_have_text("等了很久，柜台还提前关了。")
    expect(row.locator('[data-field="phone"]')).to_have_text("+86 138 0013 8000")
    expect(row.locator(".state")).to_have_text("待处理")
    expect(row.locator(".overdue")).to_be_hidden()
    expect(row.locator(".due")).to_have_text(f"应于 {complaint['answer_due_at'][:16].replace('T', ' ')} 前答复")
    expect(row.locator('[data-field="filed_at"]')).to_have_text(complaint["filed_at"][:16].replace("T", " "))

    row.locator("textarea").fill("已电话联系您，非常抱歉。")
    row.locator("button[type=submit]").click()
    expect(row).to_have_attribute("data-state", "answered")
    expect(row.locator(".state")).to_have_text("已答复")
    expect(row.locator(".answer-text")).to_have_text("已电话联系您，非常抱歉。")
    expect(row.locator(".answered-by")).to_contain_text("manager1 答复于")
    expect(row.locator("form")).to_be_hidden()
    expect(desk.locator("#message")).to_have_text(f"已答复 {mine['number']} 的投诉。")
    answered = listed(hall, manager, complaint["id"], "answered")
    assert answered is not None
    assert (answered["state"], answered["answer"], answered["answered_by"]) == (
        "answered", "已电话联系您，非常抱歉。", "manager1")  # fmt: skip

    # The filter asks the API for one state; the choice survives a reload of the page.
    desk.locator("#state-filter").select_option("open")
    expect(row).to_have_count(0)
    desk.locator("#state-filter").select_option("answered")
    expect(row).to_have_attribute("data-state", "answered")
    desk.goto(f"{hall_server.url}/complaints?state=answered&lang=en")
    expect(desk.locator("h1")).to_contain_text("Complaints")
    expect(desk.locator("#state-filter")).to_have_value("answered")
    expect(row.locator(".state")).to_have_text("Answered")
    expect(row.locator('[data-field="where"]')).to_have_text("Counter 2 · admin")
    assert problems == [], "no script errors and no Content-Security-Policy violations"


def test_customer_text_full_of_markup_shows_literally(
    hall: Api, hall_server: ServerProcess, open_desk: Callable[..., Page], manager: dict[str, str]
) -> None:
    """A complaint (and an answer) with <script>, <img onerror> and <b> shows as typed and runs nothing."""
    complaint_id = file_complaint(hall, hall.issue("A"), HOSTILE)
    problems: list[str] = []
    desk = open_desk(hall_server.url, "en-US", problems)
    dialogs = watch_dialogs(desk)
    row = desk.locator(f'#complaints tr[data-complaint="{complaint_id}"]')
    expect(row.locator('[data-field="text"]')).to_have_text(HOSTILE)
    expect(row.locator('[data-field="phone"]')).to_have_text("none given")
    expect(row.locator(".state")).to_have_text("Open")

    row.locator("textarea").fill(HOSTILE)
    row.locator("button[type=submit]").click()
    expect(row.locator(".answer-text")).to_have_text(HOSTILE)
    answered = listed(hall, manager, complaint_id)
    assert answered is not None and (answered["state"], answered["answer"]) == ("answered", HOSTILE)

    desk.reload()
    expect(row.locator('[data-field="text"]')).to_have_text(HOSTILE)
    expect(desk.locator("#complaints img")).to_have_count(0)
    expect(desk.locator("#complaints b")).to_have_count(0)
    expect(desk.locator("#complaints script")).to_have_count(0)
    assert dialogs == []
    assert problems == []


def test_an_overdue_complaint_is_marked_and_a_refused_answer_says_why(
    hall: Api, hall_server: ServerProcess, open_desk: Callable[..., Page], manager: dict[str, str],
    hall_redis: redis.Redis,
) -> None:  # fmt: skip
    """Past the 24-hour target it is marked overdue; closed meanwhile by someone else, answering it
    shows a sentence naming its state, and the row leaves the list of complaints not closed."""
    complaint_id = file_complaint(hall, hall.issue("A"), "Nobody answered the phone.")
    day_ago_ms = int(time.time() * 1000) - 25 * 3_600_000
    hall_redis.hset(keys.complaint("main", complaint_id), "filed_ms", day_ago_ms)
    complaint = listed(hall, manager, complaint_id)
    assert complaint is not None and complaint["overdue"] is True

    desk = open_desk(hall_server.url, "zh-CN")
    row = desk.locator(f'#complaints tr[data-complaint="{complaint_id}"]')
    expect(row).to_have_attribute("data-overdue", "true")
    expect(row.locator(".overdue")).to_have_text("已超时")
    expect(row.locator(".overdue")).to_be_visible()

    ok(hall.http.patch(f"/api/branches/main/complaints/{complaint_id}", json={"state": "closed"}, headers=manager))
    row.locator("textarea").fill("抱歉。")
    row.locator("button[type=submit]").click()
    expect(desk.locator("#message")).to_have_text("该投诉已被他人处理，当前状态：已关闭。")
    expect(row).to_have_count(0)
    desk.locator("#state-filter").select_option("closed")
    expect(row).to_have_attribute("data-state", "closed")
    expect(row.locator(".overdue")).to_be_hidden()
    expect(row.locator("form")).to_be_hidden()
    closed = listed(hall, manager, complaint_id)
    assert closed is not None and (closed["state"], closed["answer"]) == ("closed", None)


def test_only_managers_and_admins_open_the_complaints_page(
    hall: Api, hall_server: ServerProcess, phone_browser: Browser, manager: dict[str, str]
) -> None:
    """Nobody logged in goes to the login page, staff to their counter, another branch's URL is 404."""
    anonymous = httpx.get(f"{hall_server.url}/complaints", follow_redirects=False)
    assert (anonymous.status_code, anonymous.headers["location"]) == (303, "/login?next=/complaints")
    context = phone_browser.new_context(locale="en-US")
    try:
        page = context.new_page()
        page.goto(f"{hall_server.url}/complaints/main")
        expect(page).to_have_url(f"{hall_server.url}/login?next=/complaints/main")
    finally:
        context.close()

    hall.user("clerk", "staff", ["1"])
    for username, status, where in (("clerk", 303, "/counter"), ("manager1", 200, None), ("admin", 200, None)):
        with httpx.Client(base_url=hall_server.url) as session:
            login = session.post("/login", data={"username": username, "password": password_of(username)})
            assert login.status_code == 303, login.text
            for path in ("/complaints", "/complaints/main"):
                page_response = session.get(path, follow_redirects=False)
                assert (page_response.status_code, page_response.headers.get("location")) == (status, where), path
            if status == 200:
                assert "script-src 'self'" in page_response.headers["content-security-policy"]
                assert session.get("/complaints/elsewhere").status_code == 404
