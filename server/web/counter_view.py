"""What the counter workstation shows, read from Redis in two pipelined round trips.

First round trip, one MULTI/EXEC so the figures agree with each other: the counter's hash, the
heads of its services' queues and their lengths, the staff member's figures of the day from the
metrics tally (``served|staff=<name>``, ``handling_ms|staff=<name>``), the metrics' record of the
counter (when its current ticket was called there), and, when asked, the counter's recent
no-shows from the event stream. Second round trip: the fields of the tickets named by the first.

When the metrics have not yet applied the newest event (the tally is kept by
``server.metrics.consumer``, milliseconds behind the stream), they are caught up first so that a
ticket just finished is already counted.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from server import events, keys, rules
from server.store import QueueStore

Json = dict[str, Any]

#: Tickets listed as "next up".
NEXT_SHOWN = 5
#: Most events read back when looking for the counter's recent no-shows.
NO_SHOW_SCAN = 1_000
_TICKET_FIELDS = ("number", "service", "priority", "status", "issued_at", "called_at", "last_called_at",
                  "calls", "transfers", "no_show_ms", "no_show_at", "counter")  # fmt: skip


def upcoming(priority: list[tuple[str, float]], regular: list[tuple[str, float]], streak: int, cap: int,
             count: int) -> list[str]:  # fmt: skip
    """The ticket ids call-next would take in turn if nothing else changed (``lua/call_next.lua``).

    ``priority`` and ``regular`` are (id, place in line) of the heads of the counter's queues.
    """
    heads = sorted(priority, key=lambda item: item[1]), sorted(regular, key=lambda item: item[1])
    taken = [0, 0]
    chosen: list[str] = []
    while len(chosen) < count:
        pick = rules.choose_priority(streak, cap, taken[0] < len(heads[0]), taken[1] < len(heads[1]))
        if pick is None:
            break
        which = 0 if pick else 1
        chosen.append(heads[which][taken[which]][0])
        taken[which] += 1
        streak = streak + 1 if pick else 0
    return chosen


def no_show_candidates(entries: list[tuple[str, dict[str, str]]], counter: str) -> list[str]:
    """Ids of tickets marked no-show at ``counter`` in these stream entries, newest first, once each."""
    found: list[str] = []
    for _seq, fields in entries:
        if fields.get("type") != events.EventType.TICKET_NO_SHOW.value:
            continue
        try:
            data = json.loads(fields.get("data", "{}"))
            ticket_id = str(data["ticket"]["id"])
        except (ValueError, KeyError, TypeError):
            continue
        if str(data.get("counter")) == counter and ticket_id not in found:
            found.append(ticket_id)
    return found


def _ticket(fields: list[Any]) -> Json | None:
    record = dict(zip(_TICKET_FIELDS, fields, strict=True))
    return record if record.get("number") else None


def _seq(seq: str) -> tuple[int, int]:
    return events.parse_seq(seq) or (0, 0)


def _seconds_between(start: str | None, end: str | None) -> int | None:
    if not start or not end:
        return None
    return max(0, round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()))


@dataclass
class CounterView:
    """One staff member's view of one counter; ``read`` gives the message the page shows."""

    store: QueueStore
    counter: str
    username: str
    #: Applies the metrics up to the newest event (the process's metrics consumer).
    catch_up_metrics: Callable[[], Awaitable[object]]
    _no_shows: list[str] = field(default_factory=list)

    async def read(self, rescan_no_shows: bool) -> Json | None:
        """The view, or None when the counter no longer exists."""
        store, branch = self.store, self.store.branch
        counter = branch.counters.get(self.counter)
        if counter is None:
            return None
        now = store.clock.now()
        today = now.astimezone(branch.zone).date().isoformat()
        events_key = keys.events(branch.id)
        async with store.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.counter(branch.id, self.counter))
            for service in counter.services:
                for priority in (True, False):
                    pipe.zrange(keys.queue(branch.id, service, priority), 0, NEXT_SHOWN - 1, withscores=True)
                    pipe.zcard(keys.queue(branch.id, service, priority))
            self._read_figures(pipe, today)
            pipe.get(keys.metrics_applied(branch.id))
            pipe.xrevrange(events_key, count=1)
            if rescan_no_shows:
                since = int(now.timestamp() * 1000) - branch.no_show_window_min * 60_000
                pipe.xrevrange(events_key, min=str(max(since, 0)), count=NO_SHOW_SCAN)
            replies = await pipe.execute()
        state: dict[str, str] = replies[0]
        heads: tuple[list[tuple[str, float]], list[tuple[str, float]]] = ([], [])
        services = []
        for index, service in enumerate(counter.services):
            pri_head, pri_count, reg_head, reg_count = replies[1 + 4 * index : 5 + 4 * index]
            heads[0].extend((str(i), float(s)) for i, s in pri_head)
            heads[1].extend((str(i), float(s)) for i, s in reg_head)
            services.append(self._service(service, int(pri_count) + int(reg_count), int(pri_count)))
        rest = replies[1 + 4 * len(counter.services) :]
        (served, handling_ms), metric_counter, applied, newest = rest[:4]
        if rescan_no_shows:
            self._no_shows = no_show_candidates(rest[4], self.counter)
        if newest and _seq(str(newest[0][0])) > _seq(str(applied or "")):
            await self.catch_up_metrics()
            async with store.redis.pipeline(transaction=True) as pipe:
                self._read_figures(pipe, today)
                (served, handling_ms), metric_counter = await pipe.execute()

        current_id = state.get("current") or ""
        streak = int(state.get("priority_streak") or 0)
        next_ids = upcoming(heads[0], heads[1], streak, branch.priority_cap, NEXT_SHOWN)
        wanted = [i for i in [current_id, *next_ids, *self._no_shows] if i]
        async with store.redis.pipeline(transaction=False) as pipe:
            for ticket_id in wanted:
                pipe.hmget(keys.ticket(branch.id, ticket_id), list(_TICKET_FIELDS))
            tickets = {i: _ticket(f) for i, f in zip(wanted, await pipe.execute(), strict=True)}

        count = int(served or 0)
        current = tickets.get(current_id) if current_id else None
        return {
            "type": "counter",
            "now": now.astimezone(branch.zone).isoformat(timespec="milliseconds"),
            "counter": {
                "id": counter.id,
                "name_zh": counter.name_zh,
                "name_en": counter.name_en,
                "status": state.get("status") or rules.CounterStatus.CLOSED.value,
                "reason": state.get("reason") or None,
                "holder": state.get("holder") or None,
                "services": services,
            },
            "current": self._current(current, metric_counter, current_id),
            "next": [
                {"number": t["number"], "service": t["service"], "priority": t["priority"] == "1",
                 "issued_at": t["issued_at"]}
                for t in (tickets.get(i) for i in next_ids)
                if t
            ],
            "no_shows": self._reactivatable(tickets, int(now.timestamp() * 1000)),
            "today": {
                "served": count,
                "average_handling_s": round(int(handling_ms or 0) / count / 1000) if count else None,
            },
            "transfer_to": [{"id": s.id, "name_zh": s.name_zh, "name_en": s.name_en} for s in branch.services.values()],
        }

    def _service(self, service_id: str, waiting: int, priority_waiting: int) -> Json:
        known = self.store.branch.services.get(service_id)
        return {
            "id": service_id,
            "prefix": known.prefix if known else service_id,
            "name_zh": known.name_zh if known else service_id,
            "name_en": known.name_en if known else service_id,
            "waiting": waiting,
            "priority_waiting": priority_waiting,
        }

    def _reactivatable(self, tickets: dict[str, Json | None], now_ms: int) -> list[Json]:
        """This counter's no-shows still inside the reactivation window, newest first."""
        branch = self.store.branch
        window_ms = branch.no_show_window_min * 60_000
        found = []
        for ticket_id in self._no_shows:
            ticket = tickets.get(ticket_id)
            if not ticket or ticket["status"] != rules.TicketStatus.NO_SHOW or not ticket["no_show_ms"]:
                continue
            until = int(ticket["no_show_ms"]) + window_ms
            if until > now_ms:
                found.append({
                    "number": ticket["number"],
                    "service": ticket["service"],
                    "no_show_at": ticket["no_show_at"],
                    "until": datetime.fromtimestamp(until / 1000, branch.zone).isoformat(timespec="milliseconds"),
                })  # fmt: skip
        return found

    def _read_figures(self, pipe: Any, today: str) -> None:
        branch_id = self.store.branch.id
        pipe.hmget(keys.metrics_day_tally(branch_id, today),
                   [f"served|staff={self.username}", f"handling_ms|staff={self.username}"])  # fmt: skip
        pipe.hget(keys.metrics_counters(branch_id), self.counter)

    def _current(self, ticket: Json | None, metric_counter: str | None, ticket_id: str) -> Json | None:
        if ticket is None:
            return None
        # Handling started at the call at this counter; a recall does not restart it. The metrics
        # remember that call; until they have seen it, the last call is the same moment.
        serving_since = ticket["last_called_at"]
        if metric_counter:
            try:
                record = json.loads(metric_counter)
            except ValueError:
                record = {}
            if record.get("ticket") == ticket_id and record.get("busy_since"):
                since = datetime.fromtimestamp(int(record["busy_since"]) / 1000, self.store.branch.zone)
                serving_since = since.isoformat(timespec="milliseconds")
        return {
            "number": ticket["number"],
            "service": ticket["service"],
            "priority": ticket["priority"] == "1",
            "status": ticket["status"],
            "issued_at": ticket["issued_at"],
            "called_at": ticket["called_at"] or None,
            "calls": int(ticket["calls"] or 0),
            "transfers": int(ticket["transfers"] or 0),
            "waited_s": _seconds_between(ticket["issued_at"], ticket["called_at"]),
            "serving_since": serving_since or None,
        }
