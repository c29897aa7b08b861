"""What the kiosk does when things fail: no paper, printer off, slow printer, server down or restarted."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import redis
from playwright.sync_api import Page, expect

from kiosk.qr_image import qr_data_url
from printer.emulator import PrinterEmulator
from printer.escpos_stream import qr_payloads
from tests.conftest import Api
from tests.kiosk.conftest import device, issue_through_kiosk, open_kiosk, tap, ticket_id, wait_until
from tests.kiosk.processes import RunningKiosk
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]


def test_printer_unavailable_still_issues_and_shows_the_qr_code(
    kiosk: RunningKiosk,
    emulator: PrinterEmulator,
    page: Page,
    server: ServerProcess,
    api: Api,
    redis_client: redis.Redis,
) -> None:
    """Out of paper, then switched off: each ticket is issued, shown large with its QR code, and reported."""
    open_kiosk(page, kiosk.url)
    for mode, number, broken in (("paper_out", "A001", "paper_out"), ("offline", "A002", "online")):
        emulator.set_mode(mode)
        assert tap(page, "A") == number
        expect(page.locator("#print-status")).to_have_attribute("data-state", "failed")
        expect(page.locator("#print-zh")).to_contain_text("请拍照保存号码和二维码")
        ticket = ticket_id(redis_client, number)
        assert api.http.get(f"/api/branches/main/tickets/{ticket}").json()["status"] == "waiting"
        qr = page.locator("#ticket-qr")
        expect(qr).to_be_visible()
        assert qr.get_attribute("src") == qr_data_url(f"{server.url}/t/{ticket}")
        record = wait_until(lambda: (d := device(api, "kiosk1")) and d["status"] == "printer_unavailable" and d)
        assert record["printer"]["available"] is False
        assert record["printer"][broken] is (broken != "online")
        page.click("#done")
        expect(page.locator("#printer-notice")).to_be_visible()
    assert emulator.tickets == []


def test_a_slow_printer_does_not_hold_up_the_kiosk(
    start_kiosk: Callable[..., RunningKiosk],
    server: ServerProcess,
    kiosk_token: str,
    emulator: PrinterEmulator,
    page: Page,
    api: Api,
) -> None:
    """While a raster ticket crawls to a slow printer the number shows and the kiosk keeps serving."""
    kiosk = start_kiosk(server, kiosk_token, emulator.url, "--text-mode", "raster", "--paper", "58")
    open_kiosk(page, kiosk.url)
    emulator.set_mode("slow", bytes_per_second=10_000)
    page.click("button.service[data-service=A]")
    expect(page.locator("#ticket-number")).to_have_text("A001")
    expect(page.locator("#print-status")).to_have_attribute("data-state", "printing")
    # The kiosk's event loop is free: its page answers and a queue change reaches the screen.
    assert httpx.get(kiosk.url + "/", timeout=2).status_code == 200
    api.issue("B")
    expect(page.locator("button.service[data-service=B] .service-meta .zh")).to_contain_text("等候 1 人")
    # ... all while the ticket was still printing.
    assert page.get_attribute("#print-status", "data-state") == "printing"
    assert emulator.tickets == []
    page.wait_for_selector("#print-status[data-state=printed]", timeout=20_000)
    [job] = emulator.wait_for_tickets(1)
    assert qr_payloads(job)[0].startswith(f"{server.url}/t/")


def test_server_down_means_out_of_service_and_no_ticket(
    kiosk_process: RunningKiosk, emulator: PrinterEmulator, page: Page, server: ServerProcess
) -> None:
    """With the server gone the page says 停止服务 and a tap that still gets through is refused unprinted."""
    open_kiosk(page, kiosk_process.url)
    server.kill()
    expect(page.locator("#offline")).to_be_visible(timeout=15_000)
    expect(page.locator("#offline")).to_contain_text("停止服务")
    expect(page.locator("#offline")).to_contain_text("Out of service")
    answer = issue_through_kiosk(kiosk_process, "while-the-server-is-down")
    assert answer["type"] == "refused"
    assert answer["error"]["code"] == "out_of_service"
    assert emulator.tickets == []


def test_the_kiosk_reconnects_to_a_restarted_server(
    kiosk: RunningKiosk, emulator: PrinterEmulator, page: Page, server: ServerProcess
) -> None:
    """After the server is killed and started again on its port, the kiosk is back by itself."""
    open_kiosk(page, kiosk.url)
    assert tap(page, "A") == "A001"
    page.click("#done")
    server.kill()
    expect(page.locator("#offline")).to_be_visible(timeout=15_000)
    restarted = server.successor().start()
    try:
        page.wait_for_selector("body[data-online=true]", timeout=20_000)
        expect(page.locator("#offline")).to_be_hidden()
        assert tap(page, "A") == "A002"
        expect(page.locator("#print-status")).to_have_attribute("data-state", "printed")
        assert len(emulator.wait_for_tickets(2)) == 2
    finally:
        restarted.stop()
