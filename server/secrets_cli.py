"""``nextup secrets init`` and ``nextup secrets rotate``: the secrets file (``server.keyring``)."""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import datetime
from pathlib import Path

from server import keyring
from server.data_dir import PRIVATE_UMASK
from server.errors import ConfigError
from server.redis_connect import connect as connect_redis
from server.settings import Settings, load_settings


def _settings(args: argparse.Namespace) -> Settings:
    os.umask(PRIVATE_UMASK)
    return load_settings(Path(args.data_dir) if args.data_dir else None)


def init(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def initialise() -> tuple[Path, bool]:
        if settings.redis_url is None:
            return await keyring.initialise(settings, None)
        redis = connect_redis(settings.redis_url, decode_responses=True)
        try:
            return await keyring.initialise(settings, redis)
        finally:
            await redis.aclose()

    path, made = asyncio.run(initialise())
    if made:
        print(f"Created {path} (mode 0600). Give this same file to every nextup serve process sharing the Redis "
              f"(NEXTUP_SECRET_KEY_FILE={path}).")  # fmt: skip
    else:
        print(f"{path} exists already; nothing changed.")
    return 0


def rotate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    path = keyring.secrets_path(settings)
    if not path.exists():
        raise ConfigError([f"no secrets file at {path}: `nextup serve` makes it on first start, "
                           f"or `nextup secrets init`"])  # fmt: skip
    grace_s = keyring.signing_grace_s(settings) if args.grace_hours is None else args.grace_hours * 3600
    if grace_s < 0:
        raise ConfigError(["--grace-hours must be 0 or more"])
    phone_grace_s = max(grace_s, keyring.phone_grace_s(settings))
    keyring.replace_file(path, keyring.read(path).rotated(grace_s, phone_grace_s))
    until = datetime.fromtimestamp(time.time() + grace_s).astimezone().isoformat(timespec="minutes")
    print(f"Rotated the token-signing key and the phone-number key in {path}.")
    if settings.secret_key_file is not None:
        print(f"Copy {path} to every machine whose processes share this Redis.")
    print("Restart every nextup serve process: a running process keeps its keys until restarted.")
    print(f"Tokens signed with the previous key are accepted until {until} ({grace_s / 3600:g} h); after that "
          f"staff log in again and kiosks and displays need a new token (pair them again).")  # fmt: skip
    return 0


def add_secrets_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    s = commands.add_parser("secrets", help="the secrets file: token-signing and phone-number keys")
    actions = s.add_subparsers(dest="action", required=True)
    i = actions.add_parser("init", help="create the secrets file (NEXTUP_SECRET_KEY_FILE or <data dir>/secrets.json), "
                           "moving the keys an older version kept in NEXTUP_REDIS_URL's Redis")  # fmt: skip
    r = actions.add_parser("rotate", help="make new current keys; the previous ones stay accepted for a grace period")
    r.add_argument("--grace-hours", type=float, default=None,
                   help="how long tokens signed with the previous key stay valid (default: the people session "
                        "lifetime, 12 h)")  # fmt: skip
    for action, run in ((i, init), (r, rotate)):
        action.add_argument("--data-dir", help="the server's data directory (default: NEXTUP_DATA_DIR or per-user)")
        action.set_defaults(run=run)
