"""``nextup report`` prints the metrics of a date range from Redis, applying what was not yet applied."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis

from server.clock import ManualClock
from server.metrics.report_cli import add_report_command
from server.store import QueueStore
from tests.metrics.conftest import HALL, hall, shanghai
from tests.metrics.test_consumer import busy_stretch

pytestmark = pytest.mark.redis


def run_report(argv: list[str]) -> int:
    root = argparse.ArgumentParser(prog="nextup")
    add_report_command(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(argv)
    code: int = args.run(args)
    return code


async def play(redis_url: str) -> None:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        store = QueueStore(client, hall(), ManualClock(shanghai(2026, 3, 2, 9, 0)))
        await store.initialise_counters()
        await busy_stretch(store, 7)
    finally:
        await client.aclose()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "hall.toml"
    path.write_text(HALL, encoding="utf-8")
    return path


def test_report_prints_json_for_the_range(
    redis_url: str, redis_client: redis.Redis, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no server running, the report applies the stream itself and prints the range's figures."""
    asyncio.run(play(redis_url))
    code = run_report(["report", "--from", "2026-03-01", "--to", "2026-03-02", "--config", str(config),
                       "--redis-url", redis_url])  # fmt: skip
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["from"], document["to"]) == ("2026-03-01", "2026-03-02")
    assert [d["day"] for d in document["days"]] == ["2026-03-01", "2026-03-02"]
    assert document["days"][0]["totals"]["issued"] == 0
    assert document["totals"]["issued"] == 7
    assert document["applied_seq"] == document["stream_seq"]


def test_report_prints_csv(
    redis_url: str, redis_client: redis.Redis, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format csv prints the export with a header row."""
    asyncio.run(play(redis_url))
    code = run_report(["report", "--from", "2026-03-02", "--to", "2026-03-02", "--format", "csv",
                       "--config", str(config), "--redis-url", redis_url])  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    branch = next(r for r in rows if r["day"] == "2026-03-02" and r["dimension"] == "branch")
    assert branch["issued"] == "7"


def test_report_refuses_a_reversed_range(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--from after --to is an error with exit code 2."""
    assert run_report(["report", "--from", "2026-03-05", "--to", "2026-03-02", "--config", str(config)]) == 2
    assert "--from must not be after --to" in capsys.readouterr().err
