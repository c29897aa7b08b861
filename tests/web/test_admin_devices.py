"""The devices of /admin: one row per device, its problem in words, its heartbeat in branch time,
and an overview count that agrees with the rows."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, Page, expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import Api
from tests.servers import ServerProcess
from tests.web.conftest import log_in

pytestmark = [pytest.mark.redis, pytest.mark.browser]

BRANCH_ZONE = ZoneInfo("Asia/Shanghai")
#: Neither the branch's zone nor UTC: a heartbeat shown in either of those would not match.
BROWSER_ZONE = "America/New_York"
LOCALE = {"zh": "zh-CN", "en": "en-US"}
PAPER_OUT = {"online": True, "paper_out": True, "paper_near_end": True, "cover_open": False,
             "error": "printer tcp://10.0.0.9:9100 is out of paper"}  # fmt: skip


class HeldSocket:
    """A device's websocket held open by a thread that answers the server's pings (and, for a kiosk,
    speaks every few seconds, as a kiosk must), until ``close``."""

    def __init__(self, url: str, speaks: bool) -> None:
        self.stack = contextlib.ExitStack()
        self.ws: ClientConnection = self.stack.enter_context(connect(url, open_timeout=10))
        self.speaks = speaks
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            while True:
                try:
                    message = json.loads(self.ws.recv(timeout=3))
                except TimeoutError:
                    if self.speaks:
                        self.ws.send('{"type": "ping"}')
                    continue
                if message.get("type") == "ping":
                    self.ws.send('{"type": "pong"}')
        except ConnectionClosed:
            return

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def close(self) -> None:
        self.stack.close()
        self.thread.join(timeout=10)


def devices(api: Api) -> dict[str, dict[str, Any]]:
    response = api.http.get("/api/branches/main/devices", headers=api.auth(api.admin()))
    assert response.status_code == 200, response.text
    return {d["device"]: d for d in response.json()["devices"]}


def wait_for(check: Callable[[], bool], page: Page) -> None:
    """Until ``check()`` holds (the server's side of things), within the page's expect timeout."""
    for _ in range(200):
        if check():
            return
        page.wait_for_timeout(50)
    raise AssertionError("the devices never reached the expected state")


@pytest.fixture
def hall_devices(server: ServerProcess, api: Api) -> Iterator[dict[str, Any]]:
    """A lobby display online, one that was on and went away, a kiosk online but out of paper, and a
    kiosk account that never connected (beside the demo branch's own demo kiosk account)."""
    base = f"ws://127.0.0.1:{server.port}/ws/branches/main"
    live_tv = HeldSocket(f"{base}/display?token={api.user('tv-live', 'display')}", speaks=False)
    gone_tv = HeldSocket(f"{base}/display?token={api.user('tv-gone', 'display')}", speaks=False)
    kiosk = HeldSocket(f"{base}/kiosk?token={api.user('kiosk-paper', 'kiosk')}", speaks=True)
    api.user("kiosk-new", "kiosk")
    kiosk.send({"type": "health", "printer": PAPER_OUT})
    try:
        yield {"live_tv": live_tv, "gone_tv": gone_tv, "kiosk": kiosk}
    finally:
        for held in (live_tv, gone_tv, kiosk):
            held.close()


#: The problem each device's row states, by language.
PROBLEMS = {
    "zh": {"tv-live": "正常", "kiosk-paper": "打印机缺纸", "kiosk-new": "从未连接过：请在设备上打开页面并配对"},
    "en": {"tv-live": "Working", "kiosk-paper": "Printer out of paper",
           "kiosk-new": "Has never connected: open its page on the device and pair it"},
}  # fmt: skip
SILENT = {"zh": "没有心跳：请检查设备的电源和网络", "en": "No heartbeat for "}
KIND = {
    "zh": {"tv-live": "显示屏", "kiosk-new": "取号机"},
    "en": {"tv-live": "Lobby display", "kiosk-new": "Ticket kiosk"},
}
SUMMARY = {"zh": "{online} / {total} 台在线", "en": "{online} of {total} online"}


@pytest.mark.parametrize(("lang", "size"), [("zh", (1366, 768)), ("en", (1920, 1080))])
def test_each_device_states_its_problem_and_the_count_agrees_with_the_rows(
    api: Api,
    hall_devices: dict[str, Any],
    new_context: Callable[..., BrowserContext],
    lang: str,
    size: tuple[int, int],
) -> None:
    """Online = rows shown online, total = rows; heartbeats in branch time; kinds and problems in words."""
    gone_tv: HeldSocket = hall_devices["gone_tv"]
    context = new_context(viewport={"width": size[0], "height": size[1]}, timezone_id=BROWSER_ZONE, locale=LOCALE[lang])
    page = context.new_page()
    wait_for(lambda: {"tv-live", "tv-gone", "kiosk-paper"} <= set(devices(api)), page)
    gone_tv.close()
    wait_for(lambda: devices(api)["tv-gone"]["online"] is False, page)
    wait_for(lambda: devices(api)["kiosk-paper"]["status"] == "printer_unavailable", page)
    log_in(page, api.url, "admin", path="/admin", lang=lang)
    page.click('.tabs a[data-tab="devices"]')
    table = page.locator("#devices-table tbody")
    expect(table.locator('tr[data-device="kiosk-new"]')).to_have_count(1)  # the accounts have come
    expect(table.locator('tr[data-device="tv-gone"][data-online="false"]')).to_have_count(1)

    rows = table.locator("tr")
    online = table.locator('tr[data-online="true"]')
    names = rows.evaluate_all("rows => rows.map(r => r.dataset.device)")
    assert names == ["demo-kiosk", "kiosk-new", "kiosk-paper", "tv-gone", "tv-live"]
    expect(online).to_have_count(2)
    assert online.evaluate_all("rows => rows.map(r => r.dataset.device)") == ["kiosk-paper", "tv-live"]
    page.click('.tabs a[data-tab="overview"]')
    expect(page.locator("#overview-devices")).to_have_text(SUMMARY[lang].format(online=2, total=len(names)))

    page.click('.tabs a[data-tab="devices"]')
    cells = {name: table.locator(f'tr[data-device="{name}"] td') for name in names}
    for name, problem in PROBLEMS[lang].items():
        expect(cells[name].nth(4)).to_have_text(problem)
    expect(cells["tv-gone"].nth(4)).to_contain_text(SILENT[lang])
    for name, kind in KIND[lang].items():
        expect(cells[name].nth(1)).to_have_text(kind)
    # The heartbeat of the display that left stays put: its time as the branch's clock showed it.
    beat = datetime.fromisoformat(devices(api)["tv-gone"]["last_heartbeat"]).astimezone(BRANCH_ZONE)
    expect(cells["tv-gone"].nth(3)).to_contain_text(beat.strftime("%H:%M:%S"))
    assert "T" not in (cells["tv-gone"].nth(3).text_content() or "")
    assert "tcp://" not in table.inner_text()  # the printer driver's words stay out of the page
