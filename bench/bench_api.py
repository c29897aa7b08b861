"""Benchmark of the HTTP API: NextUp against a bare reference, measured alternately in one run.

Both run as their own server process on the same redis-server (``bench/reference_app.py``: uvicorn,
Starlette, a bearer check by string compare, one Lua script, a JSON reply), driven by the same load
generator (this process) with 32 concurrent keep-alive connections, in alternating rounds (the
order swaps every round, so drift of a shared machine falls on both). Printed: throughput and
p50/p99 of each, and NextUp's throughput as a ratio of the reference's (the median of the rounds'
ratios): the figure that means something on a busy machine; and the CPU each server process and
redis-server spent per request (from /proc). Run:

    python -m bench.bench_api                          # embedded Redis (appendfsync always)
    python -m bench.bench_api --rounds 3 --seconds 3   # quicker
    python -m bench.bench_api --only issue --profile issue.txt   # py-spy of both servers (pip install py-spy)
    python -m bench.profile_top issue.txt                        # its top entries
    NEXTUP_REDIS_URL=redis://127.0.0.1:6379/14 python -m bench.bench_api

- issue: each round, ``--seconds`` of ticket issues.
- call-next: each round, ``--calls`` counters each call next once (each call is a real call of a
  waiting ticket); between rounds, untimed, NextUp's counters finish their tickets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.load_client import Connection, Measurement
from server.embedded_redis import EmbeddedRedis
from tests.servers import ADMIN_PASSWORD, ROOT, ServerProcess, free_port, wait_until_healthy

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

ISSUE_PATH = "/api/branches/bench/tickets"
OPERATIONS = ("issue", "call-next")


def config_text(counters: int) -> str:
    blocks = [
        f'[[counters]]\nid = "{i}"\nservices = ["A", "B"]\ninitial_status = "open"\n' for i in range(1, counters + 1)
    ]
    return BENCH_CONFIG + "\n" + "\n".join(blocks)


def call_next_path(counter: str) -> str:
    return f"/api/branches/bench/counters/{counter}/call-next"


async def login(host: str, port: int) -> str:
    conn = await Connection.open(host, port)
    status, body = await conn.request("POST", "/api/login", {"username": "admin", "password": ADMIN_PASSWORD})
    conn.close()
    assert status == 200, body
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
            status, _ = await conn.request("POST", ISSUE_PATH, body, token)
            m.record(started, status)
        conn.close()

    begin = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    m.elapsed_s = time.perf_counter() - begin
    return m


async def run_requests(
    host: str, port: int, token: str, clients: int, requests: list[tuple[str, object]]
) -> Measurement:
    """Each (path, JSON body) POSTed once, ``clients`` at a time."""
    m = Measurement()
    queue: asyncio.Queue[tuple[str, object]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        conn = await Connection.open(host, port)
        while not queue.empty():
            path, body = queue.get_nowait()
            started = time.perf_counter()
            status, _ = await conn.request("POST", path, body, token)
            m.record(started, status)
        conn.close()

    begin = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    m.elapsed_s = time.perf_counter() - begin
    return m


def cpu_s(pid: int | None) -> float:
    """CPU seconds (user + system) a process has used so far; 0 where /proc cannot tell."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command_counts(client: redis.Redis) -> tuple[int, int]:
    """(round trips, commands): script calls are the round trips; the rest run inside them."""
    stats = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    trips = calls.get("evalsha", 0) + calls.get("eval", 0)
    return trips, sum(calls.values())


@dataclass
class Series:
    """The rounds of one operation on one app."""

    rounds: list[Measurement] = field(default_factory=list)
    #: (round trips, commands) spent in NextUp's rounds.
    redis_calls: tuple[int, int] = (0, 0)
    #: CPU seconds used in the rounds by the app's server process and by redis-server.
    server_cpu_s: float = 0.0
    redis_cpu_s: float = 0.0

    def rates(self) -> list[float]:
        return [m.rate for m in self.rounds]

    def pooled(self) -> Measurement:
        all_rounds = Measurement()
        for m in self.rounds:
            all_rounds.latencies_s += m.latencies_s
            for status, n in m.statuses.items():
                all_rounds.statuses[status] = all_rounds.statuses.get(status, 0) + n
        return all_rounds


class ReferenceProcess:
    """``bench.reference_app`` as a child process on a free loopback port."""

    def __init__(self, redis_url: str, token: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "bench.reference_app", "--port", str(self.port), "--redis-url", redis_url]
        self.process = subprocess.Popen([*args, "--token", token], cwd=ROOT)
        wait_until_healthy(self.url, process=self.process)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def start_profiler(pid: int, path: str) -> subprocess.Popen[bytes]:
    """py-spy sampling the server without stopping it (``--nonblocking``), idle threads left out."""
    args = ["py-spy", "record", "--pid", str(pid), "--format", "raw", "--nolineno", "--nonblocking"]
    return subprocess.Popen([*args, "--rate", "250", "--output", path], stdout=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    profiler.send_signal(signal.SIGINT)
    with suppress(subprocess.TimeoutExpired):
        profiler.wait(timeout=30)


def line(operation: str, app: str, m: Measurement, extra: str = "") -> str:
    errors = {s: n for s, n in m.statuses.items() if s not in (200, 201)}
    return (
        f"{operation:<10} {app:<10} {m.rate:7.0f} /s  p50 {m.percentile(50) * 1000:6.1f} ms  "
        f"p99 {m.percentile(99) * 1000:6.1f} ms  {len(m.latencies_s):6d} requests"
        + (f"  errors {errors}" if errors else "")
        + extra
    )


async def measure(
    args: argparse.Namespace, client: redis.Redis, ports: dict[str, int], pids: dict[str, int | None], token: str
) -> dict[tuple[str, str], Series]:
    host = "127.0.0.1"
    results = {(op, app): Series() for op in OPERATIONS for app in ("nextup", "reference")}
    nextup_port = ports["nextup"]
    counters = [str(i) for i in range(1, args.calls + 1)]
    #: Tickets waiting in each app's queue (issued, not yet called).
    waiting = dict.fromkeys(ports, 0)

    async def issue(app: str) -> Measurement:
        return await run_issue(host, ports[app], token, args.clients, args.seconds)

    async def call_next(app: str) -> Measurement:
        calls: list[tuple[str, object]] = [(call_next_path(c), None) for c in counters]
        return await run_requests(host, ports[app], token, args.clients, calls)

    async def finish_calls() -> None:
        finishes: list[tuple[str, object]] = [(f"/api/branches/bench/counters/{c}/finish", None) for c in counters]
        finished = await run_requests(host, nextup_port, token, args.clients, finishes)
        # 409: the counter called nothing in the last round.
        assert set(finished.statuses) <= {200, 409}, finished.statuses

    async def fill_queue(app: str) -> None:
        """Enough waiting tickets for the coming call-next round (untimed): a call must find one."""
        missing = args.calls - waiting[app]
        if missing > 0:
            tickets: list[tuple[str, object]] = [(ISSUE_PATH, {"service": "A"})] * missing
            filled = await run_requests(host, ports[app], token, args.clients, tickets)
            waiting[app] += filled.statuses.get(201, 0)

    runs: dict[str, Callable[[str], Awaitable[Measurement]]] = {"issue": issue, "call-next": call_next}
    operations = [op for op in OPERATIONS if args.only in (None, op)]
    # Warm-up, not counted: connections, caches, the queue filled for the first call-next round.
    for app in ports:
        warm_up = await run_issue(host, ports[app], token, args.clients, 1.0)
        waiting[app] += warm_up.statuses.get(201, 0)
    for r in range(args.rounds):
        order = ("nextup", "reference") if r % 2 == 0 else ("reference", "nextup")
        for operation in operations:
            if operation == "call-next" and r > 0:
                await finish_calls()
            if operation == "call-next":
                for app in order:
                    await fill_queue(app)
            for app in order:
                before = command_counts(client)
                cpu_before = cpu_s(pids[app]), cpu_s(pids["redis"])
                m = await runs[operation](app)
                after = command_counts(client)
                waiting[app] += m.statuses.get(201, 0) - (m.statuses.get(200, 0) if operation == "call-next" else 0)
                series = results[(operation, app)]
                series.rounds.append(m)
                series.server_cpu_s += cpu_s(pids[app]) - cpu_before[0]
                series.redis_cpu_s += cpu_s(pids["redis"]) - cpu_before[1]
                if app == "nextup":
                    trips, commands = series.redis_calls
                    series.redis_calls = (trips + after[0] - before[0], commands + after[1] - before[1])
                print(f"round {r + 1}  " + line(operation, app, m), flush=True)
    return results


def summary(results: dict[tuple[str, str], Series]) -> None:
    print("\nAll rounds (throughput: median of the rounds; latencies: all requests of all rounds)")
    for operation in OPERATIONS:
        nextup, reference = results[(operation, "nextup")], results[(operation, "reference")]
        if not nextup.rounds:
            continue
        trips, commands = nextup.redis_calls
        requests = max(sum(len(m.latencies_s) for m in nextup.rounds), 1)
        pooled = {"nextup": nextup.pooled(), "reference": reference.pooled()}
        for app, series in (("nextup", nextup), ("reference", reference)):
            m = pooled[app]
            rate = statistics.median(series.rates())
            count = max(len(m.latencies_s), 1)
            print(
                f"{operation:<10} {app:<10} {rate:7.0f} /s  p50 {m.percentile(50) * 1000:6.1f} ms  "
                f"p99 {m.percentile(99) * 1000:6.1f} ms  CPU per request: server "
                f"{series.server_cpu_s / count * 1e6:4.0f} µs, redis-server {series.redis_cpu_s / count * 1e6:4.0f} µs"
                + (
                    f"  {trips / requests:.2f} Redis round trips/request "
                    f"({(commands - trips) / requests:.1f} commands inside the script)"
                    if app == "nextup"
                    else ""
                )
            )
        ratios = [n / r for n, r in zip(nextup.rates(), reference.rates(), strict=True) if r]
        p99_ratio = pooled["nextup"].percentile(99) / pooled["reference"].percentile(99)
        print(
            f"{operation:<10} ratio      {statistics.median(ratios):7.2f}     "
            f"(rounds {min(ratios):.2f}-{max(ratios):.2f}); p99 NextUp / reference {p99_ratio:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of an issue round")
    parser.add_argument("--calls", type=int, default=2000, help="call-nexts (one per counter) in a round")
    parser.add_argument("--only", choices=OPERATIONS, help="measure one operation only")
    parser.add_argument(
        "--profile", metavar="PATH", help="py-spy (raw, collapsed stacks) of NextUp; of the reference in PATH-reference"
    )
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
        config.write_text(config_text(args.calls))
        server = ServerProcess(work / "server", url, config).start()
        reference: ReferenceProcess | None = None
        profilers: list[subprocess.Popen[bytes]] = []
        try:
            loop_factory = None
            with suppress(ImportError):
                import uvloop  # the load generator's own CPU is taken from both servers alike

                loop_factory = uvloop.new_event_loop
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                token = runner.run(login("127.0.0.1", server.port))
                reference = ReferenceProcess(url, token)
                print(
                    f"Redis: {'embedded (appendfsync always)' if embedded else url}; {args.clients} clients; "
                    f"{args.rounds} alternating rounds: issue {args.seconds:g} s, call-next {args.calls} calls",
                    flush=True,
                )
                if args.profile:
                    assert server.process is not None
                    path = Path(args.profile)
                    profilers.append(start_profiler(server.process.pid, str(path)))
                    reference_path = path.with_name(f"{path.stem}-reference{path.suffix}")
                    profilers.append(start_profiler(reference.process.pid, str(reference_path)))
                ports = {"nextup": server.port, "reference": reference.port}
                pids = {
                    "nextup": server.process.pid if server.process else None,
                    "reference": reference.process.pid,
                    "redis": embedded.process.pid if embedded and embedded.process else None,
                }
                results = runner.run(measure(args, client, ports, pids, token))
            while profilers:
                stop_profiler(profilers.pop())
            summary(results)
        finally:
            while profilers:
                stop_profiler(profilers.pop())
            if reference:
                reference.stop()
            server.stop()
            client.close()
            if embedded:
                embedded.stop()


if __name__ == "__main__":
    main()
