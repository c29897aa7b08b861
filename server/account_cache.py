"""Every token checked against its account as it is now, without a Redis round trip per request.

A token's signature proves who it was issued to; ``AccountCache.check`` adds that the account still
exists, is enabled and has the token's role and branch. The records are kept in memory: a record is
loaded from Redis the first time it is needed (concurrent misses share one load, and a missing
account is remembered as missing), and dropped when the account changes.

Every change of an account goes through ``changed``: it drops the local copy at once and publishes
the username on ``keys.ACCOUNTS_CHANNEL``, so every process drops its copy within milliseconds. The
channel is subscribed before anything is loaded, so no change can fall between a load and the
subscription; a load that an invalidation overtakes returns its result to the request that asked
but is not kept. While the channel is down (and after it comes back) nothing cached is trusted:
the cache is cleared and, until the subscription is back, every check reads Redis.

Open websockets ``watch`` their account and session: a change of the account or the end of the
session wakes them so they check again at once (``socket_session.TokenWatch``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from redis.asyncio import Redis

from server import keys
from server.auth import Identity
from server.background import ChannelFollower
from server.errors import unauthorized

log = logging.getLogger("nextup.accounts")

#: Records kept in memory at most; beyond it the cache starts again empty (usernames are few).
CACHE_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """What a token is checked against: the account's role, branch and whether it is disabled."""

    role: str
    branch: str
    disabled: bool


class AccountCache:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        #: username -> its record, or None for an account that does not exist.
        self._records: dict[str, AccountRecord | None] = {}
        self._loading: dict[str, asyncio.Task[AccountRecord | None]] = {}
        #: Bumped by every invalidation: a load that started before one is not kept.
        self._generation = 0
        #: False while the channel is down: then nothing is cached.
        self._live = False
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._channel = ChannelFollower(
            redis, keys.ACCOUNTS_CHANNEL, "account", self._changed, on_joined=self._trust, on_lost=self._distrust,
            logger=log,
        )  # fmt: skip

    async def start(self) -> None:
        await self._channel.start()

    async def stop(self) -> None:
        await self._channel.stop()

    async def check(self, identity: Identity) -> None:
        """Raise 401 unless the token's account exists, is enabled and has the token's role and branch."""
        record = await self.record(identity.username)
        if record is None:
            raise unauthorized("This account does not exist; log in again")
        if record.disabled:
            raise unauthorized("This account is disabled")
        if record.role != identity.role.value or record.branch != identity.branch:
            raise unauthorized("This account has changed since the token was issued; log in again")

    async def record(self, username: str) -> AccountRecord | None:
        if username in self._records:
            return self._records[username]
        loading = self._loading.get(username)
        if loading is None:
            # The generation as the load is decided, not as its task first runs: a change in between
            # must keep it out of the cache too.
            loading = asyncio.create_task(self._load(username, self._generation))
            self._loading[username] = loading
        # Shielded: a request that gives up must not cancel the load others are waiting for.
        return await asyncio.shield(loading)

    async def _load(self, username: str, generation: int) -> AccountRecord | None:
        try:
            role, branch, disabled = await self.redis.hmget(keys.user(username), ["role", "branch", "disabled"])
        finally:
            if self._loading.get(username) is asyncio.current_task():
                del self._loading[username]
        record = None if not role else AccountRecord(str(role), str(branch or ""), disabled == "1")
        if self._live and generation == self._generation:
            if len(self._records) >= CACHE_LIMIT:
                self._records.clear()
            self._records[username] = record
        return record

    async def changed(self, username: str) -> None:
        """Call after writing an account: every process (this one at once) reads it again."""
        self._forget(username)
        await self.redis.publish(keys.ACCOUNTS_CHANNEL, username)

    def _forget(self, username: str) -> None:
        self._generation += 1
        self._records.pop(username, None)
        # Later requests must not join a load that may have read the old record.
        self._loading.pop(username, None)
        self._wake(username)

    def _forget_all(self) -> None:
        self._generation += 1
        self._records.clear()
        self._loading.clear()
        for events in list(self._watchers.values()):
            for event in events:
                event.set()

    def session_ended(self, session_id: str) -> None:
        """Wake the sockets of a session that was just revoked (``Revocations`` calls this)."""
        self._wake(f"session:{session_id}")

    def _wake(self, name: str) -> None:
        for event in self._watchers.get(name, ()):
            event.set()

    @contextlib.contextmanager
    def watch(self, identity: Identity, event: asyncio.Event) -> Iterator[None]:
        """Set ``event`` whenever the account or the session of ``identity`` changes, until the block ends."""
        names = (identity.username, f"session:{identity.session}")
        for name in names:
            self._watchers.setdefault(name, set()).add(event)
        try:
            yield
        finally:
            for name in names:
                watchers = self._watchers.get(name)
                if watchers is not None:
                    watchers.discard(event)
                    if not watchers:
                        del self._watchers[name]

    async def _changed(self, username: str) -> None:
        self._forget(username)

    def _distrust(self) -> None:
        # Changes published while the channel is down are lost: trust nothing cached.
        self._live = False
        self._forget_all()

    async def _trust(self) -> None:
        # Subscribed (again): what was loaded while the channel was down may be stale.
        self._forget_all()
        self._live = True
