"""The customer's phone page in a phone-sized chromium: live ticket, leaving, rating, complaining, recovering."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import cast

import pytest
import redis
from playwright.sync_api import Page, expect

from server import keys
from tests.conftest import Api
from tests.phone.conftest import EXPECT_MS, TcpProxy, call_next, ok, page_url, phone_state, serve, wait_live
from tests.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_the_page_follows_a_ticket_from_waiting_through_called_to_served(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page]
) -> None:
    """Waiting with people ahead, then called to counter 2 with vibration and a beep, then served: all live."""
    hall.issue("A")
    mine = hall.issue("A")
    problems: list[str] = []
    page = open_phone(page_url(hall_server.url, mine), "zh-CN", problems)
    wait_live(page)
    expect(page.locator("#number")).to_have_text(mine["number"])
    expect(page.locator("#service")).to_contain_text("个人业务")
    expect(page.locator("#status")).to_have_text("等候中")
    expect(page.locator("#ahead")).to_have_text("前面还有 1 人")

    serve(hall, "2")
    expect(page.locator("#ahead")).to_have_text("下一位就是您", timeout=EXPECT_MS)

    call_next(hall, "2")
    expect(page.locator("#go")).to_have_text("请到2号窗口办理", timeout=EXPECT_MS)
    expect(page.locator("#leave-button")).to_be_hidden()
    state = phone_state(page)
    assert [(a["counter"], a["calls"]) for a in state["alerts"]] == [("2", 1)]
    assert state["vibrations"] == 1 and state["beeps"] == 1

    ok(hall.counter("2", "recall"))
    expect(page.locator("#calls")).to_have_text("第 2 次呼叫", timeout=EXPECT_MS)
    assert len(phone_state(page)["alerts"]) == 2

    ok(hall.counter("2", "finish"))
    expect(page.locator("#status")).to_have_text("已办结", timeout=EXPECT_MS)
    expect(page.locator("#called")).to_be_hidden()
    expect(page.locator("#rating")).to_be_visible()
    expect(page.locator("#expires")).to_contain_text("本页面将于")
    assert problems == [], "no script errors and no Content-Security-Policy violations"


def test_the_page_speaks_english_from_the_phone_language_and_switches(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page]
) -> None:
    """An English phone gets English with both service names; the toggle switches to Chinese in place."""
    mine = hall.issue("B")
    page = open_phone(page_url(hall_server.url, mine), "en-US")
    wait_live(page)
    expect(page.locator("#status")).to_have_text("Waiting")
    expect(page.locator("#ahead")).to_have_text("You are next")
    expect(page.locator("#service")).to_have_text("对公业务 · Business services")
    call_next(hall, "3")
    expect(page.locator("#go")).to_have_text("Please go to Counter 3", timeout=EXPECT_MS)
    page.locator("#lang-toggle").click()
    expect(page.locator("#go")).to_have_text("请到3号窗口办理")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert phone_state(page)["connected"], "switching language keeps the live connection"


def test_leaving_asks_for_confirmation_then_cancels(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page]
) -> None:
    """'I'm leaving' opens a dialog; keeping waiting changes nothing; confirming cancels the ticket."""
    mine = hall.issue("A")
    page = open_phone(page_url(hall_server.url, mine))
    wait_live(page)
    page.locator("#leave-button").click()
    expect(page.locator("#leave-dialog")).to_be_visible()
    expect(page.locator("#leave-text")).to_contain_text(mine["number"])
    page.locator("#leave-no").click()
    expect(page.locator("#leave-dialog")).to_be_hidden()
    assert ok(hall.http.get(f"/api/branches/main/tickets/{mine['id']}"))["status"] == "waiting"

    page.locator("#leave-button").click()
    page.locator("#leave-yes").click()
    expect(page.locator("#status")).to_have_text("已取消", timeout=EXPECT_MS)
    expect(page.locator("#finished-text")).to_have_text("您已放弃排队。")
    assert ok(hall.http.get(f"/api/branches/main/tickets/{mine['id']}"))["status"] == "cancelled"


def test_a_served_ticket_is_rated_once(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page], hall_redis: redis.Redis
) -> None:
    """The page takes one rating with a comment; a second rating is refused 409 already_rated."""
    mine = hall.issue("A")
    page = open_phone(page_url(hall_server.url, mine))
    wait_live(page)
    serve(hall, "1")
    expect(page.locator("#rating")).to_be_visible(timeout=EXPECT_MS)
    page.locator(".star[data-value='4']").click()
    page.locator("#rating-comment").fill("快，态度好")
    page.locator("#rating-submit").click()
    expect(page.locator("#rated")).to_have_text("感谢您的评价：4/5", timeout=EXPECT_MS)
    expect(page.locator("#rating")).to_be_hidden()

    again = hall.http.post(f"/api/branches/main/tickets/{mine['id']}/rating", json={"rating": 1})
    assert again.status_code == 409
    assert again.json()["error"] | {"message": ""} == {"code": "already_rated", "message": "", "state": "rated",
                                                       "rating": 4}  # fmt: skip
    entries = cast(list[tuple[str, dict[str, str]]], hall_redis.xrange(keys.events("main")))
    events = [json.loads(f["data"]) for _, f in entries if f["type"] == "ticket_rated"]
    rated = [e for e in events if e["ticket"]["number"] == mine["number"]]
    assert [(e["counter"], e["staff"], e["service"], e["rating"]) for e in rated] == [("1", "admin", "A", 4)]
    assert hall_redis.hget(keys.rating("main", mine["id"]), "comment") == "快，态度好"


def test_a_complaint_reaches_the_managers_with_its_state(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page], manager: dict[str, str],
    hall_redis: redis.Redis,
) -> None:  # fmt: skip
    """A complaint sent from the page is listed open for managers, its phone stored encrypted; answering moves it."""
    mine = hall.issue("A")
    serve(hall, "2")
    page = open_phone(page_url(hall_server.url, mine), "en-US")
    wait_live(page)
    page.locator("#complaint-open").click()
    page.locator("#complaint-text").fill("Waited long and the counter closed on me.")
    page.locator("#complaint-phone").fill("+86 138 0013 8000")
    page.locator("#complaint-submit").click()
    expect(page.locator("#notice")).to_have_text("Complaint received; we answer within 24 hours.", timeout=EXPECT_MS)

    listed = ok(hall.http.get("/api/branches/main/complaints", headers=manager))["complaints"]
    listed = [c for c in listed if c["number"] == mine["number"]]
    assert [(c["state"], c["phone"], c["overdue"], c["counter"]) for c in listed] == [
        ("open", "+86 138 0013 8000", False, "2")
    ]
    stored = hall_redis.hgetall(keys.complaint("main", listed[0]["id"]))
    assert stored["phone"] and "138" not in stored["phone"], "the phone number is stored encrypted"

    answered = ok(hall.http.patch(f"/api/branches/main/complaints/{listed[0]['id']}",
                                 json={"answer": "We called you back."}, headers=manager))  # fmt: skip
    assert (answered["state"], answered["answered_by"]) == ("answered", "manager1")
    listed = ok(hall.http.get("/api/branches/main/complaints?state=answered", headers=manager))["complaints"]
    assert [c["answer"] for c in listed if c["number"] == mine["number"]] == ["We called you back."]


def test_the_page_recovers_after_the_connection_drops(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page], proxy_factory: Callable[..., TcpProxy]
) -> None:
    """With the network gone the page says so; a call made meanwhile shows once it reconnects."""
    mine = hall.issue("A")
    proxy = proxy_factory(hall_server.port)
    page = open_phone(page_url(proxy.url, mine))
    wait_live(page)
    proxy.cut()
    expect(page.locator("body")).to_have_attribute("data-connection", "offline", timeout=EXPECT_MS)
    call_next(hall, "2")
    proxy.restore()
    expect(page.locator("#go")).to_have_text("请到2号窗口办理", timeout=EXPECT_MS)
    wait_live(page)
    assert phone_state(page)["connects"] == 2


def test_a_proxy_blocking_websockets_falls_back_to_long_polling(
    hall: Api, hall_server: ServerProcess, open_phone: Callable[..., Page], proxy_factory: Callable[..., TcpProxy]
) -> None:
    """Where websocket upgrades are refused the page long-polls, and still follows the ticket live."""
    hall.issue("A")
    mine = hall.issue("A")
    proxy = proxy_factory(hall_server.port, block_websockets=True)
    page = open_phone(page_url(proxy.url, mine))
    wait_live(page, "poll")
    assert proxy.upgrades_refused >= 2
    expect(page.locator("#connection")).to_have_text("实时更新（兼容模式）")
    serve(hall, "2")
    expect(page.locator("#ahead")).to_have_text("下一位就是您", timeout=EXPECT_MS)
    call_next(hall, "2")
    expect(page.locator("#go")).to_have_text("请到2号窗口办理", timeout=EXPECT_MS)


def test_an_unknown_ticket_page_says_so_in_a_sentence(hall: Api, hall_server: ServerProcess,
                                                       open_phone: Callable[..., Page]) -> None:  # fmt: skip
    """A made-up id gets a 404 page with a plain sentence in the phone's language."""
    page = open_phone(f"{hall_server.url}/t/not-a-real-ticket-id-000000", "en-US")
    expect(page.locator("#sentence")).to_have_text("This ticket was not found.")


