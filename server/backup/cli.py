"""``nextup backup --out FILE [--branch B] [--encrypt]`` and ``nextup restore FILE [--branch B]``.

Both work on ``--redis-url``, ``NEXTUP_REDIS_URL``, or the embedded Redis of the data directory (the
running server's, else started for the command). What a backup holds and what a restore refuses:
docs/backup.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server import keyring, keys
from server.backup import archive, snapshot
from server.backup.archive import Backup, BackupFileError
from server.backup.snapshot import RestoreRefused
from server.data_dir import PRIVATE_UMASK
from server.embedded_redis import command_redis_url
from server.errors import ConfigError
from server.redis_connect import connect as connect_redis
from server.settings import Settings, load_settings


def add_backup_commands(subparsers: Any) -> None:
    """Register ``backup`` and ``restore`` on the ``nextup`` command's subparsers."""
    b = subparsers.add_parser("backup", help="write a consistent snapshot of the installation or of one branch")
    where = b.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="the backup file to write (mode 0600; an existing file is refused)")
    where.add_argument("--out-dir", help="write nextup-<installation or branch-B>-<UTC time>.nextup in this folder "
                       "(for a timer)")
    b.add_argument("--keep", type=int, default=0, help="with --out-dir: keep only the newest N backups of the "
                   "same scope there, deleting older ones after this one is written (default: keep all)")  # fmt: skip
    b.add_argument("--branch", help="only this branch (with its accounts); default: the whole installation")
    b.add_argument("--encrypt", action="store_true", help="encrypt the file with a key of the installation's "
                   "secrets file (restore then needs that secrets file)")  # fmt: skip
    _common(b)
    b.set_defaults(run=backup)
    r = subparsers.add_parser("restore", help="restore a backup file into an empty Redis (or a branch into an "
                              "installation that lacks it)")  # fmt: skip
    r.add_argument("file", help="a file written by nextup backup")
    r.add_argument("--check", action="store_true", help="only check the file and say what it holds")
    _common(r)
    r.set_defaults(run=restore)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="data directory of the embedded Redis and the secrets file")
    p.add_argument("--redis-url", help="redis:// URL (default: NEXTUP_REDIS_URL, else the embedded Redis)")


def _settings(args: argparse.Namespace) -> Settings:
    os.umask(PRIVATE_UMASK)
    return load_settings(Path(args.data_dir) if args.data_dir else None)


def _installation_secrets(settings: Settings) -> list[bytes]:
    """The phone keys of the secrets file, current first: what backup files are encrypted with (derived)."""
    path = keyring.secrets_path(settings)
    if not path.exists():
        raise ConfigError([f"no secrets file at {path}: an encrypted backup needs the installation's secrets file "
                           "(set NEXTUP_SECRET_KEY_FILE or --data-dir)"])  # fmt: skip
    return [key.key.encode() for key in keyring.read(path).phone]


async def _snapshot(url: str, branch: str | None) -> Backup:
    redis = connect_redis(url, decode_responses=False)
    try:
        if branch is None:
            records = await snapshot.read_installation(redis)
            branches = tuple(await snapshot.branches(redis))
        else:
            records = await snapshot.read_branch(redis, branch)
            branches = (branch,)
            if not any(r.key == keys.config(branch) for r in records):
                raise ConfigError([f"there is no branch {branch!r} in this Redis"])
    finally:
        await redis.aclose()
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return Backup("installation" if branch is None else "branch", branches, created, tuple(records))


def _rotate(folder: Path, scope: str, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups of ``scope`` in ``folder`` (names sort by time); the deleted."""
    found = sorted(folder.glob(f"nextup-{scope}-[0-9]*Z.nextup"))
    old = found[:-keep] if keep > 0 else []
    for path in old:
        path.unlink()
    return old


def backup(args: argparse.Namespace) -> int:
    settings = _settings(args)
    scope = "installation" if args.branch is None else f"branch-{args.branch}"
    if args.keep < 0 or (args.keep and not args.out_dir):
        print("nextup backup: --keep needs --out-dir and a number of 1 or more", file=sys.stderr)
        return 2
    if args.out_dir:
        Path(args.out_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
        out = Path(args.out_dir) / f"nextup-{scope}-{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}.nextup"
    else:
        out = Path(args.out)
    key = archive.backup_key(_installation_secrets(settings)[0]) if args.encrypt else None
    with command_redis_url(args.redis_url or settings.redis_url, settings.data_dir) as url:
        taken = asyncio.run(_snapshot(url, args.branch))
    data = archive.encode(taken, key)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        print(f"nextup backup: {out} exists already; choose a new file name", file=sys.stderr)
        return 1
    with os.fdopen(fd, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    what = "the installation" if args.branch is None else f"branch {args.branch}"
    print(f"Wrote {out}: {what} ({', '.join(taken.branches) or 'no branch'}), {len(taken.records)} keys, "
          f"{len(data):,} bytes{', encrypted' if key else ''}.")  # fmt: skip
    if args.out_dir:
        for path in _rotate(Path(args.out_dir), scope, args.keep):
            print(f"Deleted {path} (keeping the newest {args.keep}).")
    return 0


def _read(path: Path, settings: Settings) -> Backup:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BackupFileError(f"cannot read {path}: {exc.strerror}") from None
    keys = archive.backup_keys(_installation_secrets(settings)) if archive.is_encrypted(data) else []
    return archive.decode(data, keys)


async def _restore(url: str, taken: Backup) -> None:
    redis = connect_redis(url, decode_responses=False)
    try:
        await snapshot.check_target(redis, taken.records, whole=taken.scope == "installation")
        await snapshot.write(redis, taken.records)
    finally:
        await redis.aclose()


def restore(args: argparse.Namespace) -> int:
    settings = _settings(args)
    path = Path(args.file)
    try:
        taken = _read(path, settings)
        what = "an installation" if taken.scope == "installation" else "one branch"
        summary = (f"{path}: {what} ({', '.join(taken.branches) or 'no branch'}) of {taken.created_at}, "
                   f"{len(taken.records)} keys")  # fmt: skip
        if args.check:
            print(f"{summary}: the file is whole.")
            return 0
        with command_redis_url(args.redis_url or settings.redis_url, settings.data_dir) as url:
            asyncio.run(_restore(url, taken))
    except (BackupFileError, RestoreRefused) as exc:
        print(f"nextup restore: {exc}; nothing was restored.", file=sys.stderr)
        return 1
    print(f"Restored {summary}.")
    return 0
