"""``nextup migrate``: bring the data in Redis to this release's format version (``server.migrations``)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path
from typing import Any

from server import migrations
from server.data_dir import PRIVATE_UMASK
from server.embedded_redis import command_redis_url
from server.redis_connect import connect as connect_redis
from server.settings import load_settings


def add_migrate_command(subparsers: Any) -> None:
    m = subparsers.add_parser("migrate", help="bring the data in Redis to this release's format version (after "
                              "an upgrade, with the servers stopped)")  # fmt: skip
    m.add_argument("--data-dir", help="data directory of the embedded Redis and the secrets file")
    m.add_argument("--redis-url", help="redis:// URL (default: NEXTUP_REDIS_URL, else the embedded Redis)")
    m.set_defaults(run=migrate)


async def check_data_version(redis_url: str) -> None:
    """``migrations.check`` on its own connection: ``nextup serve`` runs it before it starts serving."""
    redis = connect_redis(redis_url, decode_responses=True)
    try:
        await migrations.check(redis)
    finally:
        await redis.aclose()


def migrate(args: argparse.Namespace) -> int:
    os.umask(PRIVATE_UMASK)
    settings = load_settings(Path(args.data_dir) if args.data_dir else None)

    async def run(url: str) -> int:
        redis = connect_redis(url, decode_responses=True)
        try:
            return await migrations.migrate(redis, settings)
        finally:
            await redis.aclose()

    with command_redis_url(args.redis_url or settings.redis_url, settings.data_dir) as url:
        asyncio.run(run(url))
    return 0
