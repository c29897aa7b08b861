"""The Prometheus exposition (``GET /metrics``): queues, waits, and how far behind the metrics are.

Gauges are read from Redis at scrape time, so every process reports the same queues. The wait and
handling histograms are observed by the process that applies an event, so each process exports its
share and Prometheus sums them (``sum by (le) (rate(nextup_wait_seconds_bucket[5m]))``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from redis.asyncio import Redis

from server import events, keys
from server.config import Branch
from server.metrics.tally import Tally

#: Wait histogram buckets, in seconds: from a minute to two hours, dense around common targets.
WAIT_BUCKETS = (60, 120, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200)
#: Handling histogram buckets, in seconds.
HANDLING_BUCKETS = (30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Exporter:
    def __init__(self) -> None:
        # A registry per app, not the global one: tests run several apps in one process.
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.wait = Histogram("nextup_wait_seconds", "Wait from issue to first call", ["branch", "service"],
                              buckets=WAIT_BUCKETS, registry=r)  # fmt: skip
        self.handling = Histogram("nextup_handling_seconds", "Handling time from call to finish",
                                  ["branch", "service"], buckets=HANDLING_BUCKETS, registry=r)  # fmt: skip
        self.applied = Counter("nextup_metrics_events", "Events applied to the metrics by this process",
                               ["branch"], registry=r)  # fmt: skip
        self.queue = Gauge("nextup_queue_length", "Tickets waiting", ["branch", "service"], registry=r)
        self.open_counters = Gauge("nextup_open_counters", "Open counters serving a service",
                                   ["branch", "service"], registry=r)  # fmt: skip
        self.longest_wait = Gauge("nextup_longest_wait_seconds", "Longest wait of a ticket waiting now",
                                  ["branch"], registry=r)  # fmt: skip
        self.lag = Gauge("nextup_event_processing_lag_seconds",
                         "Age of the newest event minus age of the last event applied to the metrics",
                         ["branch"], registry=r)  # fmt: skip
        self.clients = Gauge("nextup_websocket_clients", "Connected websocket clients (this process)",
                             ["branch"], registry=r)  # fmt: skip

    def observe(self, tally: Tally) -> None:
        """Record the waits and handling times of events just applied."""
        branch = tally.branch.id
        self.applied.labels(branch).inc(tally.applied)
        for samples in tally.samples.values():
            for sample in samples:
                histogram = self.wait if sample.kind == "wait" else self.handling
                histogram.labels(branch, sample.service).observe(sample.ms / 1000)

    async def refresh(self, redis: Redis, branch: Branch, now: datetime, websocket_clients: int | None) -> None:
        """Read the gauges from Redis."""
        b = branch.id
        async with redis.pipeline(transaction=False) as pipe:
            for service in branch.services:
                pipe.zcard(keys.queue(b, service, False))
                pipe.zcard(keys.queue(b, service, True))
            pipe.hgetall(keys.open_counters(b))
            pipe.zrange(keys.metrics_waiting(b), 0, 0, withscores=True)
            pipe.get(keys.metrics_applied(b))
            pipe.xrevrange(keys.events(b), count=1)
            pipe.xrange(keys.events(b), count=1)
            replies: list[Any] = await pipe.execute()
        n = len(branch.services)
        for index, service in enumerate(branch.services):
            self.queue.labels(b, service).set(replies[2 * index] + replies[2 * index + 1])
        open_counters, oldest, applied, newest, first = replies[2 * n:]
        for service in branch.services:
            self.open_counters.labels(b, service).set(int(open_counters.get(service, 0)))
        now_ms = now.timestamp() * 1000
        self.longest_wait.labels(b).set(max(0.0, (now_ms - oldest[0][1]) / 1000) if oldest else 0)
        newest_ms = (events.parse_seq(str(newest[0][0])) or (0, 0))[0] if newest else 0
        # Nothing applied yet: behind by everything the stream holds.
        since = applied or (str(first[0][0]) if first else None)
        applied_ms = (events.parse_seq(since) or (0, 0))[0] if since else 0
        self.lag.labels(b).set(max(0, newest_ms - applied_ms) / 1000 if newest_ms else 0)
        if websocket_clients is not None:
            self.clients.labels(b).set(websocket_clients)

    def render(self) -> bytes:
        return generate_latest(self.registry)
