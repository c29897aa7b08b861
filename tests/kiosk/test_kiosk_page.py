"""A tap on the kiosk page in chromium, through a real ``nextup kiosk`` and server, to the printer emulator."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from printer.emulator import PrinterEmulator
from printer.escpos_stream import iter_text, qr_payloads
from tests.conftest import Api
from tests.kiosk.conftest import branch_file, issue_through_kiosk, open_kiosk, tap, wait_until
from tests.kiosk.processes import RunningKiosk
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]


def test_a_tap_prints_the_ticket_the_server_issued(
    kiosk_process: RunningKiosk, emulator: PrinterEmulator, page: Page, server: ServerProcess, api: Api
) -> None:
    """Through ``nextup kiosk``: the printer receives the issued ticket's number; its QR code links to its page."""
    open_kiosk(page, kiosk_process.url)
    number = tap(page, "A")
    expect(page.locator("#print-status")).to_have_attribute("data-state", "printed")
    [job] = emulator.wait_for_tickets(1)
    [qr] = qr_payloads(job)
    assert qr.startswith(f"{server.url}/t/")
    ticket = api.http.get(f"/api/branches/main/tickets/{qr.rsplit('/', 1)[1]}").json()
    assert ticket["number"] == number == "A001"
    assert ticket["status"] == "waiting"
    assert any("A001" in text for text in iter_text(job))
    assert len(job) <= 2048
    # The next customer: "Done" arms a fresh request id, so the next tap is a new ticket.
    first_request = page.evaluate("window.nextupKiosk.requestId")
    page.click("#done")
    assert page.evaluate("window.nextupKiosk.requestId") != first_request
    assert tap(page, "A") == "A002"
    assert qr_payloads(emulator.wait_for_tickets(2)[1]) != [qr]


def test_a_double_tap_issues_one_ticket(kiosk: RunningKiosk, emulator: PrinterEmulator, page: Page, api: Api) -> None:
    """Two taps in quick succession (or a tap on a second button) give one ticket and one print."""
    open_kiosk(page, kiosk.url)
    page.dblclick("button.service[data-service=C]")
    page.evaluate("document.querySelector('button.service[data-service=B]').click()")
    page.wait_for_selector("#print-status[data-state=printed]", timeout=20_000)
    assert page.text_content("#ticket-number") == "C001"
    assert len(emulator.wait_for_tickets(1)) == 1
    # Behind the disabled buttons, the request id: the same request sent to the kiosk again (a page
    # resending after a hiccup) replays its outcome instead of issuing or printing anything.
    request_id = page.evaluate("window.nextupKiosk.requestId")
    assert issue_through_kiosk(kiosk, request_id, "C")["type"] == "printed"
    assert {s["id"]: s["waiting"] for s in api.state()["services"]} == {"A": 0, "B": 0, "C": 1}
    assert len(emulator.tickets) == 1


def test_english_priority_ticket_then_back_to_the_start_when_idle(
    start_kiosk: Callable[..., RunningKiosk],
    server: ServerProcess,
    kiosk_token: str,
    emulator: PrinterEmulator,
    page: Page,
    api: Api,
) -> None:
    """In English, a priority ticket is issued as one; the idle page returns to the start in Chinese."""
    kiosk = start_kiosk(server, kiosk_token, emulator.url, "--idle-seconds", "2")
    open_kiosk(page, kiosk.url)
    page.click("#lang")
    expect(page.locator("button.service[data-service=B] .service-name .en")).to_have_text("Business services")
    expect(page.locator("button.service[data-service=B] .service-name .zh")).to_be_hidden()
    page.click("#priority")
    number = tap(page, "B")
    expect(page.locator("#ticket-priority")).to_be_visible()
    [job] = emulator.wait_for_tickets(1)
    ticket = api.http.get(f"/api/branches/main/tickets/{qr_payloads(job)[0].rsplit('/', 1)[1]}").json()
    assert ticket["number"] == number and ticket["priority"] is True
    page.wait_for_selector("body[data-screen=start]", timeout=15_000)
    expect(page.locator("body")).to_have_class("lang-zh")
    expect(page.locator("#priority")).to_have_attribute("aria-pressed", "false")


def test_the_branch_refusal_is_shown_on_the_button(
    start_server: Callable[..., ServerProcess],
    start_kiosk: Callable[..., RunningKiosk],
    emulator: PrinterEmulator,
    page: Page,
    tmp_path: Path,
) -> None:
    """When the daily cap is reached the service says so, in Chinese and English, and cannot be tapped."""
    server = start_server(branch_file(tmp_path, "capped", cap=1))
    api = Api(server.url)
    kiosk = start_kiosk(server, api.user("kiosk1", "kiosk"), emulator.url)
    api.close()
    open_kiosk(page, kiosk.url)
    assert tap(page, "A") == "A001"
    page.click("#done")
    button = page.locator("button.service[data-service=A]")
    expect(button).to_have_attribute("data-issuing", "false")
    expect(button).to_be_disabled()
    expect(button.locator(".service-refusal .zh")).to_contain_text("今日号票已取完")
    page.click("#lang")
    expect(button.locator(".service-refusal .en")).to_contain_text("have been issued today")


def test_the_demo_server_offers_a_kiosk_printing_previews(server: ServerProcess, page: Page) -> None:
    """``nextup serve`` on the demo branch serves /kiosk/main/ and "prints" PNG tickets into its data dir."""
    open_kiosk(page, f"{server.url}/kiosk/main")
    assert tap(page, "A") == "A001"
    expect(page.locator("#print-status")).to_have_attribute("data-state", "printed")
    previews = wait_until(lambda: list((server.data_dir / "tickets").glob("*-A001.png")))
    assert previews[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
