"""Random operation sequences against the real Redis scripts, checked step by step by a plain model.

The model below restates the queue rules in the simplest Python (lists sorted by place in line);
after every operation the store must have done exactly what the model did, and the invariants
(one current ticket per counter, gapless unique numbers, nothing lost, the priority cap) must hold.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from server import rules
from server.clock import ManualClock
from server.config import Branch, Counter, Service
from server.errors import ApiError
from server.rules import TicketStatus
from server.store import Actor, QueueStore

SERVICES = ("A", "B")
COUNTERS = {"1": ("A", "B"), "2": ("A",), "3": ("B",)}
STAFF = Actor("staff1", "staff", "127.0.0.1")
KIOSK = Actor("kiosk1", "kiosk", "127.0.0.1")
OUTCOMES = st.sampled_from([TicketStatus.SERVED, TicketStatus.NO_SHOW])


def property_branch(cap: int, places_back: int) -> Branch:
    return Branch(
        id="prop",
        name_zh="测试",
        name_en="Test",
        timezone="Asia/Shanghai",
        number_width=3,
        priority_cap=cap,
        no_show_window_min=30,
        no_show_places_back=places_back,
        allow_priority=True,
        hours={day: ((0, 24 * 60),) for day in range(7)},
        closed_dates=frozenset(),
        services={s: Service(s, s, f"业务{s}", f"Service {s}") for s in SERVICES},
        counters={c: Counter(c, f"{c}号窗口", f"Counter {c}", served, "open") for c, served in COUNTERS.items()},
    )


@dataclass
class ModelTicket:
    id: str
    number: str
    service: str
    priority: bool
    status: TicketStatus = TicketStatus.WAITING
    counter: str | None = None
    calls: int = 0


@dataclass
class ModelCounter:
    status: str = "open"
    current: str | None = None
    streak: int = 0
    #: Every call at the counter, for the cap invariant: (was priority, regular was waiting, by call-next).
    picks: list[tuple[bool, bool, bool]] = field(default_factory=list)


class QueueModel:
    def __init__(self, cap: int, places_back: int) -> None:
        self.cap = cap
        self.places_back = places_back
        self.tickets: dict[str, ModelTicket] = {}
        self.places: dict[str, float] = {}
        self.order = 0
        self.issued: dict[str, int] = dict.fromkeys(SERVICES, 0)
        self.counters = {c: ModelCounter() for c in COUNTERS}

    def queue(self, service: str, priority: bool) -> list[str]:
        waiting = [
            t.id for t in self.tickets.values()
            if t.status == TicketStatus.WAITING and t.service == service and t.priority == priority
        ]
        return sorted(waiting, key=self.places.__getitem__)

    def issue(self, ticket_id: str, service: str, priority: bool) -> ModelTicket:
        self.issued[service] += 1
        self.order += 1
        ticket = ModelTicket(ticket_id, f"{service}{self.issued[service]:03d}", service, priority)
        self.tickets[ticket_id] = ticket
        self.places[ticket_id] = self.order
        return ticket

    def ahead(self, ticket: ModelTicket) -> int:
        same = self.queue(ticket.service, ticket.priority).index(ticket.id)
        other = len(self.queue(ticket.service, not ticket.priority))
        return rules.tickets_ahead(ticket.priority, same, other, self.cap)

    def refusal_to_call(self, counter: str) -> str | None:
        c = self.counters[counter]
        if c.status != "open":
            return "counter_not_open"
        if c.current:
            return "counter_busy"
        return None

    def next_for(self, counter: str) -> str | None:
        def head(priority: bool) -> str | None:
            heads = [q[0] for s in COUNTERS[counter] if (q := self.queue(s, priority))]
            return min(heads, key=self.places.__getitem__, default=None)

        pri, reg = head(True), head(False)
        choice = rules.choose_priority(self.counters[counter].streak, self.cap, pri is not None, reg is not None)
        if choice is None:
            return None
        self.counters[counter].picks.append((choice, reg is not None, True))
        return pri if choice else reg

    def call(self, counter: str, ticket_id: str) -> None:
        ticket = self.tickets[ticket_id]
        ticket.status, ticket.counter = TicketStatus.CALLED, counter
        ticket.calls += 1
        c = self.counters[counter]
        c.current = ticket_id
        c.streak = c.streak + 1 if ticket.priority else 0

    def reactivate(self, ticket: ModelTicket) -> None:
        line = self.queue(ticket.service, ticket.priority)
        if self.places_back == 0 and line:
            self.places[ticket.id] = self.places[line[0]] - 1
        elif len(line) > self.places_back > 0:
            self.places[ticket.id] = (self.places[line[self.places_back - 1]] + self.places[line[self.places_back]]) / 2
        else:
            self.order += 1
            self.places[ticket.id] = self.order
        ticket.status, ticket.counter = TicketStatus.WAITING, None


class QueueMachine(RuleBasedStateMachine):
    """Drives a QueueStore on real Redis and the model side by side."""

    redis_url: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.redis = redis.asyncio.Redis.from_url(self.redis_url, decode_responses=True)
        self.clock = ManualClock(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))

    @initialize(cap=st.integers(1, 3), places_back=st.integers(0, 3))
    def start(self, cap: int, places_back: int) -> None:
        self.run(self.redis.flushdb())
        self.store = QueueStore(self.redis, property_branch(cap, places_back), self.clock)
        self.run(self.store.initialise_counters())
        self.model = QueueModel(cap, places_back)

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def attempt(self, coroutine: Any) -> tuple[Any, str | None]:
        try:
            return self.run(coroutine), None
        except ApiError as exc:
            return None, exc.code

    def teardown(self) -> None:
        self.run(self.redis.aclose())
        self.loop.close()

    @rule(service=st.sampled_from(SERVICES), priority=st.booleans())
    def issue(self, service: str, priority: bool) -> None:
        self.clock.set(self.clock.now() + timedelta(seconds=7))
        ticket = self.run(self.store.issue_ticket(service, priority, KIOSK))
        expected = self.model.issue(ticket.id, service, priority)
        assert ticket.number == expected.number
        assert ticket.status == "waiting"
        assert ticket.ahead == self.model.ahead(expected)

    @rule(counter=st.sampled_from(sorted(COUNTERS)))
    def call_next(self, counter: str) -> None:
        refusal = self.model.refusal_to_call(counter)
        ticket, code = self.attempt(self.store.call_next(counter, STAFF))
        assert code == refusal
        if refusal:
            return
        expected = self.model.next_for(counter)
        assert (ticket and ticket.id) == expected
        if expected:
            self.model.call(counter, expected)

    @rule(counter=st.sampled_from(sorted(COUNTERS)), outcome=OUTCOMES)
    def end_call_then_call_next(self, counter: str, outcome: TicketStatus) -> None:
        """The counter's usual rhythm: finish (or no-show) the current ticket, call the next one."""
        if self.model.counters[counter].current:
            self.end_call(counter, outcome)
        self.call_next(counter)

    @rule(services=st.lists(st.tuples(st.sampled_from(SERVICES), st.booleans()), min_size=2, max_size=5))
    def issue_several(self, services: list[tuple[str, bool]]) -> None:
        for service, priority in services:
            self.issue(service, priority)

    @rule(counter=st.sampled_from(sorted(COUNTERS)), pick=st.integers(0, 200))
    def call_number(self, counter: str, pick: int) -> None:
        if not self.model.tickets:
            return
        ticket = list(self.model.tickets.values())[pick % len(self.model.tickets)]
        result, code = self.attempt(self.store.call_number(counter, ticket.number, STAFF))
        refusal = self.model.refusal_to_call(counter)
        if refusal is None and ticket.status != TicketStatus.WAITING:
            refusal = "invalid_state"
        if refusal is None and ticket.service not in COUNTERS[counter]:
            refusal = "not_served_here"
        assert code == refusal
        if refusal is None:
            assert result.id == ticket.id
            self.model.counters[counter].picks.append((ticket.priority, False, False))
            self.model.call(counter, ticket.id)

    @rule(counter=st.sampled_from(sorted(COUNTERS)))
    def recall(self, counter: str) -> None:
        current = self.model.counters[counter].current
        result, code = self.attempt(self.store.recall(counter, STAFF))
        if current is None:
            assert code == "no_current_ticket"
            return
        self.model.tickets[current].calls += 1
        assert result.calls == self.model.tickets[current].calls

    @rule(counter=st.sampled_from(sorted(COUNTERS)), outcome=OUTCOMES)
    def end_call(self, counter: str, outcome: TicketStatus) -> None:
        current = self.model.counters[counter].current
        result, code = self.attempt(self.store.end_call(counter, outcome, STAFF))
        if current is None:
            assert code == "no_current_ticket"
            return
        assert result.id == current and result.status == outcome.value
        self.model.tickets[current].status = outcome
        self.model.counters[counter].current = None

    @rule(counter=st.sampled_from(sorted(COUNTERS)), to=st.sampled_from(SERVICES))
    def transfer_current(self, counter: str, to: str) -> None:
        current = self.model.counters[counter].current
        result, code = self.attempt(self.store.transfer(STAFF, to, counter=counter))
        if current is None:
            assert code == "no_current_ticket"
            return
        ticket = self.model.tickets[current]
        if ticket.service == to:
            assert code == "invalid_field"
            return
        assert code is None and result.number == ticket.number and result.service == to
        ticket.status, ticket.service, ticket.counter = TicketStatus.WAITING, to, None
        self.model.counters[counter].current = None
        assert result.ahead == self.model.ahead(ticket)

    @rule(pick=st.integers(0, 200), action=st.sampled_from(["cancel", "transfer"]), to=st.sampled_from(SERVICES))
    def act_on_ticket(self, pick: int, action: str, to: str) -> None:
        if not self.model.tickets:
            return
        ticket = list(self.model.tickets.values())[pick % len(self.model.tickets)]
        if action == "cancel":
            result, code = self.attempt(self.store.cancel(ticket.id))
            if ticket.status != TicketStatus.WAITING:
                assert code == "invalid_state"
                return
            assert result.status == "cancelled"
            ticket.status = TicketStatus.CANCELLED
            return
        result, code = self.attempt(self.store.transfer(STAFF, to, ticket_id=ticket.id))
        if ticket.status not in (TicketStatus.WAITING, TicketStatus.CALLED):
            assert code == "invalid_state"
            return
        if ticket.service == to:
            assert code == "invalid_field"
            return
        assert code is None
        if ticket.status == TicketStatus.CALLED and ticket.counter:
            self.model.counters[ticket.counter].current = None
        ticket.status, ticket.service, ticket.counter = TicketStatus.WAITING, to, None
        assert result.ahead == self.model.ahead(ticket)

    @rule(pick=st.integers(0, 200))
    def reactivate(self, pick: int) -> None:
        if not self.model.tickets:
            return
        ticket = list(self.model.tickets.values())[pick % len(self.model.tickets)]
        result, code = self.attempt(self.store.reactivate("1", ticket.number, STAFF))
        if ticket.status != TicketStatus.NO_SHOW:
            assert code == "invalid_state"
            return
        assert code is None
        self.model.reactivate(ticket)
        assert result.ahead == self.model.ahead(ticket)

    @rule(counter=st.sampled_from(sorted(COUNTERS)), action=st.sampled_from(["open", "pause", "close"]))
    def counter_status(self, counter: str, action: str) -> None:
        c = self.model.counters[counter]
        allowed = {"open": ("closed", "paused"), "pause": ("open",), "close": ("open", "paused")}[action]
        result, code = self.attempt(self.store.set_counter_status(counter, action, STAFF, "break"))
        if c.status not in allowed:
            assert code == "invalid_state"
            return
        if action != "open" and c.current:
            assert code == "counter_busy"
            return
        assert code is None
        c.status = result.status
        assert c.status == {"open": "open", "pause": "paused", "close": "closed"}[action]

    @invariant()
    def store_matches_model(self) -> None:
        if not hasattr(self, "model"):
            return
        state = self.run(self.store.state())
        for entry in state.services:
            expected = len(self.model.queue(entry.id, False)) + len(self.model.queue(entry.id, True))
            assert entry.waiting == expected
        for entry in state.counters:
            model = self.model.counters[entry.id]
            assert entry.status == model.status
            assert (entry.current and entry.current.id) == model.current

    @invariant()
    def one_counter_per_called_ticket(self) -> None:
        if not hasattr(self, "model"):
            return
        currents = [c.current for c in self.model.counters.values() if c.current]
        assert len(currents) == len(set(currents))
        called = {t.id for t in self.model.tickets.values() if t.status == TicketStatus.CALLED}
        assert called == set(currents)

    @invariant()
    def numbers_unique_and_gapless(self) -> None:
        if not hasattr(self, "model"):
            return
        for service in SERVICES:
            numbers = sorted(int(t.number[1:]) for t in self.model.tickets.values() if t.number[0] == service)
            assert numbers == list(range(1, len(numbers) + 1))

    @invariant()
    def priority_cap_holds(self) -> None:
        if not hasattr(self, "model"):
            return
        for counter in self.model.counters.values():
            run = 0
            for was_priority, regular_waiting, by_call_next in counter.picks:
                run = run + 1 if was_priority else 0
                assert not (by_call_next and was_priority and regular_waiting and run > self.model.cap)


@pytest.mark.redis
def test_random_operation_sequences_follow_the_rules(redis_url: str, redis_client: object) -> None:
    """Any sequence of queue operations leaves Redis exactly where the rules say."""
    QueueMachine.redis_url = redis_url
    runner = QueueMachine.TestCase
    runner.settings = settings(
        max_examples=80, stateful_step_count=50, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    runner().runTest()
