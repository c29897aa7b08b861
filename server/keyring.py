"""The secrets file: the keys login tokens are signed with and complaint phone numbers are encrypted with.

The keys live in one JSON file, mode 0600, outside Redis: ``<data dir>/secrets.json``, or the file
every process is given with ``NEXTUP_SECRET_KEY_FILE`` when several share one Redis. A copy of
Redis (or of its append-only file) thus reveals no key. The file::

    {"signing_keys": [{"key": "<64 hex>", "created": 1767225600, "retire_at": null}, ...],
     "phone_keys":   [{"key": "<Fernet key>", "created": 1767225600, "retire_at": null}, ...]}

The first key of each list is the current one (``retire_at`` null); the others are keys of before a
rotation, still accepted (tokens) or still able to decrypt (phone numbers) until ``retire_at``.

Start-up (``load``) refuses a file other users could read, creates the default one on first start,
and moves the keys older versions kept in Redis (``keys.signing_secret``, ``keys.feedback_secret``)
into the file, then deletes them from Redis.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from redis.asyncio import Redis

from server import keys
from server.errors import ConfigError
from server.settings import Settings

#: Name of the secrets file in the data directory when NEXTUP_SECRET_KEY_FILE is not given.
DEFAULT_NAME = "secrets.json"


@dataclass(frozen=True)
class Key:
    #: Hex (signing) or a urlsafe-base64 Fernet key (phone numbers).
    key: str
    #: Unix time the key was made (or moved in from Redis).
    created: int
    #: Unix time after which the key is no longer accepted; None for the current key.
    retire_at: int | None = None

    def usable(self, now: float) -> bool:
        return self.retire_at is None or now < self.retire_at


@dataclass(frozen=True)
class Keyring:
    #: Token-signing keys, current first.
    signing: tuple[Key, ...]
    #: Complaint-phone encryption keys, current first.
    phone: tuple[Key, ...]
    #: Where the keyring was read from (not part of the file).
    path: Path = field(default=Path(), compare=False)

    @classmethod
    def new(cls, signing: str | None = None, phone: str | None = None) -> Keyring:
        now = int(time.time())
        return cls(
            signing=(Key(signing or secrets.token_hex(32), now),),
            phone=(Key(phone or Fernet.generate_key().decode(), now),),
        )

    @property
    def signing_key(self) -> bytes:
        return bytes.fromhex(self.signing[0].key)

    def previous_signing_keys(self, now: float | None = None) -> list[tuple[bytes, float]]:
        """(key, retire_at) of each earlier signing key not retired yet."""
        moment = time.time() if now is None else now
        return [(bytes.fromhex(k.key), float(k.retire_at or 0)) for k in self.signing[1:] if k.usable(moment)]

    def phone_keys(self, now: float | None = None) -> list[bytes]:
        """Every usable phone key, current first."""
        moment = time.time() if now is None else now
        return [k.key.encode() for k in self.phone if k.usable(moment)]

    def rotated(self, signing_grace_s: float, phone_grace_s: float, now: float | None = None) -> Keyring:
        """A new current key of each kind; the old current ones retire after their grace; retired ones go."""
        moment = int(time.time() if now is None else now)
        fresh = Keyring.new()
        return replace(
            self,
            signing=(fresh.signing[0], *_retire(self.signing, moment + int(signing_grace_s), moment)),
            phone=(fresh.phone[0], *_retire(self.phone, moment + int(phone_grace_s), moment)),
        )

    def adopting(self, signing: str | None, phone: str | None, signing_grace_s: float, phone_grace_s: float,
                 now: float | None = None) -> Keyring:
        """The keyring with keys found elsewhere (old Redis keys) added as earlier keys, unless already in it."""
        moment = int(time.time() if now is None else now)
        result = self
        if signing and all(k.key != signing for k in self.signing):
            result = replace(result, signing=(*result.signing, Key(signing, moment, moment + int(signing_grace_s))))
        if phone and all(k.key != phone for k in self.phone):
            result = replace(result, phone=(*result.phone, Key(phone, moment, moment + int(phone_grace_s))))
        return result

    def to_json(self) -> str:
        return json.dumps(
            {"signing_keys": [_key_json(k) for k in self.signing], "phone_keys": [_key_json(k) for k in self.phone]},
            indent=2,
        ) + "\n"


def _retire(old: tuple[Key, ...], retire_at: int, now: int) -> list[Key]:
    kept = [k if k.retire_at is not None else replace(k, retire_at=retire_at) for k in old]
    return [k for k in kept if k.usable(now)]


def _key_json(key: Key) -> dict[str, Any]:
    return {"key": key.key, "created": key.created, "retire_at": key.retire_at}


# ---- The file ----------------------------------------------------------------------------------


def secrets_path(settings: Settings) -> Path:
    """The secrets file of these settings: NEXTUP_SECRET_KEY_FILE, else ``<data dir>/secrets.json``."""
    return settings.secret_key_file or settings.data_dir / DEFAULT_NAME


def access_problem(path: Path) -> str | None:
    """Why other users could read ``path`` (with the fix), or None when only its owner, this user, can."""
    info = path.stat()
    if info.st_uid != os.getuid():
        return (f"secrets file {path} belongs to user id {info.st_uid}, not to this user ({os.getuid()}): "
                f"run the server as its owner, or chown it and chmod 600 {path}")  # fmt: skip
    if info.st_mode & 0o077:
        return (f"secrets file {path} is readable or writable by other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}): run chmod 600 {path}")  # fmt: skip
    return None


def read(path: Path) -> Keyring:
    """The keyring in ``path``; ConfigError when others could read it or it is not a keyring."""
    problem = access_problem(path)
    if problem:
        raise ConfigError([problem])
    try:
        data = json.loads(path.read_text())
        signing = tuple(_key(item, hexadecimal=True) for item in data["signing_keys"])
        phone = tuple(_key(item, hexadecimal=False) for item in data["phone_keys"])
        if not signing or not phone or signing[0].retire_at is not None or phone[0].retire_at is not None:
            raise ValueError("the first key of each list must be current (retire_at null)")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError([f"secrets file {path} cannot be read: {exc}"]) from exc
    return Keyring(signing, phone, path)


def _key(item: dict[str, Any], *, hexadecimal: bool) -> Key:
    key = str(item["key"])
    if hexadecimal:
        bytes.fromhex(key)
    else:
        Fernet(key.encode())
    retire_at = item.get("retire_at")
    return Key(key, int(item.get("created", 0)), None if retire_at is None else int(retire_at))


def _write_temporary(path: Path, keyring: Keyring) -> Path:
    """``keyring`` in a new 0600 file next to ``path``, synced to disk."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(keyring.to_json())
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create(path: Path, keyring: Keyring) -> bool:
    """Write ``keyring`` to ``path`` unless the file exists (then False). Never leaves a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _write_temporary(path, keyring)
    try:
        # link() fails if the name exists: of two processes creating the file at once, one wins
        # and the other reads the winner's keys.
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    _sync_directory(path.parent)
    return True


def replace_file(path: Path, keyring: Keyring) -> None:
    """Write ``keyring`` over ``path`` atomically (readers see the old file or the new one)."""
    os.replace(_write_temporary(path, keyring), path)
    _sync_directory(path.parent)


# ---- Start-up ----------------------------------------------------------------------------------


def signing_grace_s(settings: Settings) -> float:
    """How long a replaced signing key keeps verifying tokens by default: a people session's lifetime."""
    return float(settings.session_ttl_s)


def phone_grace_s(settings: Settings) -> float:
    """How long a replaced phone key keeps decrypting: until the numbers it encrypted are erased anyway."""
    return settings.phone.complaint_phone_days * 86400


async def _legacy_keys(redis: Redis) -> tuple[str | None, str | None]:
    """The signing and phone keys an older version kept in Redis, if it still holds them."""
    signing, phone = (
        value.decode() if isinstance(value, bytes) else value
        for value in await redis.mget(keys.signing_secret(), keys.feedback_secret())
    )
    return signing, phone


async def load(settings: Settings, redis: Redis) -> Keyring:
    """The keyring of this process; after it returns, Redis holds no key.

    The default file is created on first start, with the keys an older version kept in Redis if
    there are any (so tokens and stored phone numbers keep working). A file given with
    NEXTUP_SECRET_KEY_FILE must exist: it is shared, and each process making its own would split
    the keys (``nextup secrets init`` makes it).
    """
    path = secrets_path(settings)
    legacy_signing, legacy_phone = await _legacy_keys(redis)
    if not path.exists():
        if settings.secret_key_file is not None:
            raise ConfigError([
                f"secrets file {path} (NEXTUP_SECRET_KEY_FILE) does not exist: create it once with "
                f"`nextup secrets init`, then give the same file to every process sharing this Redis"
            ])  # fmt: skip
        create(path, Keyring.new(legacy_signing, legacy_phone))
    keyring = read(path)
    if legacy_signing is not None or legacy_phone is not None:
        adopted = keyring.adopting(legacy_signing, legacy_phone, signing_grace_s(settings), phone_grace_s(settings))
        if adopted != keyring:
            replace_file(path, adopted)
            keyring = read(path)
        await redis.delete(keys.signing_secret(), keys.feedback_secret())
    return keyring


async def initialise(settings: Settings, redis: Redis | None) -> tuple[Path, bool]:
    """Create the secrets file of ``settings`` (``nextup secrets init``) with the keys an older version
    kept in ``redis``, if any. Returns the file and whether it was made now (False: it existed).
    """
    path = secrets_path(settings)
    legacy_signing, legacy_phone = (None, None) if redis is None else await _legacy_keys(redis)
    made = create(path, Keyring.new(legacy_signing, legacy_phone))
    read(path)
    return path, made


def check(settings: Settings) -> str | None:
    """The secrets file's problem (``nextup check-config``), or None when it is fine or not made yet."""
    path = secrets_path(settings)
    if not path.exists():
        if settings.secret_key_file is not None:
            return f"secrets file {path} (NEXTUP_SECRET_KEY_FILE) does not exist: create it with `nextup secrets init`"
        return None
    try:
        read(path)
    except ConfigError as exc:
        return str(exc)
    return None
