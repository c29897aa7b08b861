"""Every Redis key NextUp uses, in one place.

All keys of one branch share the hash tag ``{branch}`` so that every script touching one branch runs
on one Redis Cluster slot. Scripts receive ``branch_prefix(branch)`` and build ticket keys from it
with the same layout as ``ticket`` below (see ``lua/common.lua``); ``tests/test_keys.py`` checks
that both agree.
"""

from __future__ import annotations

#: Root of every key, so a shared Redis can tell NextUp's keys apart.
ROOT = "nextup"

#: Approximate length the event stream of a branch is trimmed to (XADD MAXLEN ~). At a busy
#: branch's ~4,000 events a day this keeps weeks of events for consumers that were away.
EVENT_STREAM_MAXLEN = 200_000

#: How many recent calls the state keeps for the lobby display's "last calls" list.
RECENT_CALLS = 10

#: How long an idempotency key of a ticket request is remembered, in seconds.
IDEMPOTENCY_TTL_S = 24 * 3600


def branch_prefix(branch: str) -> str:
    """Prefix of every key of one branch: ``nextup:{main}:``."""
    return f"{ROOT}:{{{branch}}}:"


def ticket(branch: str, ticket_id: str) -> str:
    """Hash: one ticket's fields (number, service, status, times, counter ...)."""
    return f"{branch_prefix(branch)}ticket:{ticket_id}"


def queue(branch: str, service: str, priority: bool) -> str:
    """Sorted set: waiting ticket ids of one service and class, scored by their place in line."""
    return f"{branch_prefix(branch)}queue:{service}:{'priority' if priority else 'regular'}"


def counter(branch: str, counter_id: str) -> str:
    """Hash: a counter's status, pause reason, current ticket id and priority streak."""
    return f"{branch_prefix(branch)}counter:{counter_id}"


def numbering(branch: str, day: str) -> str:
    """Hash: service -> last number issued on that business day (YYYY-MM-DD, branch time zone)."""
    return f"{branch_prefix(branch)}numbering:{day}"


def numbers(branch: str, day: str) -> str:
    """Hash: ticket number (A007) -> ticket id, for one business day."""
    return f"{branch_prefix(branch)}numbers:{day}"


def order(branch: str) -> str:
    """String counter: the branch-wide place-in-line sequence; a ticket's score in its queue."""
    return f"{branch_prefix(branch)}order"


def events(branch: str) -> str:
    """Stream: every change of the branch, in order; the entry id is the event's ``seq``."""
    return f"{branch_prefix(branch)}events"


def recent_calls(branch: str) -> str:
    """List: the last RECENT_CALLS calls as JSON, newest first."""
    return f"{branch_prefix(branch)}recent_calls"


def open_counters(branch: str) -> str:
    """Hash: service -> how many open counters serve it (for the wait estimate)."""
    return f"{branch_prefix(branch)}open_counters"


def audit(branch: str) -> str:
    """Stream: staff and admin actions on the branch (actor, role, source address, action, at)."""
    return f"{branch_prefix(branch)}audit"


def config(branch: str) -> str:
    """Hash: the branch configuration as TOML-shaped JSON (``json``), its ``version`` and the hash
    of the branch file last applied (``file_hash``)."""
    return f"{branch_prefix(branch)}config"


def config_channel(branch: str) -> str:
    """Pub/sub channel: a new configuration version of the branch was saved; reload it."""
    return f"{branch_prefix(branch)}config_changed"


def notice(branch: str) -> str:
    """Hash: the notices ticker of the branch's displays (text_zh, text_en, emergency, at, by)."""
    return f"{branch_prefix(branch)}notice"


def idempotency(branch: str, key: str) -> str:
    """String: ticket id issued for a client's Idempotency-Key, kept IDEMPOTENCY_TTL_S."""
    return f"{branch_prefix(branch)}idempotency:{key}"


def user(username: str) -> str:
    """Hash: an account (password hash, role, branch, counters, disabled)."""
    return f"{ROOT}:user:{username}"


def users() -> str:
    """Set: every username."""
    return f"{ROOT}:users"


def revoked_sessions() -> str:
    """Sorted set: session id of a logged-out token -> its expiry (epoch s), pruned after it."""
    return f"{ROOT}:revoked_sessions"


def user_sessions(username: str) -> str:
    """Sorted set: session ids of an account's tokens -> expiry (epoch s); disabling it revokes them."""
    return f"{ROOT}:user_sessions:{username}"


#: Pub/sub channel telling every server process about a revoked session at once.
REVOCATIONS_CHANNEL = f"{ROOT}:revocations"

#: Failed logins that lock an account, and for how long (seconds) they are counted / it stays locked.
LOGIN_FAILURE_LIMIT = 5
LOGIN_LOCK_S = 15 * 60


def login_failures(username: str) -> str:
    """String counter: recent failed logins of an account; expires LOGIN_LOCK_S after the last."""
    return f"{ROOT}:login_failures:{username}"


def signing_secret() -> str:
    """String: the HMAC secret all server processes sign login tokens with."""
    return f"{ROOT}:signing_secret"
