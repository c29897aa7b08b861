"""Benchmark of the lobby display fan-out: call-to-screen latency and messages delivered per second.

Two scenarios: 1,000 display websockets on one server process, and 5,000 spread over two server
processes on one Redis. For each call the latency runs from just before the call-next request is sent
to a display receiving its ``ticket_called`` message; it prints p50/p99/max over every delivery and
over the last display of each call (the figure a hall cares about). A burst of calls measures the
messages delivered per second.

    python -m bench.bench_display                      # embedded Redis
    NEXTUP_REDIS_URL=redis://127.0.0.1:6379/14 python -m bench.bench_display
    python -m bench.bench_display --displays 1000 --calls 100   # one scenario

The displays are lean clients (a raw asyncio protocol that frames websockets by hand and answers
pings) in processes of their own, so that the measurement is of the server, not of the clients.
CLOCK_MONOTONIC is system-wide, so times taken in different processes compare.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any, cast

import redis

from bench.bench_api import config_text
from bench.load_client import Connection
from server import keyring
from server.embedded_redis import EmbeddedRedis
from server.fanout import SETTLE_S
from tests.servers import ADMIN_PASSWORD, ServerProcess

HOST = "127.0.0.1"
BRANCH = "bench"
COUNTERS = 20
#: Concurrent connections making the calls of the burst.
BURST_CALLERS = 4
#: Displays per client process.
PER_PROCESS = 2500
_PONG = b"\x81\x8f\x00\x00\x00\x00" + b'{"type":"pong"}'  # masked with a zero key, so unchanged


class Display(asyncio.Protocol):
    """One display socket: websocket frames parsed by hand, arrival times of each call kept."""

    def __init__(
        self, request: bytes, arrivals: dict[str, list[float]], totals: list[int], synced: asyncio.Queue[None]
    ) -> None:
        self.request = request
        self.synced_queue = synced
        self.arrivals = arrivals
        self.totals = totals
        self.buffer = bytearray()
        self.upgraded = False
        self.synced = False
        self.transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(bytes(buffer[:200]).decode(errors="replace"))
            del buffer[: end + 4]
            self.upgraded = True
        while len(buffer) >= 2:
            length = buffer[1] & 0x7F
            start = 2
            if length == 126:
                length, start = int.from_bytes(buffer[2:4], "big"), 4
            elif length == 127:
                length, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + length:
                return
            opcode = buffer[0] & 0x0F
            payload = bytes(buffer[start : start + length])
            del buffer[: start + length]
            if opcode == 1:
                self.on_text(payload, now)
            elif opcode == 9 and self.transport is not None:  # protocol ping: answer with a masked pong
                self.transport.write(bytes([0x8A, 0x80 | len(payload)]) + b"\x00\x00\x00\x00" + payload)

    def on_text(self, payload: bytes, now: float) -> None:
        self.totals[0] += 1
        if payload.startswith(b'{"type":"ticket_called"'):
            at = payload.index(b'"number":"') + 10
            self.arrivals[payload[at : payload.index(b'"', at)].decode()].append(now)
        elif payload == b'{"type":"ping"}' and self.transport is not None:
            self.transport.write(_PONG)
        elif payload.startswith(b'{"type":"snapshot"') and not self.synced:
            self.synced = True
            self.synced_queue.put_nowait(None)


def display_process(ports: Sequence[int], token: str, count: int, pipe: Pipe) -> None:
    """A process of ``count`` displays spread over ``ports``; answers the coordinator's commands."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_displays(ports, token, count, pipe))


async def _displays(ports: Sequence[int], token: str, count: int, pipe: Pipe) -> None:
    loop = asyncio.get_running_loop()
    arrivals: dict[str, list[float]] = defaultdict(list)
    totals = [0]
    displays: list[Display] = []
    synced: asyncio.Queue[None] = asyncio.Queue()

    async def open_one(index: int) -> None:
        port = ports[index % len(ports)]
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /ws/branches/{BRANCH}/display?token={token} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
        _, display = await loop.create_connection(lambda: Display(request, arrivals, totals, synced), HOST, port)
        displays.append(display)

    for first in range(0, count, 100):
        await asyncio.gather(*(open_one(i) for i in range(first, min(count, first + 100))))
    for _ in range(count):
        await synced.get()
    pipe.send("ready")
    while True:
        command = await asyncio.to_thread(pipe.recv)
        if command == "totals":
            pipe.send(totals[0])
        elif command == "report":
            pipe.send(dict(arrivals))
            return


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summary(label: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"  {label:<34} p50 {percentile(ms, 0.5):6.1f} ms   p99 {percentile(ms, 0.99):6.1f} ms   "
        f"max {max(ms):6.1f} ms   (n={len(ms)})"
    )


class Calls:
    """Call-next through the HTTP API, finishing the counter's previous ticket first."""

    def __init__(self, conn: Connection, token: str, counters: Sequence[str]) -> None:
        self.conn = conn
        self.token = token
        self.counters = list(counters)
        self.busy: set[str] = set()
        self.turn = 0

    async def finish_next(self) -> str:
        counter = self.counters[self.turn % len(self.counters)]
        self.turn += 1
        if counter in self.busy:
            status, body = await self.conn.request(
                "POST", f"/api/branches/{BRANCH}/counters/{counter}/finish", {}, self.token
            )
            assert status == 200, body
        return counter

    async def call(self, counter: str) -> str:
        status, body = await self.conn.request(
            "POST", f"/api/branches/{BRANCH}/counters/{counter}/call-next", {}, self.token
        )
        assert status == 200, body
        self.busy.add(counter)
        number: str = json.loads(body)["number"]
        return number


async def prepare(port: int, tickets: int) -> tuple[str, str]:
    """Admin and display tokens, and ``tickets`` waiting tickets."""
    conn = await Connection.open(HOST, port)
    status, body = await conn.request("POST", "/api/login", {"username": "admin", "password": ADMIN_PASSWORD})
    assert status == 200, body
    admin = json.loads(body)["token"]
    status, body = await conn.request(
        "POST", "/api/users", {"username": "tv", "password": "display-pw-1", "role": "display"}, admin
    )
    assert status in (201, 409), body
    status, body = await conn.request("POST", "/api/login", {"username": "tv", "password": "display-pw-1"})
    assert status == 200, body
    display = json.loads(body)["token"]
    for _ in range(tickets):
        status, body = await conn.request("POST", f"/api/branches/{BRANCH}/tickets", {"service": "A"}, admin)
        assert status == 201, body
    conn.close()
    return admin, display


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU time the processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks


async def measure(
    port: int, admin: str, calls: int, burst: int, pipes: list[Pipe], servers: Sequence[int]
) -> dict[str, Any]:
    conn = await Connection.open(HOST, port)
    cpu_before = cpu_seconds(servers)
    caller = Calls(conn, admin, [str(i) for i in range(1, COUNTERS + 1)])
    sent: dict[str, float] = {}
    for _ in range(calls):
        counter = await caller.finish_next()
        await asyncio.sleep(0.03)  # let the finish event go out first: each call is measured alone
        started = time.monotonic()
        sent[await caller.call(counter)] = started
        await asyncio.sleep(0.1)

    cpu_per_call = (cpu_seconds(servers) - cpu_before) / calls
    before = sum(await asyncio.to_thread(_ask, pipes, "totals"))
    # The burst: BURST_CALLERS connections at once, each on counters of its own.
    callers = [caller] + [Calls(await Connection.open(HOST, port), admin, []) for _ in range(BURST_CALLERS - 1)]
    busy = set(caller.busy)
    for index, each in enumerate(callers):
        each.counters = [str(i) for i in range(1, COUNTERS + 1) if i % BURST_CALLERS == index]
        each.busy = busy & set(each.counters)
        each.turn = 0
    burst_numbers: list[str] = []

    async def call_repeatedly(each: Calls, times: int) -> None:
        for _ in range(times):
            burst_numbers.append(await each.call(await each.finish_next()))

    burst_started = time.monotonic()
    await asyncio.gather(*(call_repeatedly(each, burst // BURST_CALLERS) for each in callers))
    requests_done = time.monotonic()
    for each in callers[1:]:
        each.conn.close()
    await asyncio.sleep(1.0)  # the last deliveries land; their arrival times are what counts
    after = sum(await asyncio.to_thread(_ask, pipes, "totals"))
    conn.close()
    reports = await asyncio.to_thread(_ask, pipes, "report")
    arrivals: dict[str, list[float]] = defaultdict(list)
    for report in reports:
        for number, times in report.items():
            arrivals[number].extend(times)
    burst_last = max(max(arrivals[n]) for n in burst_numbers)
    return {
        "sent": sent,
        "arrivals": arrivals,
        "delivered": after - before,
        "burst_seconds": burst_last - burst_started,
        "burst_request_seconds": requests_done - burst_started,
        "burst_calls": len(burst_numbers),
        "cpu_per_call": cpu_per_call,
    }


def _ask(pipes: list[Pipe], command: str) -> list[Any]:
    for pipe in pipes:
        pipe.send(command)
    return [pipe.recv() for pipe in pipes]


def scenario(redis_url: str, work: Path, servers: int, displays: int, calls: int, burst: int) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    config = work / "bench.toml"
    config.write_text(config_text(COUNTERS), encoding="utf-8")
    # Every process signs and accepts tokens with the same keys, as in a real multi-process install.
    shared_keys = work / f"secrets-{servers}.json"
    shared_keys.unlink(missing_ok=True)
    keyring.create(shared_keys, keyring.Keyring.new())
    processes = [
        ServerProcess(work / f"server-{servers}-{i}", redis_url, config, secret_key_file=shared_keys).start()
        for i in range(servers)
    ]
    clients: list[multiprocessing.process.BaseProcess] = []
    try:
        admin, token = asyncio.run(prepare(processes[0].port, calls + burst + COUNTERS))
        spawn = multiprocessing.get_context("spawn")
        pipes: list[Pipe] = []
        ports = [p.port for p in processes]
        for index in range(max(1, -(-displays // PER_PROCESS))):
            count = min(PER_PROCESS, displays - index * PER_PROCESS)
            mine, theirs = spawn.Pipe()
            client: multiprocessing.process.BaseProcess = spawn.Process(
                target=display_process, args=(ports, token, count, theirs), daemon=True
            )
            client.start()
            clients.append(client)
            pipes.append(mine)
        for pipe in pipes:
            if not pipe.poll(120):
                raise TimeoutError("displays did not connect within 120 s")
            assert pipe.recv() == "ready"
        # In a hall the screens connect long before the calls; let the server settle (fanout.SETTLE_S).
        time.sleep(SETTLE_S + 2)
        # Calls go through the first process: with two, half the displays hear of them through Redis.
        pids = [p.process.pid for p in processes if p.process is not None]
        result = asyncio.run(measure(processes[0].port, admin, calls, burst, pipes, pids))
    finally:
        for client in clients:
            client.kill()
        for process in processes:
            process.stop()
    every: list[float] = []
    last: list[float] = []
    missing = 0
    for number, started in result["sent"].items():
        times = result["arrivals"].get(number, [])
        missing += displays - len(times)
        every.extend(t - started for t in times)
        if times:
            last.append(max(times) - started)
    plural = "es" if servers > 1 else ""
    print(f"\n{displays} displays on {servers} server process{plural} ({calls} calls, one at a time):")
    print(summary("call -> a display", every))
    print(summary("call -> the last display", last))
    print(f"  missing deliveries: {missing}")
    print(
        f"  server CPU per call (finish + call, each sent to every display): {result['cpu_per_call'] * 1000:.1f} ms"
        f" = {result['cpu_per_call'] / 2 / displays * 1e6:.1f} µs per message"
    )
    rate = result["delivered"] / result["burst_seconds"]
    print(
        f"  burst of {result['burst_calls']} calls (and finishes): {result['delivered']} messages delivered in "
        f"{result['burst_seconds']:.2f} s = {rate:,.0f} messages/s "
        f"(requests took {result['burst_request_seconds']:.2f} s)"
    )
    print(f"  mean call -> last display: {statistics.mean(last) * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--displays", type=int, help="run one scenario with this many displays")
    parser.add_argument("--servers", type=int, default=1)
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--burst", type=int, default=200)
    args = parser.parse_args()
    scenarios = [(args.servers, args.displays)] if args.displays else [(1, 1000), (2, 5000)]
    with tempfile.TemporaryDirectory(prefix="nextup-bench-") as tmp:
        work = Path(tmp)
        url = os.environ.get("NEXTUP_REDIS_URL")
        embedded: EmbeddedRedis | None = None
        if not url:
            embedded = EmbeddedRedis(work / "redis")
            url = embedded.start()
        try:
            print(f"Redis: {'embedded' if embedded else url}; {os.cpu_count()} CPUs")
            for servers, displays in scenarios:
                scenario(url, work, servers, displays, args.calls, args.burst)
        finally:
            if embedded:
                embedded.stop()


if __name__ == "__main__":
    main()
