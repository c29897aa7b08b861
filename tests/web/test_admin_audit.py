"""The audit log: each entry says in words, in branch time, who did what and what it concerns."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, expect

from server.events import EventType
from server.feedback import ComplaintState
from server.web.i18n import CATALOGUE
from tests.conftest import Api
from tests.web.conftest import log_in

pytestmark = pytest.mark.redis

#: The demo branch's zone; the browsers run in another one, so a time shown in the computer's zone
#: (or in UTC) would not match.
BRANCH_ZONE = ZoneInfo("Asia/Shanghai")
BROWSER_ZONE = "America/New_York"
NEW_PASSWORD = "alice-new-password-1"
REASON = "午休 <b>lunch</b>"


def busy_morning(api: Api) -> dict[str, Any]:
    """One of each kind of audited change; returns the ticket ids (which the page must never show)."""
    api.user("alice", "staff", ["1"])
    tickets = [api.issue(service) for service in "AAB"]
    for counter, ending in (("1", "finish"), ("2", "no-show")):
        assert api.counter(counter, "call-next").status_code == 200
        assert api.counter(counter, ending).status_code == 200
    assert api.counter("3", "call-next").status_code == 200  # B001
    assert api.counter("3", "transfer", {"service": "A"}).status_code == 200
    assert api.counter("4", "pause", {"reason": REASON}).status_code == 200
    admin = api.auth(api.admin())
    notice = {"text_zh": "今天停电", "text_en": "Power cut today", "emergency": True}
    assert api.http.post("/api/branches/main/notice", json=notice, headers=admin).status_code == 200
    assert api.http.post("/api/branches/main/notice", json={}, headers=admin).status_code == 200
    service = api.http.put("/api/branches/main/config/services/A", json={"name_en": "Personal banking"}, headers=admin)
    assert service.status_code == 200, service.text
    new_counter = {"name_zh": "5号窗口", "name_en": "Counter 5", "services": ["A"], "initial_status": "closed"}
    assert api.http.put("/api/branches/main/config/counters/5", json=new_counter, headers=admin).status_code == 200
    assert api.http.delete("/api/branches/main/config/counters/5", headers=admin).status_code == 200
    changed = api.http.patch(
        "/api/users/alice", json={"password": NEW_PASSWORD, "counters": ["1", "2"]}, headers=admin
    )  # fmt: skip
    assert changed.status_code == 200, changed.text
    return {"ticket_ids": [t["id"] for t in tickets]}


def test_every_action_the_log_can_hold_has_words_in_both_languages() -> None:
    """Each event, complaint change and account change has its admin.audit.action text: none shows as a code."""
    actions = {e.value for e in EventType}
    actions |= {f"complaint_{state.value}" for state in ComplaintState}
    actions |= {"user_created", "user_changed", "device_paired"}
    missing = sorted(a for a in actions if f"admin.audit.action.{a}" not in CATALOGUE)
    assert missing == []


def audit(api: Api) -> list[dict[str, Any]]:
    response = api.http.get("/api/branches/main/audit", headers=api.auth(api.admin()))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def only(entries: list[dict[str, Any]], action: str, **details: Any) -> dict[str, Any]:
    found = [e for e in entries if e["action"] == action and all(e["details"].get(k) == v for k, v in details.items())]
    assert len(found) == 1, (action, details, found)
    return found[0]


def test_entries_carry_what_the_page_needs_to_say_what_they_concern(api: Api) -> None:
    """Notices keep their texts, configuration changes what changed, transfers both services; no secret."""
    busy_morning(api)
    entries = audit(api)
    assert all(set(e) == {"id", "actor", "role", "source", "action", "at", "details"} for e in entries)
    posted = [e["details"] for e in entries if e["action"] == "notice_posted"]
    assert posted == [
        {"text_zh": "", "text_en": "", "emergency": False},  # newest first: the clearing
        {"text_zh": "今天停电", "text_en": "Power cut today", "emergency": True},
    ]
    assert only(entries, "config_changed", part="service")["details"] == {
        "part": "service", "id": "A", "name_zh": "个人业务", "name_en": "Personal banking", "change": "changed",
        "fields": ["name_en"]}  # fmt: skip
    counter_5 = {"part": "counter", "id": "5", "name_zh": "5号窗口", "name_en": "Counter 5"}
    assert only(entries, "config_changed", change="added")["details"] == {**counter_5, "change": "added"}
    assert only(entries, "config_changed", change="deleted")["details"] == {**counter_5, "change": "deleted"}
    transfer = only(entries, "ticket_transferred")["details"]
    assert (transfer["number"], transfer["from_service"], transfer["to_service"]) == ("B001", "B", "A")
    assert only(entries, "counter_paused")["details"]["reason"] == REASON
    change = only(entries, "user_changed", username="alice")["details"]
    assert change["password_reset"] is True and change["counters"] == ["1", "2"]
    written = json.dumps(entries)
    assert NEW_PASSWORD not in written and "pw-alice-123" not in written
    assert not re.search(r"argon2|scrypt|pbkdf2|\$2[aby]\$", written)


#: What the page writes for some entries: (action, a detail the API entry has, the words expected).
EXPECTED: dict[str, list[tuple[str, dict[str, Any], str, str]]] = {
    "zh": [
        ("ticket_served", {"number": "A001"}, "办结", "A001，1号窗口"),
        ("ticket_no_show", {"number": "A002"}, "过号", "A002，2号窗口"),
        ("ticket_transferred", {"number": "B001"}, "转移业务", "B001：对公业务 → 个人业务"),
        ("counter_paused", {}, "暂停柜台", f"4号窗口，原因：{REASON}"),
        ("notice_posted", {"emergency": True}, "发布通知", "紧急通知：“今天停电 / Power cut today”"),
        ("notice_posted", {"emergency": False}, "清除通知", ""),
        ("config_changed", {"part": "service"}, "修改配置", "修改业务 A 个人业务：英文名称"),
        ("config_changed", {"change": "added"}, "修改配置", "新增5号窗口"),
        ("config_changed", {"change": "deleted"}, "修改配置", "删除5号窗口"),
        ("user_created", {"username": "alice"}, "新建账户", "alice（员工）；柜台：1号窗口"),
        ("user_changed", {"username": "alice"}, "修改账户", "alice；重置密码；柜台改为：1号窗口、2号窗口{sessions}"),
    ],
    "en": [
        ("ticket_served", {"number": "A001"}, "Served", "A001 at Counter 1"),
        ("ticket_no_show", {"number": "A002"}, "No-show", "A002 at Counter 2"),
        ("ticket_transferred", {"number": "B001"}, "Transferred", "B001: Business services → Personal banking"),
        ("counter_paused", {}, "Counter paused", f"Counter 4, reason: {REASON}"),
        ("notice_posted", {"emergency": True}, "Notice posted", "Emergency notice: “今天停电 / Power cut today”"),
        ("notice_posted", {"emergency": False}, "Notice cleared", ""),
        ("config_changed", {"part": "service"}, "Configuration changed",
         "Changed service A Personal banking: English name"),
        ("config_changed", {"change": "added"}, "Configuration changed", "Added Counter 5"),
        ("config_changed", {"change": "deleted"}, "Configuration changed", "Deleted Counter 5"),
        ("user_created", {"username": "alice"}, "Account created", "alice (Staff member); counters: Counter 1"),
        ("user_changed", {"username": "alice"}, "Account changed",
         "alice; password reset; counters now: Counter 1, Counter 2{sessions}"),
    ],
}  # fmt: skip
SESSIONS_ENDED = {"zh": "；结束 {n} 个登录", "en": "; {n} sessions ended"}
ROLE_WORD = {"zh": "管理员", "en": "Administrator"}
#: The browser's language: the login page (which the page's ?lang= does not reach) follows it.
LOCALE = {"zh": "zh-CN", "en": "en-US"}


@pytest.mark.browser
@pytest.mark.parametrize(("lang", "size"), [("zh", (1366, 768)), ("en", (1920, 1080)), ("en", (1366, 768))])
def test_the_audit_log_reads_in_words_and_in_branch_time(
    api: Api, new_context: Callable[..., BrowserContext], lang: str, size: tuple[int, int]
) -> None:
    """No ISO time, action code, JSON or ticket id: each action and what it concerns in words, in branch time."""
    made = busy_morning(api)
    entries = audit(api)
    context = new_context(viewport={"width": size[0], "height": size[1]}, timezone_id=BROWSER_ZONE, locale=LOCALE[lang])
    page = context.new_page()
    log_in(page, api.url, "admin", path="/admin", lang=lang)
    page.click('.tabs a[data-tab="audit"]')
    rows = page.locator("#audit-table tbody tr[data-id]")
    expect(rows).to_have_count(len(entries))

    shown = rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    ids = rows.evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert ids == [e["id"] for e in entries]  # newest first, one row each
    by_id = dict(zip(ids, shown, strict=True))
    for entry in entries:
        when, who, action, details, source = by_id[entry["id"]]
        local = datetime.fromisoformat(entry["at"]).astimezone(BRANCH_ZONE)
        assert when == local.strftime("%H:%M:%S"), (entry, when)
        assert who == f"{entry['actor']} · {ROLE_WORD[lang]}" and source == "127.0.0.1"
        assert "_" not in action and action.strip()
    day = datetime.fromisoformat(entries[0]["at"]).astimezone(BRANCH_ZONE)
    heading = page.locator("#audit-table tr.audit-day").first
    expect(heading).to_contain_text(str(day.year))
    expect(heading).to_contain_text(f"{day.month}月{day.day}日" if lang == "zh" else f"{day.day} ")

    for action, about, words, details in EXPECTED[lang]:
        entry = only(entries, action, **about)
        sessions = entry["details"].get("sessions_ended") or 0
        expected = details.format(sessions=SESSIONS_ENDED[lang].format(n=sessions) if sessions else "")
        assert by_id[entry["id"]][2:4] == [words, expected], entry

    text = page.locator("#audit-table").inner_text()
    assert not re.search(r"\d{4}-\d\d-\d\dT|[{}\[\]\"]|ticket_|notice_posted|config_changed|user_", text)
    assert not any(ticket_id in text for ticket_id in made["ticket_ids"])
    assert page.locator("#audit-table b").count() == 0  # the pause reason is text, not markup
    if lang == "zh":
        latin = re.findall(r"[A-Za-z]{2,}", re.sub(r"Power cut today|lunch|admin|alice|Personal banking", "", text))
        assert latin == []
