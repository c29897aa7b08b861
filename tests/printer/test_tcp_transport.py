"""The tcp:// transport and Printer facade against the network printer emulator."""

from __future__ import annotations

import threading
import time

import pytest

from printer.emulator import EmulatorMode, PrinterEmulator
from printer.errors import (
    CoverOpen,
    PaperOut,
    PrinterOffline,
    PrinterTimeout,
    PrinterUnsupported,
)
from printer.escpos_stream import qr_payloads
from printer.fonts import FontSpec
from printer.layout import render_ticket
from printer.profile import PrinterProfile
from printer.status import PrinterStatus
from printer.ticket import TicketPrint
from printer.ticket_printer import Printer
from printer.transports import TcpTransport, open_transport
from tests.printer.conftest import PROFILES, QR_URL, fast_url, make_ticket, profile_id


@pytest.mark.parametrize("profile", PROFILES, ids=profile_id)
def test_ticket_arrives_intact_and_its_qr_holds_the_url(
    emulator: PrinterEmulator, ticket: TicketPrint, profile: PrinterProfile, cjk_font: FontSpec
) -> None:
    Printer(fast_url(emulator), profile).print_ticket(ticket)
    [received] = emulator.wait_for_tickets(1, timeout=5)
    assert received == render_ticket(ticket, profile)
    assert qr_payloads(emulator.received) == [QR_URL]
    # The status check ran on its own connection before the job.
    status_check, job = emulator.connections
    assert status_check.status_queries == [1, 2, 4]
    assert bytes(job.data) == received and job.status_queries == []


def test_status_of_a_ready_printer(emulator: PrinterEmulator) -> None:
    assert Printer(fast_url(emulator)).status() == PrinterStatus()


def test_paper_out_is_reported_and_nothing_is_sent(emulator: PrinterEmulator, ticket: TicketPrint) -> None:
    emulator.set_mode(EmulatorMode.PAPER_OUT)
    printer = Printer(fast_url(emulator))
    status = printer.status()
    assert status.paper_out and not status.online and not status.ready
    with pytest.raises(PaperOut, match="out of paper"):
        printer.print_ticket(ticket)
    assert emulator.tickets == []


def test_paper_near_end_still_prints(emulator: PrinterEmulator, ticket: TicketPrint) -> None:
    emulator.set_mode(EmulatorMode.PAPER_NEAR_END)
    printer = Printer(fast_url(emulator))
    assert printer.status() == PrinterStatus(paper_near_end=True)
    printer.print_ticket(ticket)
    assert len(emulator.wait_for_tickets(1)) == 1


def test_cover_open_is_reported(emulator: PrinterEmulator, ticket: TicketPrint) -> None:
    emulator.set_mode(EmulatorMode.COVER_OPEN)
    with pytest.raises(CoverOpen):
        Printer(fast_url(emulator)).print_ticket(ticket)


def test_refused_connection_fails_fast(emulator: PrinterEmulator, ticket: TicketPrint) -> None:
    emulator.set_mode(EmulatorMode.OFFLINE)
    started = time.monotonic()
    with pytest.raises(PrinterOffline, match="refused") as caught:
        Printer(fast_url(emulator)).print_ticket(ticket)
    assert not isinstance(caught.value, PrinterTimeout)
    assert time.monotonic() - started < 10


def test_switched_off_printer_times_out(emulator: PrinterEmulator, ticket: TicketPrint) -> None:
    emulator.set_mode(EmulatorMode.UNREACHABLE)
    started = time.monotonic()
    with pytest.raises(PrinterTimeout, match=r"within 0\.5 s"):
        Printer(fast_url(emulator)).print_ticket(ticket)
    assert 0.4 < time.monotonic() - started < 10


def test_printing_recovers_when_the_printer_comes_back(emulator: PrinterEmulator, ticket: TicketPrint) -> None:
    printer = Printer(fast_url(emulator))
    for mode in (EmulatorMode.OFFLINE, EmulatorMode.UNREACHABLE):
        emulator.set_mode(mode)
        with pytest.raises(PrinterOffline):
            printer.print_ticket(ticket)
        emulator.set_mode(EmulatorMode.NORMAL)
        printer.print_ticket(ticket)
    assert len(emulator.wait_for_tickets(2)) == 2


def test_slow_printer_still_gets_the_whole_ticket(
    emulator: PrinterEmulator, ticket: TicketPrint, cjk_font: FontSpec
) -> None:
    # A raster ticket (~27 kB) is far bigger than the emulator's input buffer,
    # so the sender has to wait for the printer to read.
    profile = PrinterProfile(paper_width_mm=58, text_mode="raster")
    expected = render_ticket(ticket, profile)
    emulator.set_mode(EmulatorMode.SLOW, bytes_per_second=40_000)
    started = time.monotonic()
    Printer(fast_url(emulator, write_timeout=5), profile).print_ticket(ticket)
    elapsed = time.monotonic() - started
    assert elapsed > 0.25, "print_ticket returned before the printer took the data"
    assert emulator.wait_for_tickets(1, timeout=5) == [expected]


def test_stalled_printer_gives_a_timeout_not_a_hang(
    emulator: PrinterEmulator, ticket: TicketPrint, cjk_font: FontSpec
) -> None:
    emulator.set_mode(EmulatorMode.STALLED)
    printer = Printer(fast_url(emulator, write_timeout=0.5), PrinterProfile(text_mode="raster"))
    started = time.monotonic()
    with pytest.raises(PrinterTimeout, match="paper jam or full buffer"):
        printer.print_ticket(ticket)
    assert time.monotonic() - started < 10


def test_unanswered_status_query_is_unsupported_not_fatal(emulator: PrinterEmulator) -> None:
    emulator.set_mode(EmulatorMode.STALLED)
    started = time.monotonic()
    with pytest.raises(PrinterUnsupported, match="did not answer"):
        open_transport(fast_url(emulator)).status()
    assert time.monotonic() - started < 10


def test_status_check_can_be_turned_off(emulator: PrinterEmulator, ticket: TicketPrint) -> None:
    emulator.set_mode(EmulatorMode.PAPER_OUT)
    Printer(fast_url(emulator), check_status=False).print_ticket(ticket)
    assert len(emulator.wait_for_tickets(1)) == 1
    assert len(emulator.connections) == 1


def test_concurrent_callers_never_interleave_tickets(emulator: PrinterEmulator) -> None:
    printer = Printer(fast_url(emulator))
    tickets = [make_ticket(number=f"A{n:03d}", qr_url=f"{QR_URL}?n={n}") for n in range(6)]
    errors: list[BaseException] = []

    def work(t: TicketPrint) -> None:
        try:
            printer.print_ticket(t)
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    received = emulator.wait_for_tickets(len(tickets))
    expected = {render_ticket(t, printer.profile) for t in tickets}
    assert set(received) == expected


def test_tcp_url_defaults_and_options() -> None:
    transport = open_transport("tcp://printer.local")
    assert isinstance(transport, TcpTransport)
    assert (transport.host, transport.port, transport.connect_timeout) == ("printer.local", 9100, 3.0)
    custom = open_transport("tcp://127.0.0.1:9101?connect_timeout=0.2&write_timeout=4&status_timeout=0.1")
    assert isinstance(custom, TcpTransport)
    assert (custom.port, custom.connect_timeout, custom.write_timeout, custom.status_timeout) == (9101, 0.2, 4.0, 0.1)
