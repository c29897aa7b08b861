"""A network ticket printer emulator for tests and demos.

Listens on 127.0.0.1 (a free port by default), records every byte received
(per connection and in total), splits the stream into tickets at each paper
cut, answers DLE EOT status queries, and can act out printer trouble:

* ``normal``: reads everything at once, reports ready.
* ``paper_near_end`` / ``paper_out`` / ``cover_open``: status says so (data is
  still buffered, as a real printer does).
* ``offline``: the port is closed, connections are refused at once.
* ``unreachable``: connection attempts hang until the client times out, like
  a printer that is switched off.
* ``slow``: reads at ``bytes_per_second``; with its small receive buffer the
  sender feels the back-pressure.
* ``stalled``: accepts connections but never reads (jammed, buffer full).

Use from tests::

    with PrinterEmulator() as emulator:
        Printer(emulator.url, profile).print_ticket(ticket)
        [ticket_bytes] = emulator.wait_for_tickets(1, timeout=5)

or for demos: ``python -m printer.emulator --port 9100`` (type a mode name and
Enter to switch modes while it runs).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import queue
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from printer.escpos_stream import StreamParser, is_cut, iter_text, qr_payloads
from printer.status import PrinterStatus, encode_status

_POLL_S = 0.05
_LISTEN_BACKLOG = 16


class EmulatorMode(enum.StrEnum):
    NORMAL = "normal"
    PAPER_NEAR_END = "paper_near_end"
    PAPER_OUT = "paper_out"
    COVER_OPEN = "cover_open"
    OFFLINE = "offline"
    UNREACHABLE = "unreachable"
    SLOW = "slow"
    STALLED = "stalled"


_STATUS = {
    EmulatorMode.PAPER_NEAR_END: PrinterStatus(paper_near_end=True),
    EmulatorMode.PAPER_OUT: PrinterStatus(online=False, paper_near_end=True, paper_out=True),
    EmulatorMode.COVER_OPEN: PrinterStatus(online=False, cover_open=True),
}
_NOT_LISTENING = (EmulatorMode.OFFLINE, EmulatorMode.UNREACHABLE)


@dataclass
class ConnectionRecord:
    """What one client connection sent."""

    peer: tuple[str, int]
    data: bytearray = field(default_factory=bytearray)
    status_queries: list[int] = field(default_factory=list)
    closed: bool = False


class PrinterEmulator:
    """Threaded TCP printer emulator; see the module docstring."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        mode: EmulatorMode | str = EmulatorMode.NORMAL,
        *,
        bytes_per_second: float = 4000.0,
        receive_buffer: int = 4096,
        on_ticket: Callable[[bytes], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.bytes_per_second = bytes_per_second
        # Small, like a cheap printer's input buffer, so slow and stalled
        # modes push back on the sender instead of vanishing into kernel buffers.
        self.receive_buffer = receive_buffer
        self.on_ticket = on_ticket
        self._mode = EmulatorMode(mode)
        self._changed = threading.Condition()
        self._connections: list[ConnectionRecord] = []
        self._received = bytearray()
        self._tickets: list[bytes] = []
        self._stopping = threading.Event()
        self._requests: queue.Queue[tuple[EmulatorMode, threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._port_socket: socket.socket | None = None
        self._fillers: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> PrinterEmulator:
        """Bind the port and start serving; returns self for chaining."""
        if self._acceptor is not None:
            raise RuntimeError("emulator already started")
        self._apply_mode(self._mode)
        self._acceptor = threading.Thread(target=self._accept_loop, name="emulator-accept", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every socket; recorded data stays readable."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake_w.send(b"x")
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._close_port_socket()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> PrinterEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    # -- modes ---------------------------------------------------------------

    @property
    def mode(self) -> EmulatorMode:
        return self._mode

    def set_mode(self, mode: EmulatorMode | str, *, bytes_per_second: float | None = None) -> None:
        """Switch mode; returns once the port behaves the new way."""
        new_mode = EmulatorMode(mode)
        if bytes_per_second is not None:
            self.bytes_per_second = bytes_per_second
        if self._acceptor is None or self._stopping.is_set():
            self._mode = new_mode
            return
        # The accept thread owns the listening socket; closing it from here
        # while that thread waits on it would race.
        done = threading.Event()
        self._requests.put((new_mode, done))
        self._wake_w.send(b"x")
        if not done.wait(timeout=5):
            raise RuntimeError("emulator did not switch mode within 5 s")

    def status(self) -> PrinterStatus:
        """The status the emulator currently reports."""
        return _STATUS.get(self._mode, PrinterStatus())

    # -- recordings -----------------------------------------------------------

    @property
    def received(self) -> bytes:
        """Every byte received on every connection, in arrival order."""
        with self._changed:
            return bytes(self._received)

    @property
    def connections(self) -> list[ConnectionRecord]:
        with self._changed:
            return list(self._connections)

    @property
    def tickets(self) -> list[bytes]:
        """Complete jobs: the bytes up to and including each paper cut."""
        with self._changed:
            return list(self._tickets)

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._changed:
            self._received.clear()
            self._tickets.clear()
            self._connections = [c for c in self._connections if not c.closed]

    def wait_for_bytes(self, count: int, timeout: float = 5.0) -> bytes:
        """Wait until ``count`` bytes arrived in total; TimeoutError after ``timeout`` s."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._received) >= count, timeout):
                raise TimeoutError(f"emulator received {len(self._received)} of {count} bytes in {timeout:g} s")
            return bytes(self._received)

    def wait_for_tickets(self, count: int = 1, timeout: float = 5.0) -> list[bytes]:
        """Wait until ``count`` complete tickets (ending in a cut) arrived."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._tickets) >= count, timeout):
                raise TimeoutError(
                    f"emulator received {len(self._tickets)} of {count} tickets in {timeout:g} s"
                    f" ({len(self._received)} bytes)"
                )
            return list(self._tickets)

    # -- port handling (accept thread only, after start) -----------------------

    def _close_port_socket(self) -> None:
        for sock in [*self._fillers, *([self._port_socket] if self._port_socket else [])]:
            sock.close()
        self._fillers = []
        self._port_socket = None

    def _apply_mode(self, mode: EmulatorMode) -> None:
        self._close_port_socket()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.receive_buffer)
        # Staying bound while offline keeps the port ours; a bound socket
        # that does not listen answers connection attempts with a refusal.
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        self._port_socket = sock
        if mode == EmulatorMode.UNREACHABLE:
            # A backlog of 0 with a full accept queue makes the kernel drop
            # new SYNs: clients wait until their connect timeout.
            sock.listen(0)
            for _ in range(2):
                filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                filler.setblocking(False)
                filler.connect_ex((self.host, self.port))
                self._fillers.append(filler)
            # Let the fillers' handshakes land in the queue before anyone else tries.
            time.sleep(0.05)
        elif mode != EmulatorMode.OFFLINE:
            sock.listen(_LISTEN_BACKLOG)
            sock.setblocking(False)
        self._mode = mode

    def _accept_loop(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self._wake_r, selectors.EVENT_READ)
        listening: socket.socket | None = None
        try:
            while not self._stopping.is_set():
                wanted = self._port_socket if self._mode not in _NOT_LISTENING else None
                if wanted is not listening:
                    if listening is not None:
                        selector.unregister(listening)
                    if wanted is not None:
                        selector.register(wanted, selectors.EVENT_READ)
                    listening = wanted
                for key, _ in selector.select(timeout=_POLL_S):
                    if key.fileobj is self._wake_r:
                        self._wake_r.recv(64)
                        self._handle_requests()
                        break
                    self._accept_one(self._port_socket)
        finally:
            selector.close()
            self._handle_requests()

    def _handle_requests(self) -> None:
        while True:
            try:
                mode, done = self._requests.get_nowait()
            except queue.Empty:
                return
            if not self._stopping.is_set():
                self._apply_mode(mode)
            done.set()

    def _accept_one(self, listener: socket.socket | None) -> None:
        if listener is None:
            return
        try:
            client, peer = listener.accept()
        except (BlockingIOError, OSError):
            return
        client.settimeout(_POLL_S)
        record = ConnectionRecord(peer=peer)
        with self._changed:
            self._connections.append(record)
        thread = threading.Thread(
            target=self._serve, args=(client, record), name=f"emulator-conn-{peer[1]}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    # -- one connection -----------------------------------------------------------

    def _serve(self, client: socket.socket, record: ConnectionRecord) -> None:
        parser = StreamParser()
        parsed_offset = 0
        ticket_start: int | None = None
        try:
            while not self._stopping.is_set():
                mode = self._mode
                if mode in _NOT_LISTENING:
                    break  # switched off: the connection dies with it
                if mode == EmulatorMode.STALLED:
                    time.sleep(_POLL_S / 2)
                    continue
                slow = mode == EmulatorMode.SLOW
                size = max(1, int(self.bytes_per_second * _POLL_S)) if slow else 65536
                try:
                    chunk = client.recv(size)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                finished: list[bytes] = []
                with self._changed:
                    record.data += chunk
                    self._received += chunk
                    for command in parser.feed(chunk):
                        start = parsed_offset
                        parsed_offset += len(command.raw)
                        if command.name == "DLE EOT":
                            query = command.raw[2]
                            record.status_queries.append(query)
                            if query in (1, 2, 3, 4):
                                self._answer(client, query)
                            continue
                        if ticket_start is None:
                            ticket_start = start
                        if is_cut(command):
                            ticket = bytes(record.data[ticket_start:parsed_offset])
                            self._tickets.append(ticket)
                            finished.append(ticket)
                            ticket_start = None
                    self._changed.notify_all()
                # Outside the lock: the callback may be slow (the CLI writes files).
                if self.on_ticket is not None:
                    for ticket in finished:
                        self.on_ticket(ticket)
                if slow:
                    time.sleep(len(chunk) / self.bytes_per_second)
        finally:
            client.close()
            with self._changed:
                record.closed = True
                self._changed.notify_all()

    def _answer(self, client: socket.socket, query: int) -> None:
        # If the client already gave up waiting there is nobody to answer.
        with contextlib.suppress(OSError):
            client.sendall(bytes((encode_status(self.status(), query),)))


def _describe(ticket: bytes) -> str:
    texts = [t.strip() for t in iter_text(ticket) if t.strip()]
    qr = qr_payloads(ticket)
    text = " | ".join(texts)[:160] or "(none: raster images)"
    return f"{len(ticket)} bytes; text: {text}; QR: {', '.join(qr) or '-'}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="NextUp network ticket printer emulator")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=9100, help="TCP port (0 = any free port)")
    parser.add_argument("--mode", default="normal", choices=[m.value for m in EmulatorMode])
    parser.add_argument("--rate", type=float, default=4000.0, help="bytes/s in slow mode")
    parser.add_argument("--save-dir", type=Path, help="also write each ticket as NNNN.bin here")
    args = parser.parse_args(argv)

    counter = 0

    def on_ticket(ticket: bytes) -> None:
        nonlocal counter
        counter += 1
        if args.save_dir is not None:
            args.save_dir.mkdir(parents=True, exist_ok=True)
            (args.save_dir / f"{counter:04d}.bin").write_bytes(ticket)
        print(f"ticket {counter}: {_describe(ticket)}", flush=True)

    emulator = PrinterEmulator(args.host, args.port, args.mode, bytes_per_second=args.rate, on_ticket=on_ticket)
    with emulator:
        modes = ", ".join(m.value for m in EmulatorMode)
        print(f"printer emulator on {emulator.url}, mode {emulator.mode.value}", flush=True)
        print(f"type a mode and Enter to switch ({modes}); Ctrl-C to quit", flush=True)
        try:
            for line in sys.stdin:
                choice = line.strip()
                if not choice:
                    continue
                try:
                    emulator.set_mode(choice)
                except ValueError:
                    print(f"unknown mode {choice!r}; one of: {modes}", flush=True)
                    continue
                print(f"mode: {emulator.mode.value}", flush=True)
            # stdin closed (e.g. started in the background): keep serving.
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
