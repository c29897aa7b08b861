"""Benchmark of the HTTP API on one server process: tickets issued and call-nexts per second.

Prints throughput, p50/p99 latency and Redis commands per operation. Run:

    python -m bench.bench_api            # embedded Redis
    NEXTUP_REDIS_URL=redis://127.0.0.1:6379/14 python -m bench.bench_api

The server runs in its own process (``nextup serve``), the load in this one, 32 concurrent
keep-alive connections.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import redis

from bench.load_client import Connection, Measurement
from server.embedded_redis import EmbeddedRedis
from tests.servers import ADMIN_PASSWORD, ServerProcess

BENCH_CONFIG = """
[branch]
id = "bench"
name_zh = "压测网点"
name_en = "Benchmark branch"
timezone = "Asia/Shanghai"

[hours]
mon = "00:00-24:00"
tue = "00:00-24:00"
wed = "00:00-24:00"
thu = "00:00-24:00"
fri = "00:00-24:00"
sat = "00:00-24:00"
sun = "00:00-24:00"

[[services]]
id = "A"
prefix = "A"
name_zh = "个人业务"
name_en = "Personal"

[[services]]
id = "B"
prefix = "B"
name_zh = "对公业务"
name_en = "Business"
"""


def config_text(counters: int) -> str:
    blocks = [
        f'[[counters]]\nid = "{i}"\nservices = ["A", "B"]\ninitial_status = "open"\n' for i in range(1, counters + 1)
    ]
    return BENCH_CONFIG + "\n" + "\n".join(blocks)


async def login(host: str, port: int) -> str:
    conn = await Connection.open(host, port)
    status, body = await conn.request("POST", "/api/login", {"username": "admin", "password": ADMIN_PASSWORD})
    conn.close()
    assert status == 200, body
    import json

    token: str = json.loads(body)["token"]
    return token


async def run_issue(host: str, port: int, token: str, clients: int, seconds: float) -> Measurement:
    m = Measurement()
    stop = time.perf_counter() + seconds

    async def worker(index: int) -> None:
        conn = await Connection.open(host, port)
        body = {"service": "A" if index % 2 else "B", "priority": index % 8 == 0}
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status, _ = await conn.request("POST", "/api/branches/bench/tickets", body, token)
            m.record(started, status)
        conn.close()

    begin = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    m.elapsed_s = time.perf_counter() - begin
    return m


async def run_call_next(host: str, port: int, token: str, clients: int, counters: int) -> Measurement:
    """Every counter calls next once per round (each call is a real call of a waiting ticket)."""
    m = Measurement()
    queue: asyncio.Queue[str] = asyncio.Queue()
    for counter in range(1, counters + 1):
        queue.put_nowait(str(counter))

    async def worker() -> None:
        conn = await Connection.open(host, port)
        while not queue.empty():
            counter = queue.get_nowait()
            started = time.perf_counter()
            status, _ = await conn.request("POST", f"/api/branches/bench/counters/{counter}/call-next", None, token)
            m.record(started, status)
        conn.close()

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    m.elapsed_s = time.perf_counter() - begin
    return m


def command_counts(client: redis.Redis) -> tuple[int, int]:
    """(round trips, commands): script calls are the round trips; the rest run inside them."""
    stats = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    trips = calls.get("evalsha", 0) + calls.get("eval", 0)
    return trips, sum(calls.values())


def report(name: str, m: Measurement, before: tuple[int, int], after: tuple[int, int]) -> None:
    ok = sum(n for s, n in m.statuses.items() if s < 300)
    ops = max(len(m.latencies_s), 1)
    print(
        f"{name:<10} {m.rate:7.0f} ops/s  p50 {m.percentile(50) * 1000:5.1f} ms  "
        f"p99 {m.percentile(99) * 1000:5.1f} ms  {len(m.latencies_s)} requests ({ok} ok {m.statuses})  "
        f"{(after[0] - before[0]) / ops:.2f} Redis round trips/op "
        f"({(after[1] - before[1] - (after[0] - before[0])) / ops:.1f} commands inside the script)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--counters", type=int, default=2000, help="counters for the call-next round")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        embedded: EmbeddedRedis | None = None
        url = os.environ.get("NEXTUP_REDIS_URL")
        if not url:
            embedded = EmbeddedRedis(work / "redis")
            url = embedded.start()
        client = redis.Redis.from_url(url)
        client.flushdb()
        config = work / "bench.toml"
        config.write_text(config_text(args.counters))
        server = ServerProcess(work / "server", url, config).start()
        try:
            host, port = "127.0.0.1", server.port
            token = asyncio.run(login(host, port))
            print(f"Redis: {'embedded (appendfsync always)' if embedded else url}; {args.clients} clients")
            before = command_counts(client)
            issued = asyncio.run(run_issue(host, port, token, args.clients, args.seconds))
            report("issue", issued, before, command_counts(client))
            before = command_counts(client)
            called = asyncio.run(run_call_next(host, port, token, args.clients, args.counters))
            report("call-next", called, before, command_counts(client))
        finally:
            server.stop()
            client.close()
            if embedded:
                embedded.stop()


if __name__ == "__main__":
    main()
