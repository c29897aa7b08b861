"""Retention (定期资料清理): what the branch keeps about people, and for how long.

Every ``PRUNE_EVERY_S`` (and once at start) each server process removes, for the branch it serves:

- ticket records of business days older than ``Retention.ticket_days``: the ticket hashes, their
  ratings and the day's number tables. A ticket still waiting or called (a branch closed for
  weeks with tickets in line) is kept, and so is its day's number table, until it ends;
- audit entries older than ``Retention.audit_days``;
- the phone numbers of complaints older than ``PhoneSettings.complaint_phone_days``
  (``feedback.purge_phones``).

Aggregated metrics (``metrics_rollup``) are kept: they hold counts and durations, no ticket ids.
The complaint texts and answers stay as the managers' record. Every step is safe to run twice or
from several processes at once: it only deletes what is past its time.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any, cast

from redis.exceptions import RedisError

from server import keys
from server.background import Loop
from server.feedback import purge_phones
from server.rules import TicketStatus, business_day
from server.settings import PhoneSettings, Retention
from server.store import QueueStore

log = logging.getLogger("nextup.retention")

#: Seconds between two pruning passes.
PRUNE_EVERY_S = 3_600
#: Tickets handled per pipeline.
_BATCH = 500
_ENDED = frozenset({TicketStatus.SERVED.value, TicketStatus.NO_SHOW.value, TicketStatus.CANCELLED.value})


async def prune_tickets(store: QueueStore, days: int) -> int:
    """Remove the ended tickets of business days more than ``days`` ago; how many were removed."""
    if days <= 0:
        return 0
    branch = store.branch.id
    oldest_kept = business_day(store.branch, store.clock.now()) - timedelta(days=days)
    removed = 0
    prefix = keys.numbers(branch, "")
    async for key in store.redis.scan_iter(match=keys.numbers(branch, "*"), count=1_000):
        day = str(key).removeprefix(prefix)
        try:
            if date.fromisoformat(day) >= oldest_kept:
                continue
        except ValueError:
            continue
        removed += await _prune_day(store, branch, day)
    return removed


async def _prune_day(store: QueueStore, branch: str, day: str) -> int:
    table = cast(dict[str, str], await store.redis.hgetall(keys.numbers(branch, day)))
    removed = 0
    live = False
    items = list(table.items())
    for start in range(0, len(items), _BATCH):
        chunk = items[start : start + _BATCH]
        async with store.redis.pipeline(transaction=False) as pipe:
            for _, ticket_id in chunk:
                pipe.hget(keys.ticket(branch, ticket_id), "status")
            statuses: list[Any] = await pipe.execute()
        ended = [(n, t) for (n, t), s in zip(chunk, statuses, strict=True) if s is None or s in _ENDED]
        live = live or len(ended) < len(chunk)
        if not ended:
            continue
        async with store.redis.pipeline(transaction=False) as pipe:
            for number, ticket_id in ended:
                pipe.delete(keys.ticket(branch, ticket_id), keys.rating(branch, ticket_id),
                            keys.ticket_complaints(branch, ticket_id))  # fmt: skip
                pipe.hdel(keys.numbers(branch, day), number)
            pipe.zrem(keys.ratings(branch), *(t for _, t in ended))
            await pipe.execute()
        removed += len(ended)
    if not live:
        await store.redis.delete(keys.numbers(branch, day), keys.numbering(branch, day))
    return removed


async def prune_audit(store: QueueStore, days: int) -> int:
    """Remove audit entries older than ``days``; how many were removed."""
    if days <= 0:
        return 0
    cutoff_ms = int((store.clock.now() - timedelta(days=days)).timestamp() * 1000)
    trimmed: int = await store.redis.xtrim(keys.audit(store.branch.id), minid=f"{cutoff_ms}-0", approximate=False)
    return trimmed


async def prune_once(store: QueueStore, retention: Retention, phone: PhoneSettings) -> dict[str, int]:
    """One pass over everything retention covers; what it removed, by kind."""
    return {
        "tickets": await prune_tickets(store, retention.ticket_days),
        "audit_entries": await prune_audit(store, retention.audit_days),
        "complaint_phones": await purge_phones(store, phone),
    }


@contextlib.asynccontextmanager
async def pruning(store: QueueStore, retention: Retention, phone: PhoneSettings) -> AsyncIterator[None]:
    """Prune now and every PRUNE_EVERY_S while the block runs (a failed pass waits for the next)."""

    async def prune() -> None:
        removed = await prune_once(store, retention, phone)
        if any(removed.values()):
            log.info("retention removed %s", ", ".join(f"{n} {kind}" for kind, n in removed.items() if n))

    pruner = Loop("retention", prune, every_s=PRUNE_EVERY_S, retry_on=(RedisError,), logger=log).start()
    try:
        yield
    finally:
        await pruner.stop()
