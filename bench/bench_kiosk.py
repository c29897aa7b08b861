"""Benchmark of a tap at the kiosk: time to the last byte at a network printer, and bytes per ticket.

Runs ``nextup serve`` and ``nextup kiosk`` as processes and a printer emulator (loopback TCP, like
a network printer on port 9100) in this one, which also plays the touch page: it sends the page's
``issue`` message to the kiosk's local websocket and notes when the emulator receives the paper cut
that ends the ticket. Taps are one after another, as customers at one kiosk are. Run:

    python -m bench.bench_kiosk                 # embedded Redis
    NEXTUP_REDIS_URL=redis://127.0.0.1:6379/14 python -m bench.bench_kiosk --tickets 500

Each tap goes: page -> kiosk -> server (one Lua script on Redis) -> kiosk -> printer status query
(DLE EOT) -> ticket bytes. Targets: at most 2 KB per ticket in text mode, p99 under 200 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis
from websockets.sync.client import ClientConnection, connect

from printer.emulator import PrinterEmulator
from server.embedded_redis import EmbeddedRedis
from tests.kiosk.processes import KioskProcess
from tests.servers import ADMIN_PASSWORD, ServerProcess


@dataclass
class Arrivals:
    """When each complete ticket reached the printer (perf_counter), and its bytes."""

    times: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def on_ticket(self, ticket: bytes) -> None:
        now = time.perf_counter()
        with self.changed:
            self.times.append(now)
            self.sizes.append(len(ticket))
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> float:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.times) >= count, timeout):
                raise TimeoutError(f"ticket {count} did not reach the printer within {timeout} s")
            return self.times[count - 1]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def kiosk_token(server: ServerProcess) -> str:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        admin = http.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()["token"]
        created = http.post(
            "/api/users",
            json={"username": "bench-kiosk", "password": "bench-kiosk-pw", "role": "kiosk"},
            headers={"Authorization": f"Bearer {admin}"},
        )
        assert created.status_code in (201, 409), created.text
        token: str = http.post("/api/login", json={"username": "bench-kiosk", "password": "bench-kiosk-pw"}).json()[
            "token"
        ]
        return token


def wait_online(ws: ClientConnection) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message.get("type") == "state" and message.get("online"):
            return
    raise TimeoutError("the kiosk did not connect to the server within 15 s")


def tap_and_wait(ws: ClientConnection, service: str) -> tuple[float, float]:
    """Send one tap; (sent at, printed ack at) in perf_counter seconds."""
    request_id = str(uuid.uuid4())
    sent = time.perf_counter()
    ws.send(json.dumps({"type": "issue", "request_id": request_id, "service": service, "priority": False}))
    while True:
        message = json.loads(ws.recv(timeout=20))
        if message.get("request_id") != request_id:
            continue
        if message["type"] == "printed":
            return sent, time.perf_counter()
        if message["type"] in ("refused", "print_failed"):
            raise RuntimeError(f"tap failed: {message.get('error')}")


def run_mode(server: ServerProcess, token: str, work: Path, mode: str, tickets: int, warmup: int) -> None:
    arrivals = Arrivals()
    with PrinterEmulator(on_ticket=arrivals.on_ticket) as emulator:
        kiosk = KioskProcess(server.url, token, emulator.url, work, "--text-mode", mode).start()
        try:
            with connect(f"ws://127.0.0.1:{kiosk.port}/ws", open_timeout=10) as ws:
                wait_online(ws)
                latencies: list[float] = []
                acks: list[float] = []
                for i in range(warmup + tickets):
                    sent, acked = tap_and_wait(ws, "ABC"[i % 3])
                    last_byte = arrivals.wait_for(i + 1)
                    if i >= warmup:
                        latencies.append(last_byte - sent)
                        acks.append(acked - sent)
        finally:
            kiosk.stop()
    sizes = arrivals.sizes[warmup:]
    print(
        f"{mode:<8} tap -> last byte at the printer: p50 {percentile(latencies, 50) * 1000:6.1f} ms  "
        f"p99 {percentile(latencies, 99) * 1000:6.1f} ms  max {max(latencies) * 1000:6.1f} ms  |  "
        f"tap -> 'printed' on screen p50 {percentile(acks, 50) * 1000:6.1f} ms  |  "
        f"{sum(sizes) / len(sizes):,.0f} bytes/ticket (max {max(sizes):,})  ({tickets} tickets)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--modes", default="gb18030,raster", help="text modes to measure, comma-separated")
    args = parser.parse_args()

    # The bench taps far faster than any customer: lift the per-kiosk rate limit.
    os.environ["NEXTUP_KIOSK_TICKETS_PER_MINUTE"] = "0"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        embedded: EmbeddedRedis | None = None
        url = os.environ.get("NEXTUP_REDIS_URL")
        if not url:
            embedded = EmbeddedRedis(work / "redis")
            url = embedded.start()
        client = redis.Redis.from_url(url)
        client.flushdb()
        server = ServerProcess(work / "server", url).start()
        try:
            token = kiosk_token(server)
            print(f"Redis: {'embedded (appendfsync always)' if embedded else url}; 80 mm paper; printer emulator "
                  "on loopback TCP")  # fmt: skip
            for mode in args.modes.split(","):
                run_mode(server, token, work, mode.strip(), args.tickets, args.warmup)
        finally:
            server.stop()
            client.close()
            if embedded:
                embedded.stop()


if __name__ == "__main__":
    main()
