"""``nextup report --from --to [--format json|csv]``: a date range's metrics, on standard output.

It reads Redis directly (``--redis-url``, ``NEXTUP_REDIS_URL``, or the embedded Redis of the data
directory: the running server's when it answers, else started for the report), applies any events
the consumers have not applied yet, and prints the same document as
``GET /api/branches/{branch}/metrics``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

from server.clock import SystemClock
from server.config import Branch, demo_branch, load_config
from server.embedded_redis import command_redis_url
from server.metrics.consumer import apply_pending
from server.metrics.report import MAX_RANGE_DAYS, build_report, to_csv
from server.redis_connect import connect as connect_redis
from server.settings import load_settings


def add_report_command(subparsers: Any) -> None:
    """Register ``report`` on the ``nextup`` command's subparsers."""
    p = subparsers.add_parser("report", help="print the metrics of a date range (JSON or CSV)")
    p.add_argument("--from", dest="first", help="first day, YYYY-MM-DD (default: --to)")
    p.add_argument("--to", dest="last", help="last day, YYYY-MM-DD (default: today in the branch's time zone)")
    p.add_argument("--format", choices=["json", "csv"], default="json")
    p.add_argument("--config", help="branch TOML file (default: the built-in demo branch 'main')")
    p.add_argument("--data-dir", help="data directory of the embedded Redis (default: per-user data folder)")
    p.add_argument("--redis-url", help="redis:// URL (default: NEXTUP_REDIS_URL, else the embedded Redis)")
    p.set_defaults(run=report)


def _day(text: str | None, default: date, name: str) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise SystemExit(f"nextup report: {name} must be a date like 2026-03-01, not {text!r}") from exc


async def _report(redis_url: str, branch: Branch, first: date, last: date) -> dict[str, Any]:
    client = connect_redis(redis_url, decode_responses=True)
    try:
        await apply_pending(client, branch)
        return await build_report(client, branch, first, last, SystemClock().now())
    finally:
        await client.aclose()


def report(args: argparse.Namespace) -> int:
    branch = load_config(Path(args.config)) if args.config else demo_branch()
    today = SystemClock().now().astimezone(branch.zone).date()
    last = _day(args.last, today, "--to")
    first = _day(args.first, last, "--from")
    if first > last or (last - first).days >= MAX_RANGE_DAYS:
        print(f"nextup report: --from must not be after --to, and a report covers at most {MAX_RANGE_DAYS} days",
              file=sys.stderr)  # fmt: skip
        return 2
    settings = load_settings(Path(args.data_dir) if args.data_dir else None)
    with command_redis_url(args.redis_url or settings.redis_url, settings.data_dir) as url:
        document = asyncio.run(_report(url, branch, first, last))
    if args.format == "csv":
        sys.stdout.write(to_csv(document))
    else:
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    return 0
