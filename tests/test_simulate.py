"""``nextup simulate``: a synthetic stretch of day driven through a real server's HTTP API."""

from __future__ import annotations

import argparse
import json
import random
import time
from typing import cast

import pytest
import redis

from server.simulate import BUSY, add_simulate_command, handling_time, plan_arrivals
from tests.conftest import Api
from tests.servers import ServerProcess


def parse(argv: list[str]) -> argparse.Namespace:
    root = argparse.ArgumentParser(prog="nextup")
    add_simulate_command(root.add_subparsers(dest="command", required=True))
    return root.parse_args(argv)


def test_arrivals_follow_the_hourly_profile() -> None:
    """Poisson arrivals: about the profile's count per hour, the first services most often."""
    rng = random.Random(7)
    arrivals = plan_arrivals(BUSY, ["A", "B", "C"], rng, 9 * 3600, 17 * 3600)
    days = [plan_arrivals(BUSY, ["A", "B", "C"], random.Random(seed), 9 * 3600, 17 * 3600) for seed in range(40)]
    mean = sum(len(d) for d in days) / len(days)
    assert mean == pytest.approx(sum(BUSY.arrivals_per_hour.values()), rel=0.05)
    assert all(9 * 3600 <= a.at_s < 17 * 3600 for a in arrivals)
    assert [a.at_s for a in arrivals] == sorted(a.at_s for a in arrivals)
    shares = [sum(a.service == s for d in days for a in d) for s in "ABC"]
    assert shares[0] > shares[1] > shares[2]
    handling = [handling_time(BUSY, 1, rng) for _ in range(20_000)]
    assert sum(handling) / len(handling) == pytest.approx(BUSY.handling_mean_s[1], rel=0.03)


@pytest.mark.redis
def test_a_short_simulated_stretch_issues_serves_and_takes_a_break_through_the_api(
    server: ServerProcess, api: Api, redis_client: redis.Redis, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ten simulated minutes at 600x: every ticket issued is called and ended; counter 1 takes its break."""
    args = parse(["simulate", "--server", server.url, "--branch", "main", "--token", api.admin(), "--speed", "600",
                  "--day", "busy", "--seed", "3", "--start", "10:10", "--minutes", "10"])  # fmt: skip
    expected = plan_arrivals(BUSY, ["A", "B", "C"], random.Random(3), 10 * 3600 + 600, 10 * 3600 + 1200)
    assert expected, "the seed must give at least one arrival"
    started = time.monotonic()
    assert args.run(args) == 0
    # Ten simulated minutes at 600x take about a second; far less than real time (600 s).
    assert time.monotonic() - started < 120
    printed = capsys.readouterr().out
    assert f"done: issued {len(expected)}," in printed

    report = api.http.get("/api/branches/main/metrics", headers=api.auth(api.admin())).json()
    totals = report["totals"]
    assert totals["issued"] == len(expected)
    assert totals["served"] + totals["no_shows"] == len(expected)
    assert totals["wait"]["count"] == len(expected)
    assert report["live"]["waiting"] == 0
    entries = cast(list[tuple[str, dict[str, str]]], redis_client.xrange("nextup:{main}:events"))
    kinds = [(fields["type"], json.loads(fields["data"])) for _, fields in entries]
    paused = [data for kind, data in kinds if kind == "counter_paused"]
    assert [(d["counter"], d["reason"]) for d in paused] == [("1", "break")]
    state = api.state()
    assert all(c["status"] == "open" and c["current"] is None for c in state["counters"])


def test_simulate_needs_a_token(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Without --token or NEXTUP_TOKEN it says what is missing and exits 2."""
    monkeypatch.delenv("NEXTUP_TOKEN", raising=False)
    args = parse(["simulate", "--server", "http://127.0.0.1:9"])
    assert args.run(args) == 2
    assert "--token" in capsys.readouterr().err
