"""Estimated wait: when a waiting ticket will be called, from what the branch is doing now.

The simple estimate (``rules.estimated_wait_s``: people ahead x the service's configured handling
time / its open counters) misses four things this one models:

- **recent handling times**: each service's mean of its last ``HANDLING_SAMPLES`` measured handling
  times (the metrics' samples), pulled towards the configured ``average_handling_s`` while there
  are few, and their spread (a lognormal law, as handling times are skewed);
- **shared counters**: a counter serving A and C spends part of its time on C. Call-next takes the
  longest-waiting ticket among a counter's services, so the tickets of *every* service issued
  before this one compete for its counters, and none issued after it do (except priority ones);
- **counters now busy**: a counter serving someone is free after the expected rest of that
  handling, given how long it has lasted already (the lognormal's mean residual time); an idle
  open counter calls at once;
- **no-shows**: a call that ends in a no-show holds the counter for a short while only; each
  call counts the service's no-show share of today at the measured no-show time.

``forecast`` replays call-next over a snapshot of the branch (every waiting ticket in line order,
the open counters and when each is free) with those expected times, priority tickets first up to
the branch's cap as ``lua/call_next.lua`` does, and notes when each ticket is called. A ticket the
snapshot does not hold yet (issued since) goes behind everything in it: it gets the k-th call of
its service once the counters serving it have nothing older to call.

Nothing of this is on a request's path to Redis: ``WaitEstimator`` (one per server process) reads
the snapshot in the background every ``REFRESH_S`` seconds (two requests sent together) and replays
it; a request only looks its ticket up (``QueueStore.with_position`` through ``better_wait_s``).
Until the first snapshot, and for a ticket of a service the snapshot does not know or saw no open
counter serve, the simple estimate stands; with no open counter serving a service now, the store
promises no wait at all (``QueueStore.wait_s``).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import math
import time
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from server import keys
from server.background import Loop
from server.config import Branch
from server.metrics.tally import CounterState, Sample, iso_ms

if TYPE_CHECKING:
    from server.store import QueueStore

log = logging.getLogger("nextup.estimate")

Json = dict[str, Any]

#: Seconds between two snapshots of a branch: waits are minutes long, so a few seconds old is fresh.
REFRESH_S = 2.0
#: Most of a process's time the snapshots may take: a branch so large that one takes long (thousands
#: of counters) is refreshed less often rather than slowing the requests down.
MAX_REFRESH_SHARE = 0.02
#: Handling times per service the mean is taken over: recent enough to follow a slow afternoon.
HANDLING_SAMPLES = 50
#: Samples read from the end of today's (and yesterday's) sample lists to find them.
SAMPLE_TAIL = 1_000
#: The configured average counts as this many measured handling times (it matters only at first).
PRIOR_WEIGHT = 3
#: Spread of log handling times assumed until there are measurements (a coefficient of variation
#: of about 0.53, usual for counter work).
DEFAULT_SIGMA = 0.5
#: Share of calls that end in a no-show assumed before today has many calls, and its weight in calls.
PRIOR_NO_SHOW_RATE = 0.03
PRIOR_NO_SHOW_CALLS = 20
#: Seconds a counter spends on a no-show (recall, wait, give up) until one is measured.
DEFAULT_NO_SHOW_S = 60.0
#: Waiting tickets per queue the snapshot holds: the replay costs time in proportion; a ticket
#: behind them is estimated as one issued after the snapshot.
QUEUE_LIMIT = 500
#: Below this many calls to count through, the k-th call is found exactly; above, by rate.
EXACT_SLOTS = 64


@dataclass(frozen=True)
class Handling:
    """A service's handling time now: mean of recent measurements, and their spread (lognormal)."""

    mean_s: float
    #: Standard deviation of the log of the handling time.
    sigma: float = DEFAULT_SIGMA
    samples: int = 0

    def remaining_s(self, elapsed_s: float) -> float:
        """Expected time left of a ticket handled for ``elapsed_s`` already: E[T - e | T > e]."""
        if elapsed_s <= 0:
            return self.mean_s
        if self.sigma <= 0:
            return max(self.mean_s - elapsed_s, 0.0)
        mu = math.log(self.mean_s) - self.sigma**2 / 2
        z = (math.log(elapsed_s) - mu) / self.sigma
        survival = 0.5 * math.erfc(z / math.sqrt(2))  # P(T > e)
        if survival < 1e-300:
            # Far in the tail: the lognormal's mean residual life tends to sigma^2 e / (ln e - mu).
            return elapsed_s * self.sigma**2 / (math.log(elapsed_s) - mu)
        partial = 0.5 * math.erfc((z - self.sigma) / math.sqrt(2))  # E[T; T > e] / E[T]
        return max(self.mean_s * partial / survival - elapsed_s, 0.0)


def recent_handling(durations_s: Sequence[float], configured_s: float) -> Handling:
    """The handling time of a service from its recent measured durations (oldest first)."""
    recent = [max(d, 1.0) for d in durations_s[-HANDLING_SAMPLES:]]
    n = len(recent)
    mean = (sum(recent) + PRIOR_WEIGHT * configured_s) / (n + PRIOR_WEIGHT)
    if n < 2:
        return Handling(mean, DEFAULT_SIGMA, n)
    logs = [math.log(d) for d in recent]
    centre = sum(logs) / n
    spread = sum((x - centre) ** 2 for x in logs)
    sigma = math.sqrt((spread + PRIOR_WEIGHT * DEFAULT_SIGMA**2) / (n - 1 + PRIOR_WEIGHT))
    return Handling(mean, sigma, n)


def per_call_s(handling: Handling, no_show_rate: float, no_show_s: float) -> float:
    """Expected counter time of one call of a service: served at its handling time or a no-show."""
    return (1 - no_show_rate) * handling.mean_s + no_show_rate * no_show_s


@dataclass(frozen=True)
class OpenCounter:
    id: str
    #: Services in the counter's order (ties of equal waits go to the first, as in call-next).
    services: tuple[str, ...]
    #: Seconds after the snapshot until it is free: the expected rest of its current ticket; 0 if free.
    free_in_s: float = 0.0
    #: Priority tickets it called in a row (the cap counts them).
    priority_streak: int = 0


@dataclass(frozen=True)
class Snapshot:
    """What the estimate knows of a branch at ``taken_at`` (epoch seconds)."""

    taken_at: float
    counters: Sequence[OpenCounter]
    #: (service, priority) -> waiting tickets as (place in line, ticket id), in line order.
    queues: Mapping[tuple[str, bool], Sequence[tuple[float, str]]]
    #: service -> expected counter time of one call (every service of the branch).
    per_call_s: Mapping[str, float]
    priority_cap: int = 1


@dataclass(frozen=True)
class Forecast:
    """When each waiting ticket is expected to be called, and where a newer one would go."""

    taken_at: float
    #: ticket id -> seconds after the snapshot it is expected to be called.
    called_in: Mapping[str, float]
    #: (service, priority) -> tickets of the queue the snapshot holds.
    held: Mapping[tuple[str, bool], int]
    #: service -> when each open counter serving it runs out of older tickets (sorted).
    idle_at: Mapping[str, Sequence[float]]
    #: service -> when each open counter serving it is next free (sorted).
    free_at: Mapping[str, Sequence[float]]
    per_call_s: Mapping[str, float]

    def wait_s(
        self, now: float, service: str, priority: bool, same_class_ahead: int, ticket_id: str = ""
    ) -> int | None:
        """Seconds until the ticket is called, as of ``now`` (epoch s); None for an unknown service or
        one no open counter of the snapshot serves."""
        step = self.per_call_s.get(service)
        if step is None:
            return None
        elapsed = max(0.0, now - self.taken_at)
        known = self.called_in.get(ticket_id) if ticket_id else None
        if known is not None:
            return round(max(0.0, known - elapsed))
        if priority:
            # Priority tickets go before the regular ones: it takes the next calls after the
            # priority tickets ahead of it, from when each counter is free.
            starts, k = self.free_at.get(service, ()), same_class_ahead
        else:
            # Behind everything in the snapshot: the calls after the counters run out of older
            # tickets, once the tickets of its line ahead of it that the snapshot does not hold
            # (issued since) have had theirs. The snapshot is seconds old: taking none of its
            # tickets as called since is off by a call at most, and never counts a ticket twice
            # when staff are slower than the replay.
            starts = self.idle_at.get(service, ())
            k = max(0, same_class_ahead - self.held.get((service, False), 0))
        if not starts:
            # No open counter served it at the snapshot: the caller knows whether one does now.
            return None
        slot = kth_call(starts, step, k, elapsed)
        return round(max(0.0, slot - elapsed))


def kth_call(starts: Sequence[float], step: float, k: int, not_before: float = 0.0) -> float:
    """When the (k+1)-th call happens if counter i calls at starts[i] (sorted; not before
    ``not_before``), then every ``step`` seconds. Exact, call by call, for the first
    ``EXACT_SLOTS`` calls (O(k log k)); further down a line by rate, within one ``step`` of exact,
    in O(log n) whatever the number of counters and the length of the line."""
    if k < EXACT_SLOTS:
        # The (k+1)-th call is never after the (k+1)-th counter's first: later counters cannot matter.
        heap = [max(s, not_before) for s in starts[: k + 1]]
        for _ in range(k):
            heapq.heapreplace(heap, heap[0] + step)
        return heap[0]
    # Counters free before ``not_before`` call from then on.
    waiting_for = bisect_left(starts, not_before)
    prefix = starts.prefix if isinstance(starts, Starts) else Starts(starts).prefix

    def first_call(i: int) -> float:
        return not_before if i < waiting_for else starts[i]

    def by_rate(m: int) -> float:
        """When the first m counters alone have made k calls, at one per ``step`` each."""
        total = not_before * min(m, waiting_for) + (prefix[m] - prefix[waiting_for] if m > waiting_for else 0.0)
        return (total + k * step) / m

    # The counters that have started by then are the first m for the smallest m whose next counter
    # starts no earlier than by_rate(m) (true of every larger m too: by_rate only falls while the
    # next counter starts earlier). Within a step: each counter's calls are its elapsed steps + 0..1.
    low, high = 1, len(starts)
    while low < high:
        middle = (low + high) // 2
        if first_call(middle) >= by_rate(middle):
            high = middle
        else:
            low = middle + 1
    return by_rate(low)


class Starts(tuple[float, ...]):
    """Sorted call times with their prefix sums, so a sum over a tail costs nothing."""

    prefix: tuple[float, ...]
    total: float

    def __new__(cls, values: Iterable[float]) -> Starts:
        made = super().__new__(cls, sorted(values))
        running, prefix = 0.0, [0.0]
        for value in made:
            running += value
            prefix.append(running)
        made.prefix, made.total = tuple(prefix), running
        return made


def forecast(snapshot: Snapshot) -> Forecast:
    """Replay call-next over the snapshot with expected handling times: when each ticket is called."""
    queues = {key: list(entries) for key, entries in snapshot.queues.items()}
    heads = dict.fromkeys(queues, 0)
    called_in: dict[str, float] = {}
    idle_at: dict[str, float] = {}
    streaks = {c.id: c.priority_streak for c in snapshot.counters}
    ready = [(c.free_in_s, index) for index, c in enumerate(snapshot.counters)]
    heapq.heapify(ready)

    def head(counter: OpenCounter, priority: bool) -> tuple[str, bool] | None:
        best: tuple[str, bool] | None = None
        best_place = math.inf
        for service in counter.services:
            key = (service, priority)
            entries = queues.get(key)
            if entries and heads[key] < len(entries) and entries[heads[key]][0] < best_place:
                best, best_place = key, entries[heads[key]][0]
        return best

    while ready:
        at, index = heapq.heappop(ready)
        counter = snapshot.counters[index]
        first_priority, first_regular = head(counter, True), head(counter, False)
        if first_priority and (streaks[counter.id] < snapshot.priority_cap or not first_regular):
            chosen = first_priority
            streaks[counter.id] += 1
        elif first_regular:
            chosen = first_regular
            streaks[counter.id] = 0
        else:
            idle_at[counter.id] = at  # nothing older left for it: it calls whoever comes next
            continue
        _, ticket_id = queues[chosen][heads[chosen]]
        heads[chosen] += 1
        called_in[ticket_id] = at
        heapq.heappush(ready, (at + snapshot.per_call_s.get(chosen[0], 0.0), index))

    serving: dict[str, list[OpenCounter]] = {}
    for counter in snapshot.counters:
        for service in counter.services:
            serving.setdefault(service, []).append(counter)
    return Forecast(
        taken_at=snapshot.taken_at,
        called_in=called_in,
        held={key: len(entries) for key, entries in queues.items()},
        idle_at={s: Starts(idle_at[c.id] for c in cs) for s, cs in serving.items()},
        free_at={s: Starts(c.free_in_s for c in cs) for s, cs in serving.items()},
        per_call_s=dict(snapshot.per_call_s),
    )


# --- reading the snapshot from Redis ---------------------------------------------------------


@dataclass
class BranchReadings:
    """The raw figures a snapshot is made of, as read from Redis (see ``WaitEstimator.read``)."""

    now_ms: int
    #: counter id -> its status (open, paused, closed).
    statuses: dict[str, str]
    #: (service, priority) -> [(ticket id, place in line)].
    queues: dict[tuple[str, bool], list[tuple[str, float]]]
    #: Handling samples, oldest first (yesterday's tail, then today's).
    samples: list[Sample]
    #: Today's tallies the no-show figures come from.
    tallies: dict[str, int]
    #: counter id -> (service of its current ticket, when its handling started, ms).
    current: dict[str, tuple[str, int]] = field(default_factory=dict)


def tally_fields(services: Iterable[str]) -> list[str]:
    fields = ["busy_ms|all", "handling_ms|all", "no_shows|all"]
    for service in services:
        fields += [f"called|service={service}", f"no_shows|service={service}"]
    return fields


def snapshot_of(branch: Branch, readings: BranchReadings) -> tuple[Snapshot, dict[str, Handling]]:
    """The snapshot, and each service's handling time, from what was read. No I/O."""
    durations: dict[str, list[float]] = {}
    for sample in readings.samples:
        if sample.kind == "handling":
            durations.setdefault(sample.service, []).append(sample.ms / 1000)
    handling = {
        sid: recent_handling(durations.get(sid, []), service.average_handling_s)
        for sid, service in branch.services.items()
    }
    tallies = readings.tallies
    no_shows = tallies.get("no_shows|all", 0)
    no_show_s = DEFAULT_NO_SHOW_S
    if no_shows:
        # Counter time not spent serving is spent on no-shows (and a few transfers away).
        spent = (tallies.get("busy_ms|all", 0) - tallies.get("handling_ms|all", 0)) / 1000 / no_shows
        no_show_s = min(max(spent, 10.0), 600.0)
    per_call: dict[str, float] = {}
    for sid in branch.services:
        called = tallies.get(f"called|service={sid}", 0)
        missed = tallies.get(f"no_shows|service={sid}", 0)
        rate = (missed + PRIOR_NO_SHOW_RATE * PRIOR_NO_SHOW_CALLS) / (called + PRIOR_NO_SHOW_CALLS)
        per_call[sid] = per_call_s(handling[sid], rate, no_show_s)
    counters: list[OpenCounter] = []
    for cid, config in branch.counters.items():
        if readings.statuses.get(cid) != "open":
            continue
        free_in = 0.0
        if cid in readings.current:
            service, started_ms = readings.current[cid]
            law = handling.get(service) or Handling(per_call.get(service, 300.0))
            free_in = law.remaining_s(max(0, readings.now_ms - started_ms) / 1000)
        # The state does not say how many priority tickets a counter called in a row; taking
        # none is off by one call at most, for a priority ticket only.
        counters.append(OpenCounter(cid, config.services, free_in))
    queues = {
        key: [(place, tid) for tid, place in entries]
        for key, entries in readings.queues.items()
        if key[0] in branch.services
    }
    snapshot = Snapshot(readings.now_ms / 1000, counters, queues, per_call, branch.priority_cap)
    return snapshot, handling


class WaitEstimator:
    """One process's estimate of waits for one branch, replayed from a snapshot every ``refresh_s``."""

    def __init__(self, store: QueueStore, refresh_s: float = REFRESH_S) -> None:
        self.store = store
        self.refresh_s = refresh_s
        self.forecast: Forecast | None = None
        self.handling: dict[str, Handling] = {}
        #: The event loop the estimator runs on (a benchmark in another thread refreshes through it).
        self.loop: asyncio.AbstractEventLoop | None = None
        #: Seconds the last refresh took: a slow one makes the next wait longer.
        self._took_s = 0.0
        # A failed refresh keeps the last snapshot and is tried again at the next turn.
        self._refresher = Loop(
            f"wait estimate of branch {store.branch.id}", self._timed_refresh, every_s=self._pause_s,
            wait_first=True, retry_on=(RedisError,), logger=log,
        )  # fmt: skip

    @classmethod
    async def start(cls, store: QueueStore, refresh_s: float = REFRESH_S) -> WaitEstimator:
        """Take a first snapshot (best effort), keep refreshing, and estimate the store's tickets."""
        estimator = cls(store, refresh_s)
        estimator.loop = asyncio.get_running_loop()
        with contextlib.suppress(RedisError):
            await estimator.refresh()
        estimator._refresher.start()
        store.wait_model = estimator
        return estimator

    async def stop(self) -> None:
        self.store.wait_model = None
        await self._refresher.stop()

    def _pause_s(self) -> float:
        return max(self.refresh_s, self._took_s / MAX_REFRESH_SHARE)

    async def _timed_refresh(self) -> None:
        started = time.perf_counter()
        try:
            await self.refresh()
        finally:
            self._took_s = time.perf_counter() - started

    async def read(self, branch: Branch) -> BranchReadings:
        """Everything a snapshot needs: the branch state (one script call) and one pipeline, together.

        The state script reads every counter and its current ticket inside Redis: one reply to
        decode rather than a command per counter.
        """
        now = self.store.clock.now()
        today = now.astimezone(branch.zone).date()
        fields = tally_fields(branch.services)
        queue_keys = [(s, p) for s in branch.services for p in (False, True)]

        async def figures() -> list[Any]:
            b = branch.id
            async with self.store.redis.pipeline(transaction=False) as pipe:
                for service, priority in queue_keys:
                    pipe.zrange(keys.queue(b, service, priority), 0, QUEUE_LIMIT - 1, withscores=True)
                pipe.lrange(keys.metrics_day_samples(b, (today - timedelta(days=1)).isoformat()), -SAMPLE_TAIL, -1)
                pipe.lrange(keys.metrics_day_samples(b, today.isoformat()), -SAMPLE_TAIL, -1)
                pipe.hmget(keys.metrics_day_tally(b, today.isoformat()), fields)
                pipe.hgetall(keys.metrics_counters(b))
                replies: list[Any] = await pipe.execute()
                return replies

        state, replies = await asyncio.gather(self.store.state(), figures())
        n = len(queue_keys)
        queues = {
            key: [(str(tid), float(place)) for tid, place in entries]
            for key, entries in zip(queue_keys, replies[:n], strict=True)
        }
        yesterday, today_samples, tally_values, metric_counters = replies[n:]
        samples: list[Sample] = []
        for text in [*yesterday, *today_samples]:
            with contextlib.suppress(ValueError, TypeError):
                samples.append(Sample.from_json(text))
        tallies = {name: int(value) for name, value in zip(fields, tally_values, strict=True) if value}
        readings = BranchReadings(int(now.timestamp() * 1000), {}, queues, samples, tallies)
        for counter in state.counters:
            readings.statuses[counter.id] = counter.status
            current = counter.current
            if counter.status != "open" or current is None:
                continue
            started = iso_ms(str(current.last_called_at or current.called_at))
            known = metric_counters.get(counter.id)
            if known:
                # The metrics time a handling from the call at this counter, not from a recall.
                tracked = CounterState.from_json(known)
                if tracked.ticket == current.id and tracked.busy_since is not None:
                    started = tracked.busy_since
            readings.current[counter.id] = (current.service, started)
        return readings

    async def refresh(self) -> Forecast:
        """Read the branch now and replay it."""
        branch = self.store.branch
        snapshot, handling = snapshot_of(branch, await self.read(branch))
        self.forecast = forecast(snapshot)
        self.handling = handling
        return self.forecast

    def wait_s(
        self, service: str, priority: bool, same_class_ahead: int, ticket_id: str = "", serving: int | None = None
    ) -> int | None:
        """The estimate for a waiting ticket (or a new one, without ``ticket_id``); None before a snapshot,
        and None while the snapshot is older than a change of the counters serving the service (its
        open serving counters are not ``serving``, counted now): the caller's formula answers until the
        next refresh, instead of a replay of counters since paused or closed."""
        if self.forecast is None:
            return None
        if serving is not None and len(self.forecast.free_at.get(service, ())) != serving:
            return None
        now = self.store.clock.now().timestamp()
        return self.forecast.wait_s(now, service, priority, same_class_ahead, ticket_id)
