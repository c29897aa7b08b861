"""The printer emulator itself: recording, ticket splitting, status answers, CLI."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from printer.emulator import EmulatorMode, PrinterEmulator
from printer.layout import render_ticket
from printer.profile import PrinterProfile
from printer.ticket import TicketPrint
from printer.transports import TcpTransport

REPO_ROOT = Path(__file__).resolve().parents[2]


def _send(emulator: PrinterEmulator, data: bytes) -> None:
    TcpTransport(emulator.host, emulator.port, connect_timeout=1, write_timeout=2).send(data)


def test_records_per_connection_and_in_total(emulator: PrinterEmulator) -> None:
    _send(emulator, b"\x1b@one\n")
    # Each connection is read by a thread of its own: the first must be in before the second is
    # sent for the total to be in sending order.
    assert emulator.wait_for_bytes(6) == b"\x1b@one\n"
    _send(emulator, b"\x1b@two\n")
    assert emulator.wait_for_bytes(12) == b"\x1b@one\n\x1b@two\n"
    first, second = emulator.connections
    assert (bytes(first.data), bytes(second.data)) == (b"\x1b@one\n", b"\x1b@two\n")
    deadline = time.monotonic() + 2
    while not all(c.closed for c in emulator.connections) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(c.closed for c in emulator.connections)
    emulator.clear()
    assert emulator.received == b"" and emulator.connections == []


def test_tickets_are_split_at_each_cut(emulator: PrinterEmulator) -> None:
    _send(emulator, b"\x10\x04\x01" + b"\x1b@A\n\x1dV\x00" + b"\x1b@B\n\x1bd\x06\x1dVA\x00" + b"tail")
    assert emulator.wait_for_tickets(2) == [b"\x1b@A\n\x1dV\x00", b"\x1b@B\n\x1bd\x06\x1dVA\x00"]


def test_waiting_has_a_deadline(emulator: PrinterEmulator) -> None:
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="0 of 1 tickets"):
        emulator.wait_for_tickets(1, timeout=0.2)
    with pytest.raises(TimeoutError, match="0 of 5 bytes"):
        emulator.wait_for_bytes(5, timeout=0.1)
    # Deadlines of 0.3 s in all: bounded (a generous margin for a loaded machine), not a hang.
    assert time.monotonic() - started < 10


def test_status_queries_inside_image_data_are_not_answered(emulator: PrinterEmulator) -> None:
    image = b"\x1dv0\x00\x01\x00\x03\x00" + b"\x10\x04\x01"
    with socket.create_connection((emulator.host, emulator.port), timeout=2) as sock:
        sock.sendall(image + b"\x10\x04\x04")
        assert sock.recv(16) == b"\x12"  # exactly one answer, for the real query
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(16)
    [connection] = emulator.connections
    assert connection.status_queries == [4]


def test_mode_answers(emulator: PrinterEmulator) -> None:
    expected = {
        EmulatorMode.NORMAL: b"\x12\x12\x12",
        EmulatorMode.PAPER_NEAR_END: b"\x12\x12\x1e",
        EmulatorMode.PAPER_OUT: b"\x1a\x32\x7e",
        EmulatorMode.COVER_OPEN: b"\x1a\x16\x12",
    }
    for mode, answers in expected.items():
        emulator.set_mode(mode)
        with socket.create_connection((emulator.host, emulator.port), timeout=2) as sock:
            sock.sendall(b"\x10\x04\x01\x10\x04\x02\x10\x04\x04")
            got = b""
            while len(got) < 3:
                got += sock.recv(3)
        assert got == answers, mode


def test_switching_off_drops_open_connections(emulator: PrinterEmulator) -> None:
    with socket.create_connection((emulator.host, emulator.port), timeout=2) as sock:
        sock.sendall(b"\x1b@")
        emulator.wait_for_bytes(2)
        emulator.set_mode(EmulatorMode.OFFLINE)
        sock.settimeout(2)
        assert sock.recv(16) == b""  # the emulator closed its end
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((emulator.host, emulator.port), timeout=1).close()


def test_port_is_kept_across_modes(emulator: PrinterEmulator) -> None:
    port = emulator.port
    for mode in EmulatorMode:
        emulator.set_mode(mode)
        assert emulator.port == port
    emulator.set_mode(EmulatorMode.NORMAL)
    _send(emulator, b"\x1b@")
    assert emulator.wait_for_bytes(2) == b"\x1b@"


def test_command_line_emulator(ticket: TicketPrint, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "printer.emulator", "--port", "0", "--save-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdin is not None and process.stderr is not None
        banner = process.stdout.readline()
        assert "printer emulator on tcp://127.0.0.1:" in banner, banner + process.stderr.read()
        port = int(banner.split("tcp://127.0.0.1:")[1].split(",")[0])
        process.stdout.readline()  # usage hint
        data = render_ticket(ticket, PrinterProfile())
        TcpTransport("127.0.0.1", port, connect_timeout=2).send(data)
        line = process.stdout.readline()
        assert line.startswith(f"ticket 1: {len(data)} bytes") and "A023" in line, line
        assert (tmp_path / "0001.bin").read_bytes() == data
        process.stdin.write("paper_out\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "mode: paper_out"
        assert TcpTransport("127.0.0.1", port).status().paper_out
    finally:
        process.terminate()
        process.wait(timeout=5)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()
