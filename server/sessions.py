"""Logged-out sessions, known to every server process without a Redis round trip per request.

Logging out records the token's session id in Redis and publishes it; each process keeps the
revoked ids in memory, loaded at start and updated from the channel. Between the publish and its
arrival (milliseconds) another process may still accept the token once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from server import keys
from server.background import RETRYABLE, ChannelFollower

log = logging.getLogger("nextup.sessions")


class Revocations:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self.revoked: dict[str, float] = {}
        # Subscribed first, then loaded: a revocation published in between is seen either way.
        # A malformed message (ValueError) reloads them all.
        self._channel = ChannelFollower(
            redis, keys.REVOCATIONS_CHANNEL, "revocation", self._revoked, on_joined=self._load,
            on_idle=self._prune, retry_on=(*RETRYABLE, ValueError), logger=log,
        )  # fmt: skip
        #: Called with each revoked session id as its message arrives (open sockets close at once).
        self.listeners: list[Callable[[str], object]] = []

    def is_revoked(self, session_id: str) -> bool:
        return session_id in self.revoked

    async def revoke(self, session_id: str, expires: float) -> None:
        self.revoked[session_id] = expires
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.revoked_sessions(), {session_id: expires})
            pipe.zremrangebyscore(keys.revoked_sessions(), "-inf", time.time())
            pipe.publish(keys.REVOCATIONS_CHANNEL, f"{session_id} {expires}")
            await pipe.execute()

    async def remember(self, username: str, session_id: str, expires: float) -> None:
        """Record a new session of an account, so that disabling the account can end it."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(keys.user_sessions(username), {session_id: expires})
            pipe.zremrangebyscore(keys.user_sessions(username), "-inf", time.time())
            pipe.expireat(keys.user_sessions(username), int(expires) + 1)
            await pipe.execute()

    async def revoke_user(self, username: str) -> int:
        """End every live session of an account; returns how many."""
        entries: list[Any] = await self.redis.zrangebyscore(
            keys.user_sessions(username), time.time(), "+inf", withscores=True
        )
        for session_id, expires in entries:
            await self.revoke(str(session_id), float(expires))
        return len(entries)

    async def start(self) -> None:
        await self._channel.start()

    async def _load(self) -> None:
        entries: list[Any] = await self.redis.zrangebyscore(
            keys.revoked_sessions(), time.time(), "+inf", withscores=True
        )
        for member, score in entries:
            self.revoked[str(member)] = float(score)

    async def _revoked(self, data: str) -> None:
        session_id, _, expires = data.partition(" ")
        self.revoked[session_id] = float(expires or 0)
        for listener in self.listeners:
            listener(session_id)

    def _prune(self) -> None:
        now = time.time()
        for session_id in [s for s, exp in self.revoked.items() if exp < now]:
            del self.revoked[session_id]

    async def stop(self) -> None:
        await self._channel.stop()
