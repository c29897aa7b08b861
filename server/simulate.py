"""``nextup simulate``: a realistic synthetic day at a branch, driven through its HTTP API.

For demos, for load and to measure the wait estimate. The day (``DayProfile``):

- customers arrive as a Poisson process whose rate follows an hourly profile (a morning peak, a
  lunch dip, an afternoon peak), each taking a service (the branch's first services most often,
  weights 1, 1/2, 1/3 ...) and a few a priority ticket;
- each counter calls the next ticket as soon as it is free (after a few seconds to tidy up),
  serves for a lognormal time around its service's mean, and when nobody waits it calls again
  when someone arrives;
- some customers do not come when called: the counter recalls after ``RECALL_AFTER_S`` and marks a
  no-show after ``NO_SHOW_AFTER_S``;
- every counter takes a short break and a lunch break, staggered (pause, then open), once free.

Everything happens through the public API with one token (an admin's: it may act on every
counter). The simulation itself is a discrete-event loop over simulated seconds; a ``Timeline``
maps them to real time: ``ScaledTimeline`` sleeps 1/speed of each simulated second against a
running server, a benchmark's timeline moves a test clock instead (``bench/bench_estimate.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import math
import os
import random
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx

from server.errors import NextUpError

Json = dict[str, Any]

#: Seconds a counter waits for a called customer before recalling, and before marking a no-show.
RECALL_AFTER_S = 30.0
NO_SHOW_AFTER_S = 60.0
#: Seconds between finishing a ticket and calling the next one (tidying up), uniformly.
TURNAROUND_S = (2.0, 10.0)
#: Simulated seconds between an idle counter's checks for tickets issued by someone else.
IDLE_CHECK_S = 60.0


@dataclass(frozen=True)
class DayProfile:
    name: str
    #: hour of the day -> expected arrivals in that hour (the day runs from the first to the last + 1).
    arrivals_per_hour: dict[int, float]
    #: Mean handling time of the branch's services in their order; later ones take the last.
    handling_mean_s: tuple[float, ...] = (240.0, 420.0, 150.0, 300.0)
    #: Standard deviation of the log handling time (0.6: a coefficient of variation of about 0.66).
    handling_sigma: float = 0.6
    no_show_rate: float = 0.05
    priority_rate: float = 0.04
    #: Breaks as (minute of the day the n-th counter goes, minutes, reason); counter i takes the
    #: i-th of each list, round robin.
    short_breaks: tuple[tuple[int, int], ...] = ((10 * 60 + 15, 15), (10 * 60 + 45, 15), (15 * 60, 15),
                                                 (15 * 60 + 30, 15))  # fmt: skip
    lunch_breaks: tuple[tuple[int, int], ...] = ((11 * 60 + 30, 45), (12 * 60 + 15, 45), (13 * 60, 45),
                                                 (13 * 60 + 45, 45))  # fmt: skip

    @property
    def opens_min(self) -> int:
        return min(self.arrivals_per_hour) * 60

    @property
    def closes_min(self) -> int:
        return (max(self.arrivals_per_hour) + 1) * 60


#: A busy day (a Monday, a pension day): the four demo counters are near their limit at the peaks.
BUSY = DayProfile("busy", {9: 40, 10: 56, 11: 54, 12: 40, 13: 36, 14: 46, 15: 54, 16: 38})
#: An ordinary day: seven tenths of the busy one.
NORMAL = DayProfile("normal", {hour: rate * 0.7 for hour, rate in BUSY.arrivals_per_hour.items()})
PROFILES = {p.name: p for p in (BUSY, NORMAL)}


@dataclass(frozen=True)
class Arrival:
    at_s: float
    service: str
    priority: bool


def plan_arrivals(
    profile: DayProfile, services: Sequence[str], rng: random.Random, start_s: float, end_s: float,
    allow_priority: bool = True,
) -> list[Arrival]:  # fmt: skip
    """Arrivals between ``start_s`` and ``end_s`` (seconds after midnight): Poisson, hour by hour."""
    weights = [1 / (i + 1) for i in range(len(services))]
    arrivals: list[Arrival] = []
    for hour, expected in sorted(profile.arrivals_per_hour.items()):
        begin, end = max(hour * 3600.0, start_s), min((hour + 1) * 3600.0, end_s)
        if begin >= end or expected <= 0:
            continue
        rate = expected / 3600
        at = begin
        while True:
            at += rng.expovariate(rate)
            if at >= end:
                break
            service = rng.choices(services, weights)[0]
            arrivals.append(Arrival(at, service, allow_priority and rng.random() < profile.priority_rate))
    return arrivals


def handling_time(profile: DayProfile, service_index: int, rng: random.Random) -> float:
    """A lognormal handling time with the service's mean."""
    means = profile.handling_mean_s
    mean = means[min(service_index, len(means) - 1)]
    mu = math.log(mean) - profile.handling_sigma**2 / 2
    return rng.lognormvariate(mu, profile.handling_sigma)


class Timeline(Protocol):
    async def wait_until(self, at_s: float) -> None:
        """Return when simulated time ``at_s`` (seconds after midnight) has come."""


class ScaledTimeline:
    """Simulated seconds pass ``speed`` times faster than real ones."""

    def __init__(self, start_s: float, speed: float) -> None:
        self.start_s = start_s
        self.speed = speed
        self.origin = time.monotonic()

    def now_s(self) -> float:
        return self.start_s + (time.monotonic() - self.origin) * self.speed

    async def wait_until(self, at_s: float) -> None:
        delay = (at_s - self.now_s()) / self.speed
        if delay > 0:
            await asyncio.sleep(delay)


class SimulationError(NextUpError):
    """The server refused something the simulation needs (a wrong token, an unknown branch)."""


@dataclass
class CounterSim:
    id: str
    services: tuple[str, ...]
    open: bool = False
    current: Json | None = None
    #: Whether it found nobody to call and waits for an arrival.
    idle: bool = False
    #: Breaks still to take: (minute of the day, minutes, reason).
    breaks: list[tuple[int, int, str]] = field(default_factory=list)
    on_break: bool = False


@dataclass
class DayResult:
    issued: int = 0
    called: int = 0
    served: int = 0
    no_shows: int = 0
    breaks: int = 0
    #: Waits (issue to first call) in the server's seconds.
    waits_s: list[float] = field(default_factory=list)


#: A hook awaited with the ticket JSON the API returned and the simulated time.
Hook = Callable[[Json, float], Awaitable[None]]


async def _nothing(_ticket: Json, _at: float) -> None:
    return None


class Simulation:
    """One synthetic day at one branch through the API; ``run`` it."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        branch: str,
        profile: DayProfile,
        timeline: Timeline,
        *,
        seed: int = 1,
        start_s: float | None = None,
        end_s: float | None = None,
        idle_check_s: float | None = IDLE_CHECK_S,
        before_issue: Callable[[float], Awaitable[None]] | None = None,
        on_issued: Hook = _nothing,
        on_called: Hook = _nothing,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.client = client
        self.branch = branch
        self.profile = profile
        self.timeline = timeline
        self.rng = random.Random(seed)
        self.start_s = float(profile.opens_min * 60 if start_s is None else start_s)
        self.end_s = float(profile.closes_min * 60 if end_s is None else end_s)
        self.idle_check_s = idle_check_s
        self.before_issue = before_issue
        self.on_issued = on_issued
        self.on_called = on_called
        self.log = log or (lambda _line: None)
        self.result = DayResult()
        self.services: list[str] = []
        self.counters: dict[str, CounterSim] = {}
        self._events: list[tuple[float, int, str, str, Any]] = []
        self._sequence = 0
        self._waiting = 0

    def at(self, at_s: float, kind: str, counter: str = "", payload: Any = None) -> None:
        self._sequence += 1
        heapq.heappush(self._events, (at_s, self._sequence, kind, counter, payload))

    def path(self, rest: str) -> str:
        return f"/api/branches/{self.branch}{rest}"

    async def post(self, rest: str, body: Json | None = None) -> httpx.Response:
        response = await self.client.post(self.path(rest), json=body or {})
        if response.status_code in (401, 403, 404):
            raise SimulationError(f"POST {self.path(rest)}: {response.status_code} {response.text}")
        return response

    async def setup(self) -> None:
        info = await self.client.get(self.path(""))
        if info.status_code != 200:
            raise SimulationError(f"branch {self.branch}: {info.status_code} {info.text}")
        data = info.json()
        self.services = [s["id"] for s in data["services"]]
        allow_priority = bool(data.get("allow_priority"))
        for index, counter in enumerate(data["counters"]):
            shorts, lunches = self.profile.short_breaks, self.profile.lunch_breaks
            breaks = []
            if shorts:
                breaks.append((*shorts[index % len(shorts)], "break"))
            if lunches:
                breaks.append((*lunches[index % len(lunches)], "lunch"))
            self.counters[counter["id"]] = CounterSim(counter["id"], tuple(counter["services"]), breaks=breaks)
        for arrival in plan_arrivals(self.profile, self.services, self.rng, self.start_s, self.end_s, allow_priority):
            self.at(arrival.at_s, "arrive", payload=arrival)
        for counter in self.counters.values():
            response = await self.post(f"/counters/{counter.id}/open")
            if response.status_code not in (200, 409):
                raise SimulationError(f"opening counter {counter.id}: {response.status_code} {response.text}")
            counter.open = True
            for minute, minutes, reason in counter.breaks:
                if self.start_s <= minute * 60 < self.end_s:
                    self.at(minute * 60.0, "break", counter.id, (minutes, reason))
            self.at(self.start_s, "free", counter.id)

    async def run(self) -> DayResult:
        """Play the day until every arrival has been called and every counter is done."""
        await self.setup()
        hour = -1
        while self._events:
            at, _, kind, counter, payload = heapq.heappop(self._events)
            if kind == "check" and not self._arrivals_left() and self._nothing_to_call():
                continue  # the day is over for idle counters
            await self.timeline.wait_until(at)
            if int(at // 3600) != hour:
                hour = int(at // 3600)
                r = self.result
                self.log(f"{hour:02d}:00  issued {r.issued}  served {r.served}  no-shows {r.no_shows}  "
                         f"waiting {self._waiting}")  # fmt: skip
            await getattr(self, f"_on_{kind}")(at, self.counters.get(counter), payload)
        return self.result

    def _arrivals_left(self) -> bool:
        return any(kind == "arrive" for _, _, kind, _, _ in self._events)

    def _nothing_to_call(self) -> bool:
        """Nobody waits, or every open counter found nobody it serves (the rest wait elsewhere)."""
        return self._waiting <= 0 or all(c.idle or not c.open for c in self.counters.values())

    async def _on_arrive(self, at: float, _counter: CounterSim | None, arrival: Arrival) -> None:
        if self.before_issue is not None:
            await self.before_issue(at)
        response = await self.post("/tickets", {"service": arrival.service, "priority": arrival.priority})
        if response.status_code != 201:
            self.log(f"ticket for {arrival.service} refused: {response.status_code} {response.text}")
            return
        ticket = response.json()
        self.result.issued += 1
        self._waiting += 1
        await self.on_issued(ticket, at)
        idle = [c for c in self.counters.values() if c.idle and c.open and arrival.service in c.services]
        if idle:
            chosen = self.rng.choice(idle)
            chosen.idle = False
            self.at(at, "free", chosen.id)

    async def _on_free(self, at: float, counter: CounterSim, _payload: object) -> None:
        if not counter.open or counter.current is not None:
            return
        due = [b for b in counter.breaks if b[0] * 60 <= at]
        if due:
            counter.breaks.remove(due[0])
            await self._take_break(at, counter, due[0][1], due[0][2])
            return
        response = await self.post(f"/counters/{counter.id}/call-next")
        if response.status_code == 204:
            counter.idle = True
            if self.idle_check_s:
                self.at(at + self.idle_check_s, "check", counter.id)
            return
        if response.status_code != 200:
            self.log(f"counter {counter.id} call-next: {response.status_code} {response.text}")
            counter.idle = True
            return
        ticket = response.json()
        counter.current = ticket
        self.result.called += 1
        self._waiting -= 1
        if ticket.get("issued_at") and ticket.get("called_at") and ticket["calls"] == 1:
            waited = datetime.fromisoformat(ticket["called_at"]) - datetime.fromisoformat(ticket["issued_at"])
            self.result.waits_s.append(waited.total_seconds())
        await self.on_called(ticket, at)
        if self.rng.random() < self.profile.no_show_rate:
            self.at(at + RECALL_AFTER_S, "recall", counter.id)
            self.at(at + NO_SHOW_AFTER_S, "no_show", counter.id)
        else:
            index = self.services.index(ticket["service"]) if ticket["service"] in self.services else 0
            self.at(at + handling_time(self.profile, index, self.rng), "finish", counter.id)

    async def _on_check(self, at: float, counter: CounterSim, _payload: object) -> None:
        if counter.idle:
            counter.idle = False
            await self._on_free(at, counter, None)

    async def _end_current(self, at: float, counter: CounterSim, action: str) -> None:
        response = await self.post(f"/counters/{counter.id}/{action}")
        if response.status_code != 200:
            self.log(f"counter {counter.id} {action}: {response.status_code} {response.text}")
        counter.current = None
        self.at(at + self.rng.uniform(*TURNAROUND_S), "free", counter.id)

    async def _on_finish(self, at: float, counter: CounterSim, _payload: object) -> None:
        self.result.served += 1
        await self._end_current(at, counter, "finish")

    async def _on_recall(self, at: float, counter: CounterSim, _payload: object) -> None:
        await self.post(f"/counters/{counter.id}/recall")

    async def _on_no_show(self, at: float, counter: CounterSim, _payload: object) -> None:
        self.result.no_shows += 1
        await self._end_current(at, counter, "no-show")

    async def _on_break(self, at: float, counter: CounterSim, payload: tuple[int, str]) -> None:
        # Staff go on a break once free: an idle counter goes now, a busy one after its ticket.
        if counter.idle and counter.open:
            matching = [b for b in counter.breaks if b[1:] == payload]
            if matching:
                counter.breaks.remove(matching[0])
            counter.idle = False
            await self._take_break(at, counter, *payload)

    async def _take_break(self, at: float, counter: CounterSim, minutes: int, reason: str) -> None:
        response = await self.post(f"/counters/{counter.id}/pause", {"reason": reason})
        if response.status_code != 200:
            self.log(f"counter {counter.id} pause: {response.status_code} {response.text}")
            self.at(at, "free", counter.id)
            return
        counter.open = False
        self.result.breaks += 1
        self.at(at + minutes * 60, "reopen", counter.id)

    async def _on_reopen(self, at: float, counter: CounterSim, _payload: object) -> None:
        response = await self.post(f"/counters/{counter.id}/open")
        if response.status_code not in (200, 409):
            self.log(f"counter {counter.id} open: {response.status_code} {response.text}")
        counter.open = True
        await self._on_free(at, counter, None)


def _clock_minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    try:
        value = int(hours) * 60 + int(minutes or 0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time like 09:00") from exc
    if not 0 <= value < 24 * 60:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day")
    return value


def add_simulate_command(subparsers: Any) -> None:
    """Add ``nextup simulate`` to the ``nextup`` command's subparsers."""
    p = subparsers.add_parser("simulate", help="drive a running server through a synthetic day, accelerated")
    p.add_argument("--server", default="http://127.0.0.1:8000", help="the server's URL")
    p.add_argument("--branch", default="main")
    p.add_argument("--token", default=os.environ.get("NEXTUP_TOKEN"),
                   help="an admin's token (POST /api/login); default $NEXTUP_TOKEN")  # fmt: skip
    p.add_argument("--speed", type=float, default=60.0, help="simulated seconds per real second (default 60)")
    p.add_argument("--day", choices=sorted(PROFILES), default="busy")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=_clock_minutes, help="simulated time to start at, e.g. 10:30 (default: opening)")
    p.add_argument("--minutes", type=float, help="simulated minutes of arrivals (default: until closing)")
    p.set_defaults(run=simulate_command)


def simulate_command(args: argparse.Namespace) -> int:
    if not args.token:
        print("nextup simulate: --token (or NEXTUP_TOKEN) is required: an admin's token", file=sys.stderr)
        return 2
    if args.speed <= 0:
        print("nextup simulate: --speed must be positive", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(simulate(args.server, args.branch, args.token, PROFILES[args.day], args.speed,
                                      args.seed, args.start, args.minutes, print))  # fmt: skip
    except (SimulationError, httpx.HTTPError) as exc:
        print(f"nextup simulate: {exc}", file=sys.stderr)
        return 1
    waits = sorted(result.waits_s)
    mean = sum(waits) / len(waits) if waits else 0.0
    print(f"done: issued {result.issued}, served {result.served}, no-shows {result.no_shows}, "
          f"breaks {result.breaks}; mean wait {mean * args.speed / 60:.1f} simulated min "
          f"({mean:.1f} s real)", flush=True)  # fmt: skip
    return 0


async def simulate(
    server: str, branch: str, token: str, profile: DayProfile, speed: float, seed: int = 1,
    start_min: int | None = None, minutes: float | None = None, log: Callable[[str], None] | None = None,
) -> DayResult:  # fmt: skip
    """Run a day against ``server`` in real time ``speed`` times faster; what happened."""
    start_s = float((profile.opens_min if start_min is None else start_min) * 60)
    end_s = profile.closes_min * 60.0 if minutes is None else start_s + minutes * 60
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=server.rstrip("/"), headers=headers, timeout=30) as client:
        simulation = Simulation(client, branch, profile, ScaledTimeline(start_s, speed), seed=seed,
                                start_s=start_s, end_s=end_s, log=log)  # fmt: skip
        return await simulation.run()
