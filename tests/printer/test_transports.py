"""URL parsing and the non-TCP transports: file, cups, preview, usb (mocked device), serial (pty)."""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import usb.core
from PIL import Image

from printer.errors import (
    PrinterConfigError,
    PrinterOffline,
    PrinterTimeout,
    PrinterUnsupported,
)
from printer.fonts import FontSpec
from printer.layout import render_ticket
from printer.profile import PrinterProfile
from printer.status import PrinterStatus, encode_status
from printer.ticket import TicketPrint
from printer.ticket_printer import Printer
from printer.transports import (
    CupsTransport,
    FileTransport,
    PreviewTransport,
    SerialTransport,
    UsbTransport,
    open_transport,
)

# -- URLs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url,kind,attrs",
    [
        ("usb://04b8:0202", UsbTransport, {"vendor_id": 0x04B8, "product_id": 0x0202}),
        ("usb://0x0416:0x5011?timeout=2", UsbTransport, {"vendor_id": 0x0416, "timeout": 2.0}),
        ("serial:///dev/ttyUSB0?baudrate=19200", SerialTransport, {"device": "/dev/ttyUSB0", "baudrate": 19200}),
        ("file:///dev/usb/lp0", FileTransport, {"path": "/dev/usb/lp0"}),
        ("cups://Ticket_Printer", CupsTransport, {"queue": "Ticket_Printer"}),
        ("preview://out/tickets", PreviewTransport, {"directory": Path("out/tickets")}),
        ("preview:///tmp/tickets", PreviewTransport, {"directory": Path("/tmp/tickets")}),
    ],
)
def test_urls_pick_the_transport(url: str, kind: type, attrs: dict[str, Any]) -> None:
    transport = open_transport(url)
    assert isinstance(transport, kind)
    for name, value in attrs.items():
        assert getattr(transport, name) == value


def test_unknown_scheme_names_the_accepted_ones() -> None:
    with pytest.raises(PrinterConfigError) as caught:
        open_transport("lpt://1")
    message = str(caught.value)
    for scheme in ("tcp://", "usb://", "serial://", "file://", "cups://", "preview://"):
        assert scheme in message


@pytest.mark.parametrize(
    "url,fragment",
    [
        ("10.0.0.9:9100", "unsupported printer URL"),
        ("tcp://", "needs a host"),
        ("tcp://printer:notaport", "bad port"),
        ("tcp://printer?timeout=1", "accepted options: connect_timeout, status_timeout, write_timeout"),
        ("tcp://printer?write_timeout=-1", "bad value '-1'"),
        ("usb://04b8", "hexadecimal USB ids"),
        ("usb://zzzz:0202", "hexadecimal USB ids"),
        ("serial://?baudrate=9600", "needs a device"),
        ("serial:///dev/ttyS0?baudrate=12345", "bad value '12345'"),
        ("serial:///dev/ttyS0?speed=9600", "unknown option 'speed'"),
        ("file://", "needs a path"),
        ("cups://", "needs a queue"),
        ("preview://", "needs a directory"),
    ],
)
def test_bad_urls_are_config_errors(url: str, fragment: str) -> None:
    with pytest.raises(PrinterConfigError) as caught:
        open_transport(url)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)


# -- file -------------------------------------------------------------------------


def test_file_transport_appends_jobs(tmp_path: Path, ticket: TicketPrint) -> None:
    device = tmp_path / "lp0"
    device.touch()
    printer = Printer(f"file://{device}", PrinterProfile(paper_width_mm=58))
    printer.print_ticket(ticket)
    printer.print_ticket(ticket)
    assert device.read_bytes() == render_ticket(ticket, printer.profile) * 2
    with pytest.raises(PrinterUnsupported):
        printer.status()


def test_file_transport_errors(tmp_path: Path) -> None:
    with pytest.raises(PrinterOffline, match="unplugged"):
        open_transport(f"file://{tmp_path}/missing").send(b"x")
    assert not (tmp_path / "missing").exists(), "a missing device must not be created"
    with pytest.raises(PrinterConfigError, match="directory"):
        open_transport(f"file://{tmp_path}").send(b"x")


def test_file_transport_times_out_on_a_stalled_device(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened, never read: a stalled device
    try:
        with pytest.raises(PrinterTimeout, match="took only"):
            FileTransport(str(fifo), timeout=0.2).send(b"x" * 1_000_000)
    finally:
        os.close(reader)


# -- cups -------------------------------------------------------------------------


def _fake_lp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exit_code: int = 0) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "lp"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{tmp_path}/lp-args"\n'
        f'cat > "{tmp_path}/lp-data"\n'
        f'if [ {exit_code} -ne 0 ]; then echo "lp: The printer or class does not exist." >&2; exit {exit_code}; fi\n'
        'echo "request id is $2-1 (1 file(s))"\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path


def test_cups_pipes_raw_bytes_to_lp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ticket: TicketPrint) -> None:
    spool = _fake_lp(tmp_path, monkeypatch)
    printer = Printer("cups://Ticket_Printer", PrinterProfile())
    printer.print_ticket(ticket)
    assert (spool / "lp-args").read_text().split("\n")[:4] == ["-d", "Ticket_Printer", "-o", "raw"]
    assert (spool / "lp-data").read_bytes() == render_ticket(ticket, printer.profile)


def test_cups_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_lp(tmp_path, monkeypatch, exit_code=1)
    with pytest.raises(PrinterOffline, match="does not exist"):
        open_transport("cups://nope").send(b"x")


def test_cups_without_lp_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PrinterConfigError, match="cups-client"):
        CupsTransport("q", lp_command="/nonexistent/lp").send(b"x")


# -- preview ------------------------------------------------------------------------


def test_preview_transport_writes_a_png(tmp_path: Path, ticket: TicketPrint, cjk_font: FontSpec) -> None:
    printer = Printer(f"preview://{tmp_path}/out", PrinterProfile(paper_width_mm=58))
    printer.print_ticket(ticket)
    [png] = (tmp_path / "out").iterdir()
    assert png.name == "20240506-094107-A023.png"
    with Image.open(png) as image:
        assert image.format == "PNG"
        assert image.width == 384 + 2 * 24
        assert image.height > 600
    assert printer.status() == PrinterStatus()
    with pytest.raises(PrinterUnsupported, match="print_ticket"):
        printer.transport.send(b"\x1b@")


def test_preview_folder_keeps_only_the_newest_pictures(
    tmp_path: Path, ticket: TicketPrint, cjk_font: FontSpec
) -> None:
    """Hole 13 of issue #10: the demo kiosk's pictures of customers' tickets piled up for ever."""
    printer = Printer(f"preview://{tmp_path}/out?keep=3", PrinterProfile(paper_width_mm=58))
    numbers = [f"A{n:03d}" for n in range(1, 6)]
    for minute, number in enumerate(numbers):
        printer.print_ticket(replace(ticket, number=number, issued_at=ticket.issued_at + timedelta(minutes=minute)))
    kept = sorted(path.name.rsplit("-", 1)[1] for path in (tmp_path / "out").iterdir())
    assert kept == ["A003.png", "A004.png", "A005.png"]


def test_preview_keep_option_is_checked() -> None:
    assert Printer("preview:///tmp/x", PrinterProfile()).transport.keep == 200  # type: ignore[attr-defined]
    with pytest.raises(PrinterConfigError, match="keep"):
        Printer("preview:///tmp/x?keep=-1", PrinterProfile())


# -- usb (only the pyusb device is fake) ---------------------------------------------


class _Backend:
    """Stands in for a pyusb backend object (only its module name is read)."""


class _Context:
    def dispose(self, device: object) -> None:
        pass


class FakeUsbDevice:
    """What ``usb.core.find`` returns: records writes, answers DLE EOT reads."""

    def __init__(self, status: PrinterStatus | None = None) -> None:
        self.backend = _Backend()
        self._ctx = _Context()
        self.status = status or PrinterStatus()
        self.writes: list[tuple[int, bytes, int]] = []
        self.fail_next_write: Exception | None = None
        self._answers: list[int] = []

    def set_configuration(self) -> None:
        pass

    def reset(self) -> None:
        pass

    def write(self, endpoint: int, data: bytes, timeout: int) -> int:
        if self.fail_next_write is not None:
            error, self.fail_next_write = self.fail_next_write, None
            raise error
        self.writes.append((endpoint, bytes(data), timeout))
        if data[:2] == b"\x10\x04":
            self._answers.append(encode_status(self.status, data[2]))
        return len(data)

    def read(self, endpoint: int, size: int, timeout: int | None = None) -> bytes:
        assert endpoint == 0x82
        return bytes([self._answers.pop(0)]) if self._answers else b""


@pytest.fixture
def usb_bus(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[int, int], FakeUsbDevice]:
    """A fake USB bus: tests plug devices in by (vendor, product)."""
    devices: dict[tuple[int, int], FakeUsbDevice] = {}
    finds: list[dict[str, Any]] = []

    def find(**match: Any) -> FakeUsbDevice | None:
        finds.append(match)
        return devices.get((match.get("idVendor", 0), match.get("idProduct", 0)))

    monkeypatch.setattr(usb.core, "find", find)
    return devices


def test_usb_transport_sends_to_the_out_endpoint(
    usb_bus: dict[tuple[int, int], FakeUsbDevice], ticket: TicketPrint
) -> None:
    device = usb_bus[(0x04B8, 0x0202)] = FakeUsbDevice()
    printer = Printer("usb://04b8:0202?timeout=2", PrinterProfile())
    printer.print_ticket(ticket)
    queries, job = device.writes[:3], device.writes[3:]
    assert [w[1] for w in queries] == [b"\x10\x04\x01", b"\x10\x04\x02", b"\x10\x04\x04"]
    assert job == [(0x01, render_ticket(ticket, printer.profile), 2000)]
    printer.close()


def test_usb_status_and_paper_out(usb_bus: dict[tuple[int, int], FakeUsbDevice]) -> None:
    usb_bus[(0x0416, 0x5011)] = FakeUsbDevice(PrinterStatus(online=False, paper_out=True))
    status = open_transport("usb://0416:5011").status()
    assert status.paper_out and not status.online


def test_usb_device_missing_then_plugged_in(usb_bus: dict[tuple[int, int], FakeUsbDevice]) -> None:
    transport = open_transport("usb://04b8:0202")
    with pytest.raises(PrinterOffline, match="not found"):
        transport.send(b"\x1b@")
    device = usb_bus[(0x04B8, 0x0202)] = FakeUsbDevice()
    transport.send(b"\x1b@")
    assert device.writes == [(0x01, b"\x1b@", 5000)]


def test_usb_write_errors_become_printer_errors(usb_bus: dict[tuple[int, int], FakeUsbDevice]) -> None:
    device = usb_bus[(0x04B8, 0x0202)] = FakeUsbDevice()
    transport = open_transport("usb://04b8:0202")
    device.fail_next_write = usb.core.USBTimeoutError("Operation timed out", -7, 110)
    with pytest.raises(PrinterTimeout):
        transport.send(b"x")
    device.fail_next_write = usb.core.USBError("No such device (it may have been disconnected)", -4, 19)
    with pytest.raises(PrinterOffline, match="disconnected"):
        transport.send(b"x")
    transport.send(b"y")  # found again after the error
    assert device.writes[-1][1] == b"y"


# -- serial (a real pseudo-terminal stands in for the port) -------------------------


def test_serial_transport_over_a_pty(ticket: TicketPrint) -> None:
    controller, port = os.openpty()
    try:
        transport = open_transport(f"serial://{os.ttyname(port)}?baudrate=19200&timeout=1")
        assert isinstance(transport, SerialTransport)
        received = bytearray()

        def printer_side() -> None:
            # Answer the three status queries, then collect the job.
            while len(received) < 9 + 4:
                received.extend(os.read(controller, 4096))
                while received.count(b"\x10\x04") > answered[0]:
                    os.write(controller, b"\x12")
                    answered[0] += 1

        answered = [0]
        thread = threading.Thread(target=printer_side, daemon=True)
        thread.start()
        assert transport.status() == PrinterStatus()
        transport.send(b"\x1b@hi\n")
        thread.join(timeout=5)
        assert bytes(received) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x04\x1b@hi\n"
        transport.close()
    finally:
        os.close(controller)
        os.close(port)


def test_serial_port_missing_is_offline(tmp_path: Path) -> None:
    with pytest.raises(PrinterOffline, match="cannot open serial printer"):
        open_transport(f"serial://{tmp_path}/ttyUSB9").send(b"x")
