"""The data-format version of an installation's Redis, and ``nextup migrate``, which brings it up to date.

``keys.data_version()`` holds the version of the data. A server starts only on data of its own
version (``check``): it stamps an empty Redis with it, and refuses older data (run ``nextup
migrate``) and newer data (made by a newer NextUp: upgrade this one). A Redis that holds accounts
but no version is the previous release's data, version 0.

Each migration takes the data from one version to the next, is safe to run again after a crash
halfway (it only fills in what is missing), and runs while no other ``nextup migrate`` does (a lock
key). Upgrading several processes: stop them, back up (``nextup backup``), ``nextup migrate`` once,
start the new release. The data-format history is in docs/backup.md (Upgrades).
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis

from server import keyring, keys
from server.errors import NextUpError
from server.settings import Settings

#: The version of the data this release writes.
CURRENT = 1
#: How long a ``nextup migrate`` may hold the lock before another may take it (a crashed one).
LOCK_TTL_S = 3_600


class DataVersionError(NextUpError):
    """The data in Redis is not of this release's version; the message says what to do."""


async def data_version(redis: Redis) -> int | None:
    """The data's version; None for a Redis without NextUp data (no version and no account)."""
    stamped = await redis.get(keys.data_version())
    if stamped is not None:
        return int(stamped)
    return 0 if await redis.exists(keys.users()) else None


async def check(redis: Redis) -> None:
    """Stamp an empty Redis with ``CURRENT``; raise ``DataVersionError`` for data of another version."""
    version = await data_version(redis)
    if version is None:
        await redis.set(keys.data_version(), CURRENT, nx=True)
        version = await data_version(redis)
    if version is not None and version < CURRENT:
        raise DataVersionError(
            f"the data in Redis is of format version {version}, older than this release's {CURRENT}: "
            "back it up (nextup backup), then run `nextup migrate` once, and start again"
        )
    if version is not None and version > CURRENT:
        raise DataVersionError(
            f"the data in Redis is of format version {version}, made by a newer NextUp than this one (which "
            f"reads version {CURRENT}): run the newer release"
        )


# ---- Migrations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Migration:
    #: The version the data has after it.
    to_version: int
    #: What it does, for the operator.
    summary: str
    run: Callable[[Redis, Settings], Awaitable[None]]


def _with_calls(tallies: dict[str, Any]) -> dict[str, Any]:
    """Tallies with ``calls|X`` filled from ``called|X`` where missing (a ticket's first call was then
    the only call counted)."""
    filled = dict(tallies)
    for name, value in tallies.items():
        measure, _, dim = name.partition("|")
        if measure == "called" and f"calls|{dim}" not in tallies:
            filled[f"calls|{dim}"] = value
    return filled


def _summary_with_calls(summary: Any) -> Any:
    if isinstance(summary, dict):
        filled = {k: _summary_with_calls(v) for k, v in summary.items()}
        if "called" in filled and "calls" not in filled:
            filled["calls"] = filled["called"]
        return filled
    return summary


async def _to_1(redis: Redis, settings: Settings) -> None:
    """The release of 2026-11-28: secrets leave Redis; metrics count every call (``calls``)."""
    await keyring.load(settings, redis)  # moves nextup:signing_secret / feedback_secret into the file
    async for key in redis.scan_iter(match=keys.metrics_day_tally("*", "*"), count=1_000):
        tallies = cast(dict[str, str], await redis.hgetall(key))
        missing = [part for k, v in _with_calls(tallies).items() if k not in tallies for part in (k, v)]
        if missing:
            await redis.hset(key, items=missing)
    async for key in redis.scan_iter(match=keys.metrics_rollup("*", "*"), count=1_000):
        raw = await redis.get(key)
        if raw is None:
            continue
        rollup = json.loads(raw)
        if any(name.startswith("calls|") for name in rollup.get("tallies", {})):
            continue
        rollup["tallies"] = _with_calls(rollup.get("tallies", {}))
        rollup["summary"] = _summary_with_calls(rollup.get("summary", {}))
        await redis.set(key, json.dumps(rollup, separators=(",", ":"), ensure_ascii=False))


MIGRATIONS = (
    Migration(1, "move the token-signing and phone-number keys out of Redis into the secrets file; "
                 "count calls in the metrics of past days (as many as first calls)", _to_1),
)  # fmt: skip


async def migrate(redis: Redis, settings: Settings, report: Callable[[str], None] = print) -> int:
    """Run every migration the data needs, in order; the version it ends at."""
    version = await data_version(redis)
    if version is None:
        await redis.set(keys.data_version(), CURRENT, nx=True)
        report(f"No NextUp data in this Redis: marked it as format version {CURRENT}.")
        return CURRENT
    if version > CURRENT:
        raise DataVersionError(f"the data is of format version {version}, newer than this release's {CURRENT}")
    if version == CURRENT:
        report(f"The data is of format version {CURRENT} already: nothing to do.")
        return CURRENT
    owner = f"{os.uname().nodename}:{os.getpid()}"
    if not await redis.set(keys.migration_lock(), owner, nx=True, ex=LOCK_TTL_S):
        holder = await redis.get(keys.migration_lock())
        raise DataVersionError(f"another nextup migrate is running ({holder!s}); wait for it to finish")
    try:
        for migration in MIGRATIONS:
            if migration.to_version <= version:
                continue
            report(f"Format version {version} -> {migration.to_version}: {migration.summary} ...")
            await migration.run(redis, settings)
            await redis.set(keys.data_version(), migration.to_version)
            version = migration.to_version
        report(f"Done: the data is of format version {version}.")
        return version
    finally:
        await redis.delete(keys.migration_lock())
