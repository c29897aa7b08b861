"""Benchmark of the wait estimate: a simulated day, each ticket's estimate against its real wait.

The server runs in this process on a real port (``tests.servers.InProcessServer``) with a test
clock; ``nextup simulate``'s day (``server.simulate.Simulation``) runs as a discrete-event
simulation that moves that clock to each event and calls the real HTTP API. Each ticket's
``estimated_wait_s`` when issued is compared with its real wait (``called_at - issued_at``), beside
two simple estimates (people ahead x mean handling time / open counters serving the service): with
the configured handling time (what the API said before) and with the measured recent mean.

Before each ticket is issued the metrics are caught up and the estimate's snapshot refreshed, as
the server's background refresh (every ``REFRESH_S`` seconds) would have done at real speed.

    python -m bench.bench_estimate                     # a busy and a normal day, seeds 1-3
    python -m bench.bench_estimate --day busy --seeds 1
    NEXTUP_REDIS_URL=redis://127.0.0.1:6379/14 python -m bench.bench_estimate   # flushes that db
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import redis

from server import rules
from server.clock import ManualClock
from server.config import demo_branch
from server.context import Context
from server.embedded_redis import EmbeddedRedis
from server.metrics.stats import nearest_rank
from server.settings import Settings
from server.simulate import PROFILES, CounterSim, Simulation
from tests.servers import ADMIN_PASSWORD, InProcessServer

#: A Monday; the simulated day runs on the demo branch's clock in Shanghai.
DAY = datetime(2026, 3, 2, tzinfo=ZoneInfo("Asia/Shanghai"))


class ManualTimeline:
    """Simulated time is the server's test clock: waiting for a moment sets the clock to it."""

    def __init__(self, clock: ManualClock, midnight: datetime) -> None:
        self.clock = clock
        self.midnight = midnight

    async def wait_until(self, at_s: float) -> None:
        self.clock.set((self.midnight + timedelta(seconds=at_s)).astimezone(UTC))


@dataclass
class Record:
    model: float
    naive_configured: float
    naive_measured: float
    real: float | None = None


@dataclass
class Day:
    records: dict[str, Record] = field(default_factory=dict)

    def errors(self, kind: str) -> list[float]:
        return [getattr(r, kind) - r.real for r in self.records.values() if r.real is not None]


def open_serving(counters: dict[str, CounterSim], service: str) -> int:
    return sum(1 for c in counters.values() if c.open and service in c.services)


async def run_day(url: str, token: str, app: Any, clock: ManualClock, day: str, seed: int) -> Day:
    branch = demo_branch()
    ctx: Context = app.state.nextup
    estimator, consumer = ctx.estimator, ctx.metrics
    assert estimator.loop is not None
    loop = estimator.loop
    result = Day()

    async def fresh() -> None:
        await consumer.catch_up()
        await estimator.refresh()

    async def before_issue(_at: float) -> None:
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fresh(), loop))

    async def on_issued(ticket: dict[str, Any], _at: float) -> None:
        if ticket["estimated_wait_s"] is None:
            return  # no counter served it when issued: no minutes were promised, none to compare
        service, ahead = ticket["service"], ticket["ahead"]
        serving = open_serving(simulation.counters, service)
        configured = branch.services[service].average_handling_s
        measured = round(estimator.handling[service].mean_s)
        result.records[ticket["id"]] = Record(
            ticket["estimated_wait_s"],
            rules.estimated_wait_s(ahead, configured, serving),
            rules.estimated_wait_s(ahead, measured, serving),
        )

    async def on_called(ticket: dict[str, Any], _at: float) -> None:
        record = result.records.get(ticket["id"])
        if record is not None and ticket["calls"] == 1:
            waited = datetime.fromisoformat(ticket["called_at"]) - datetime.fromisoformat(ticket["issued_at"])
            record.real = waited.total_seconds()

    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        midnight = DAY + timedelta(days=7 * (seed - 1))  # every run on a Monday of its own
        simulation = Simulation(client, "main", PROFILES[day], ManualTimeline(clock, midnight), seed=seed,
                                idle_check_s=None, before_issue=before_issue, on_issued=on_issued,
                                on_called=on_called)  # fmt: skip
        await simulation.run()
    return result


def summary(errors: list[float]) -> tuple[float, float, float]:
    """Mean absolute error, p90 absolute error (nearest rank) and mean signed error, in seconds."""
    absolute = [abs(e) for e in errors]
    return sum(absolute) / len(absolute), nearest_rank(absolute, 90) or math.nan, sum(errors) / len(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--day", choices=[*sorted(PROFILES), "both"], default="both")
    parser.add_argument("--seeds", type=int, default=3, help="days simulated per profile (seeds 1..n)")
    args = parser.parse_args()
    days = ["busy", "normal"] if args.day == "both" else [args.day]

    with tempfile.TemporaryDirectory() as tmp:
        external = os.environ.get("NEXTUP_REDIS_URL")
        embedded = None if external else EmbeddedRedis(Path(tmp) / "redis")
        redis_url = external or (embedded.start() if embedded else "")
        try:
            rows: list[tuple[str, int, Day, float]] = []
            for day in days:
                for seed in range(1, args.seeds + 1):
                    redis.Redis.from_url(redis_url).flushdb()
                    clock = ManualClock(DAY.astimezone(UTC))
                    settings = Settings(redis_url=None, data_dir=Path(tmp) / "data", admin_password=ADMIN_PASSWORD,
                                        public_url=None)  # fmt: skip
                    started = time.perf_counter()
                    with InProcessServer(settings, demo_branch(), redis_url, clock) as server:
                        login = {"username": "admin", "password": ADMIN_PASSWORD}
                        token = httpx.post(f"{server.url}/api/login", json=login).json()["token"]
                        app = server.server.config.app
                        outcome = asyncio.run(run_day(server.url, token, app, clock, day, seed))
                    rows.append((day, seed, outcome, time.perf_counter() - started))
        finally:
            if embedded:
                embedded.stop()

    print("| day | seed | tickets | mean wait | p90 wait | estimate | MAE | p90 error | mean error |")
    print("|---|---|---|---|---|---|---|---|---|")
    by_profile: dict[tuple[str, str], list[float]] = {}
    for day, seed, outcome, _ in rows:
        real = [r.real for r in outcome.records.values() if r.real is not None]
        mean_wait, p90_wait = sum(real) / len(real), nearest_rank(real, 90) or math.nan
        for label, kind in (("model", "model"), ("naive, configured handling", "naive_configured"),
                            ("naive, measured handling", "naive_measured")):  # fmt: skip
            errors = outcome.errors(kind)
            by_profile.setdefault((day, label), []).extend(errors)
            mae, p90, bias = summary(errors)
            print(f"| {day} | {seed} | {len(real)} | {mean_wait:.0f} s | {p90_wait:.0f} s | {label} | "
                  f"{mae:.0f} s | {p90:.0f} s | {bias:+.0f} s |")  # fmt: skip
    print()
    print("| day | estimate | tickets | MAE | p90 error | mean error |")
    print("|---|---|---|---|---|---|")
    for (day, label), errors in by_profile.items():
        mae, p90, bias = summary(errors)
        print(f"| {day} | {label} | {len(errors)} | {mae:.0f} s | {p90:.0f} s | {bias:+.0f} s |")
    print(f"\n({sum(r[3] for r in rows):.0f} s for {len(rows)} simulated days)")


if __name__ == "__main__":
    main()
