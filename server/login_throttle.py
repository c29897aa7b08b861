"""Throttling password guessing with delays that grow, never with a lock-out anyone can trigger.

NIST SP 800-63B §5.2.2 asks for rate limiting of failed attempts, not a lock that an attacker can
put on the real user. So failures count against the client's address, not (only) the account:

- Per address, on any account: after ``LOGIN_FREE_FAILURES_PER_ADDRESS`` failures (a hall's staff
  often share one NAT address), and per account from one address after
  ``LOGIN_FREE_FAILURES_PER_ACCOUNT``, each further attempt from that address is refused (429
  ``rate_limited`` with ``Retry-After``) until ``LOGIN_FIRST_DELAY_S`` after the last failure,
  doubling with each further failure up to ``LOGIN_MAX_DELAY_S``. Refused attempts are not hashed
  and do not count. Failures are forgotten ``LOGIN_FAILURES_KEPT_S`` after the last one; a
  successful login from the address clears its failures on that account.
- Per account, against guessing from many addresses: once ``LOGIN_ACCOUNT_FAILURE_LIMIT``
  failures from all addresses fall in one ``LOGIN_ACCOUNT_WINDOW_S`` window, only addresses that
  logged in to the account within ``LOGIN_KNOWN_ADDRESS_S`` may try it until the window ends. The
  real user at their usual desk keeps logging in; a new address waits out the window (at most an
  hour), or an admin resets the password, which starts a new window.

The right password from an address that is not failing works at once, however hard the account is
attacked from elsewhere. The state is in Redis (keys in ``server.keys``), shared by every server
process. The client's address is ``scope["client"]``, the real one behind trusted proxies
(``server.proxies``). ``check`` also gives the attempt's priority at the hashing gate
(``server.hashing_gate``).
"""

from __future__ import annotations

import math
import re
import time

from redis.asyncio import Redis

from server import keys
from server.errors import ApiError
from server.hashing_gate import Priority

#: Usernames that can exist (as ``server.api`` accepts them); others only count against the address.
_ACCOUNT = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def delay_s(failures: int, free: int) -> float:
    """Seconds an address must wait after its last failure, having failed ``failures`` times."""
    if failures < free:
        return 0.0
    return float(min(keys.LOGIN_MAX_DELAY_S, keys.LOGIN_FIRST_DELAY_S * 2 ** min(failures - free, 20)))


def throttled(retry_after_s: int) -> ApiError:
    return ApiError(
        429,
        "rate_limited",
        f"Too many failed logins from this address; try again in {retry_after_s} s",
        retry_after_s=retry_after_s,
    )


class LoginThrottle:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def check(self, username: str, address: str) -> Priority:
        """The attempt's place at the hashing gate; ApiError 429 ``rate_limited`` if its address must wait."""
        now = time.time()
        account = username if _ACCOUNT.match(username) else ""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(keys.login_address_failures(address), ["n", "last_ms"])
            if account:
                pipe.hmget(keys.login_account_address_failures(account, address), ["n", "last_ms"])
                pipe.get(keys.login_failures(account))
                pipe.ttl(keys.login_failures(account))
                pipe.zscore(keys.login_known_addresses(account), address)
            replies = await pipe.execute()
        from_address, on_account, account_failures, window_ttl, known = (
            replies if account else [replies[0], [None, None], None, -2, None]
        )
        wait = max(
            _remaining(from_address, keys.LOGIN_FREE_FAILURES_PER_ADDRESS, now),
            _remaining(on_account, keys.LOGIN_FREE_FAILURES_PER_ACCOUNT, now),
        )
        if int(account_failures or 0) >= keys.LOGIN_ACCOUNT_FAILURE_LIMIT and known is None:
            wait = max(wait, float(window_ttl if int(window_ttl) > 0 else 1))
        if wait > 0:
            raise throttled(max(1, math.ceil(wait)))
        if from_address[0] or on_account[0]:
            return Priority.FAILING
        return Priority.KNOWN if known is not None else Priority.CLEAN

    async def failed(self, username: str, address: str) -> None:
        """Count a wrong password (or unknown account) from ``address``."""
        now_ms = int(time.time() * 1000)
        account = username if _ACCOUNT.match(username) else ""
        counted = [keys.login_address_failures(address)]
        if account:
            counted.append(keys.login_account_address_failures(account, address))
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in counted:
                pipe.hincrby(key, "n", 1)
                pipe.hset(key, "last_ms", now_ms)
                pipe.expire(key, keys.LOGIN_FAILURES_KEPT_S)
            if account:
                # The window starts at the account's first failure and is not extended by later ones.
                pipe.set(keys.login_failures(account), 0, ex=keys.LOGIN_ACCOUNT_WINDOW_S, nx=True)
                pipe.incr(keys.login_failures(account))
            await pipe.execute()

    async def succeeded(self, username: str, address: str) -> None:
        """A right password from ``address``: its failures on the account go, and it becomes known."""
        now_ms = int(time.time() * 1000)
        known = keys.login_known_addresses(username)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.login_account_address_failures(username, address))
            pipe.zadd(known, {address: now_ms})
            pipe.zremrangebyscore(known, 0, now_ms - keys.LOGIN_KNOWN_ADDRESS_S * 1000)
            pipe.zremrangebyrank(known, 0, -keys.LOGIN_KNOWN_ADDRESSES_MAX - 1)
            pipe.expire(known, keys.LOGIN_KNOWN_ADDRESS_S)
            await pipe.execute()


def _remaining(record: list[str | None], free: int, now: float) -> float:
    """Seconds left of the delay a failure record ``[n, last_ms]`` imposes."""
    failures, last_ms = record
    if not failures or not last_ms:
        return 0.0
    return max(0.0, int(last_ms) / 1000 + delay_s(int(failures), free) - now)
