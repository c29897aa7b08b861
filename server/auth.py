"""Accounts, passwords and login tokens.

Passwords are stored as argon2 hashes. A login token is signed (HMAC-SHA256) with a key from the
secrets file (``server.keyring``), never kept in Redis; checking it costs no Redis round trip on the
hot path. After a rotation, tokens signed with the previous key are accepted until that key retires.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from server import keys
from server.errors import ApiError, forbidden, unauthorized
from server.hashing_gate import GateFull, HashingGate, Priority
from server.login_throttle import LoginThrottle
from server.sessions import Revocations

TOKEN_PREFIX = "nxt1"
#: Verified tokens kept in memory so a request does not recompute the HMAC; bounded.
_CACHE_LIMIT = 50_000

#: argon2id parameters, written out so that a library upgrade cannot change them silently: the
#: argon2-cffi defaults, RFC 9106's second recommended option (3 passes, 64 MiB, 4 lanes). The gate
#: (``server.hashing_gate``) bounds how many run at once.
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 4


class Role(str, Enum):
    #: Configures everything, including accounts.
    ADMIN = "admin"
    #: Sees everything, reactivates no-shows, posts notices; no accounts.
    MANAGER = "manager"
    #: Works at the counters listed on the account.
    STAFF = "staff"
    #: A ticket kiosk (取号机): issues tickets.
    KIOSK = "kiosk"
    #: A lobby display (显示屏): reads the state.
    DISPLAY = "display"


PEOPLE = frozenset({Role.ADMIN, Role.MANAGER, Role.STAFF})
#: Devices in the hall: what they are given is public (no ticket ids).
SCREENS = frozenset({Role.KIOSK, Role.DISPLAY})


@dataclass(frozen=True)
class Identity:
    username: str
    role: Role
    #: The branch the account belongs to; "*" for admins of every branch.
    branch: str
    counters: frozenset[str]
    expires: float
    #: The login session this token belongs to; logging out revokes it.
    session: str = ""

    def require_branch(self, branch: str) -> None:
        if self.branch not in ("*", branch):
            raise forbidden(f"This account does not belong to branch {branch}")

    def require_role(self, *roles: Role) -> None:
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise forbidden(f"A {self.role.value} account cannot do this; it needs one of: {allowed}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(
        self, secret: bytes, revocations: Revocations | None = None, previous: Sequence[tuple[bytes, float]] = ()
    ) -> None:
        #: The current key: every token and CSRF token is signed with it.
        self._secret = secret
        #: (key, retire_at) of keys replaced by a rotation: their tokens count until retire_at.
        self._previous = tuple(previous)
        self._verified: dict[str, Identity] = {}
        self.revocations = revocations

    def issue(self, identity: Identity) -> str:
        payload = {
            "sub": identity.username,
            "role": identity.role.value,
            "branch": identity.branch,
            "counters": sorted(identity.counters),
            "exp": int(identity.expires),
            "sid": identity.session or secrets.token_urlsafe(12),
        }
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        return f"{TOKEN_PREFIX}.{body}.{self._sign(body)}"

    def csrf_token(self, identity: Identity) -> str:
        """The anti-CSRF token of a cookie session: pages send it back in ``X-CSRF-Token``."""
        return self._sign(f"csrf:{identity.session}")

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())

    def verify(self, token: str) -> Identity:
        identity = self._verified.get(token)
        if identity is None:
            identity = self._decode(token)
            if len(self._verified) >= _CACHE_LIMIT:
                self._verified.clear()
            self._verified[token] = identity
        if identity.expires < time.time():
            raise unauthorized("The token has expired; log in again")
        if self.revocations and self.revocations.is_revoked(identity.session):
            raise unauthorized("This session has ended (logged out); log in again")
        return identity

    def _decode(self, token: str) -> Identity:
        if not token.isascii():
            # Tokens we issue are ASCII; comparing the signature of anything else would raise.
            raise unauthorized("The token is invalid; log in again")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise unauthorized("The token is not a NextUp token; log in again")
        valid_until = self._signed_until(parts[1], parts[2])
        try:
            payload = json.loads(_unb64(parts[1]))
            return Identity(
                username=str(payload["sub"]),
                role=Role(payload["role"]),
                branch=str(payload["branch"]),
                counters=frozenset(str(c) for c in payload["counters"]),
                # A token of a replaced key expires when the key retires, cached or not.
                expires=min(float(payload["exp"]), valid_until),
                session=str(payload["sid"]),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise unauthorized("The token is invalid; log in again") from exc

    def _signed_until(self, body: str, signature: str) -> float:
        """Until when the key that made ``signature`` is accepted; 401 when no accepted key made it."""
        if hmac.compare_digest(self._sign(body), signature):
            return math.inf
        for key, retire_at in self._previous:
            expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
            if hmac.compare_digest(expected, signature) and time.time() < retire_at:
                return retire_at
        raise unauthorized("The token is invalid; log in again")


def password_hasher() -> PasswordHasher:
    return PasswordHasher(
        time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM,
        hash_len=32, salt_len=16,
    )  # fmt: skip


class Accounts:
    def __init__(self, redis: Redis, gate: HashingGate | None = None) -> None:
        self.redis = redis
        self.hasher = password_hasher()
        #: Every hash goes through it: bounded, in its own threads, trusted logins first.
        self.gate = gate or HashingGate(lanes=ARGON2_PARALLELISM)
        self.throttle = LoginThrottle(redis)

    async def create(
        self, username: str, password: str, role: Role, branch: str, counters: list[str], *, only_if_new: bool
    ) -> bool:
        """Store an account; with ``only_if_new`` an existing account is left alone (returns False)."""
        hashed = await self.gate.run(Priority.KNOWN, self.hasher.hash, password)
        key = keys.user(username)
        if only_if_new:
            if not await self.redis.hsetnx(key, "password_hash", hashed):
                return False
        else:
            await self.redis.hset(key, "password_hash", hashed)
        await self.redis.hset(
            key, mapping={"role": role.value, "branch": branch, "counters": ",".join(counters), "disabled": "0"}
        )
        await self.redis.sadd(keys.users(), username)
        return True

    async def list_accounts(self) -> list[dict[str, object]]:
        usernames = sorted(str(u) for u in await self.redis.smembers(keys.users()))
        async with self.redis.pipeline(transaction=False) as pipe:
            for username in usernames:
                pipe.hmget(keys.user(username), ["role", "branch", "counters", "disabled"])
            records = await pipe.execute()
        return [
            {
                "username": username,
                "role": role,
                "branch": branch,
                "counters": [c for c in str(counters or "").split(",") if c],
                "disabled": disabled == "1",
            }
            for username, (role, branch, counters, disabled) in zip(usernames, records, strict=True)
            if role
        ]

    async def account(self, username: str) -> dict[str, object] | None:
        """One account as ``list_accounts`` shows it; None when there is none."""
        role, branch, counters, disabled = await self.redis.hmget(
            keys.user(username), ["role", "branch", "counters", "disabled"]
        )
        if not role:
            return None
        return {
            "username": username,
            "role": role,
            "branch": branch,
            "counters": [c for c in str(counters or "").split(",") if c],
            "disabled": disabled == "1",
        }

    async def exists(self, username: str) -> bool:
        return bool(await self.redis.exists(keys.user(username)))

    async def update(
        self,
        username: str,
        *,
        password: str | None = None,
        disabled: bool | None = None,
        counters: list[str] | None = None,
    ) -> None:
        fields: dict[Any, Any] = {}
        if password is not None:
            fields["password_hash"] = await self.gate.run(Priority.KNOWN, self.hasher.hash, password)
        if disabled is not None:
            fields["disabled"] = "1" if disabled else "0"
        if counters is not None:
            fields["counters"] = ",".join(counters)
        if fields:
            await self.redis.hset(keys.user(username), mapping=fields)
        if password is not None or disabled is False:
            await self.redis.delete(keys.login_failures(username))

    async def authenticate(self, username: str, password: str, address: str) -> tuple[Role, str, frozenset[str]]:
        """Check a password from a client ``address``, throttled by ``login_throttle`` before any hashing."""
        priority = await self.throttle.check(username, address)
        record = await self.redis.hgetall(keys.user(username))
        ok = False
        try:
            if record and record.get("disabled") != "1" and "role" in record:
                try:
                    ok = await self.gate.run(priority, self.hasher.verify, record["password_hash"], password)
                except (VerificationError, InvalidHashError):
                    ok = False
            else:
                # Hash anyway so that a missing account takes as long as a wrong password.
                await self.gate.run(priority, self.hasher.hash, password)
        except GateFull as exc:
            raise ApiError(
                429, "rate_limited", "Too many logins are being checked right now; try again in a second",
                retry_after_s=1,
            ) from exc
        if not ok:
            await self.throttle.failed(username, address)
            raise unauthorized("Wrong username or password")
        await self.throttle.succeeded(username, address)
        counters = frozenset(str(c) for c in str(record.get("counters", "")).split(",") if c)
        return Role(record["role"]), str(record.get("branch", "")), counters


def _write_secret_file(path: Path, secret: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


async def bootstrap_admin(accounts: Accounts, data_dir: Path, password: str | None) -> str | None:
    """Create the first admin. Returns the generated password when one was made (shown once)."""
    if await accounts.exists("admin"):
        return None  # the usual start: no need to spend a slow hash
    generated = password is None
    chosen = password or secrets.token_urlsafe(12)
    if not await accounts.create("admin", chosen, Role.ADMIN, "*", [], only_if_new=True):
        return None
    if not generated:
        return None
    await asyncio.to_thread(_write_secret_file, data_dir / "admin-password.txt", chosen)
    return chosen
