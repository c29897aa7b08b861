"""The queue of one branch, kept in Redis: every change is one script call, one round trip.

``QueueStore`` turns each request into one atomic script run and the script's refusal into an
``ApiError``. What needs no Redis (opening hours, field checks) is decided before the call.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol, TypeVar

import msgspec
from redis.asyncio import Redis

from server import keys, rules
from server.clock import Clock
from server.config import Branch
from server.errors import ApiError, invalid_field, not_found
from server.script_batcher import ScriptBatcher
from server.shapes.branch import CounterState, Emergency, Notice, RecentCall, ServiceState, State
from server.shapes.tickets import CounterHolder, CounterStatusResult, Ticket
from server.web.i18n import translate

Json = dict[str, Any]
_JSON = msgspec.json.Decoder(Json)

_MESSAGES: dict[str, str] = {
    "counter_taken": "Counter {counter} is taken by {holder}",
    "not_taken": "Counter {counter} is not taken by anyone",
    "counter_not_open": "Counter {counter} is {state}; open it first",
    "counter_busy": "Counter {counter} is serving {number}; finish it, mark it a no-show or transfer it first",
    "no_current_ticket": "Counter {counter} has no current ticket",
    "invalid_state": "Ticket {number} is {state}",
    "not_served_here": "Counter {counter} does not serve service {service}",
    "reactivation_window_passed": "Ticket {number} missed its turn too long ago to be reactivated",
}


def emergency_refusal(kind: str) -> ApiError:
    """The 409 of a ticket asked for while the branch is in an emergency state, in both languages."""
    key = f"emergency.no_tickets.{kind}"
    return ApiError(409, "emergency", translate(key, "en"), message_zh=translate(key, "zh"), state=kind)


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: recorded on the ticket, in the event and in the audit log."""

    name: str
    #: admin, manager, staff, kiosk, display; "" for a ticket's holder (who has no account).
    role: str = ""
    #: The client's network address.
    source: str = ""


NOBODY = Actor("")


@dataclass(frozen=True)
class IssueLimit:
    """At most ``per_window`` tickets issued by one kiosk account in any ``window_s`` (sliding)."""

    kiosk: str
    per_window: int
    window_s: int = 60


#: The kiosk rate limit's refusal, over HTTP (429) and on the kiosk socket alike.
RATE_LIMITED_MESSAGE = "This kiosk has issued many tickets in the last minute; please wait a moment and try again."
RATE_LIMITED_MESSAGE_ZH = "本机取号过于频繁，请稍候再试。"


def new_ticket_id() -> str:
    """128 random bits: unique forever in practice and unguessable (it is the key of the phone page)."""
    return secrets.token_urlsafe(16)


class Position(msgspec.Struct):
    """Where a waiting ticket stands (``lua/common.lua`` ``position``)."""

    same_class_ahead: int
    other_class_waiting: int
    open_counters: int


class TicketReply(msgspec.Struct):
    """What a ticket script answers: the ticket and, for a waiting one, its place; or a refusal
    (``error``, with fields of its own that ``QueueStore`` reads from the reply as JSON)."""

    ticket: Ticket | None = None
    position: Position | None = None
    error: str | None = None
    #: call-next: nothing waits.
    empty: bool = False


R = TypeVar("R", bound=TicketReply)


@cache
def _decoder(shape: type[R]) -> msgspec.json.Decoder[R]:
    return msgspec.json.Decoder(shape)


class _ServiceCount(msgspec.Struct):
    id: str
    waiting: int
    priority_waiting: int


class _CounterNow(msgspec.Struct):
    id: str
    status: rules.CounterStatus
    reason: str | None
    staff: str | None
    holder: str | None
    current: Ticket | None


class _BranchNow(msgspec.Struct):
    """``lua/branch_state.lua``'s reply; cjson writes an empty list as ``{}``."""

    services: list[_ServiceCount] | dict[str, Any]
    counters: list[_CounterNow] | dict[str, Any]
    recent_calls: list[RecentCall] | dict[str, Any]
    seq: str | None
    notice: Notice | None
    emergency: Emergency | None = None


_BRANCH_NOW = msgspec.json.Decoder(_BranchNow)


class WaitModel(Protocol):
    """What tells a waiting ticket its wait (``server.metrics.estimate.WaitEstimator``)."""

    def wait_s(
        self, service: str, priority: bool, same_class_ahead: int, ticket_id: str = "", serving: int | None = None
    ) -> int | None:
        """Seconds until the ticket (or a new one, without ``ticket_id``) is called; None without a model
        yet, or when its snapshot had another number of open counters serving the service than ``serving``
        (counted now): a counter opened, paused or closed since, and its replay would mislead."""
        ...


class QueueStore:
    def __init__(self, redis: Redis, branch: Branch, clock: Clock) -> None:
        self.redis = redis
        self.scripts = ScriptBatcher(redis)
        self.branch = branch
        self.clock = clock
        #: The modelled wait, once the app has started its estimator; the simple formula until then.
        self.wait_model: WaitModel | None = None
        self.prefix = keys.branch_prefix(branch.id)

    async def _call(self, script: str, actor: Actor, args: tuple[str | int | float, ...], now: datetime) -> str:
        """Run ``script`` at ``now`` with the common head of arguments; its reply, as JSON text."""
        local = now.astimezone(self.branch.zone)
        head = (
            int(now.timestamp() * 1000),
            local.isoformat(timespec="milliseconds"),
            actor.name,
            self.branch.id,
            keys.EVENT_STREAM_MAXLEN,
            actor.role,
            actor.source,
        )
        return await self.scripts.run(script, [self.prefix], [*head, *args])

    async def run_script(
        self, script: str, actor: Actor, *args: str | int | float, now: datetime | None = None
    ) -> tuple[Json, datetime]:
        """Run ``script`` at ``now`` (default: the clock's now); its reply as a JSON object."""
        now = now or self.clock.now()
        return _JSON.decode(await self._call(script, actor, args, now)), now

    async def run_ticket_script(
        self, reply: type[R], script: str, actor: Actor, *args: str | int | float, now: datetime | None = None,
        context: dict[str, str] | None = None,
    ) -> R:  # fmt: skip
        """Run a script that answers a ticket, decoded as ``reply``; its refusal raised as ``ApiError``
        (``context`` fills in the refusal's message), except ``id_collision``, which callers retry."""
        raw = await self._call(script, actor, args, now or self.clock.now())
        result: R = _decoder(reply).decode(raw)
        if result.error is not None and result.error != "id_collision":
            raise self._refusal(_JSON.decode(raw), **(context or {}))
        return result

    async def _ticket(self, script: str, actor: Actor, *args: str | int | float, **context: str) -> Ticket:
        reply = await self.run_ticket_script(TicketReply, script, actor, *args, context=context)
        return self.with_position(_called(reply), reply.position)

    def _refusal(self, result: Json, **context: str) -> ApiError:
        code = result.pop("error")
        if code == "invalid_state" and "number" not in result:
            return ApiError(409, code, f"Counter {context['counter']} is {result['state']}", **result)
        if code == "not_found":
            return not_found(context.get("what", "ticket"))
        if code == "same_service":
            return invalid_field("service", f"The ticket is already in service {result['service']}")
        if code == "daily_cap_reached":
            service = self.branch.services[context["service"]]
            return ApiError(
                409,
                code,
                f"All {result['cap']} tickets for {service.name_en} have been issued today.",
                message_zh=f"{service.name_zh}今日号票已取完（限{result['cap']}张）。",
                state="sold_out",
            )
        if code == "emergency":
            return emergency_refusal(result["state"])
        if code == "rate_limited":
            return ApiError(429, code, RATE_LIMITED_MESSAGE, message_zh=RATE_LIMITED_MESSAGE_ZH, **result)
        template = _MESSAGES.get(code) or code
        return ApiError(409, code, template.format(**context, **result), **result)

    def daily_cap_refusal(self, service_id: str, cap: int) -> ApiError:
        """The refusal of a ticket of a service whose daily cap is reached (as ``issue_ticket`` gives it)."""
        return self._refusal({"error": "daily_cap_reached", "cap": cap}, service=service_id)

    def with_position(self, ticket: Ticket, position: Position | None) -> Ticket:
        """The ticket with ``ahead`` and ``estimated_wait_s`` (both null unless it is waiting; the wait
        null too while no open counter serves its service)."""
        if ticket.status != rules.TicketStatus.WAITING or position is None:
            return ticket
        ahead = rules.tickets_ahead(
            ticket.priority, position.same_class_ahead, position.other_class_waiting, self.branch.priority_cap
        )
        estimate = self.wait_s(
            ticket.service, ticket.priority, position.same_class_ahead, ahead, position.open_counters, str(ticket.id)
        )
        return msgspec.structs.replace(ticket, ahead=ahead, estimated_wait_s=estimate)

    def wait_s(
        self, service: str, priority: bool, same_class_ahead: int, ahead: int, serving: int, ticket_id: str = ""
    ) -> int | None:
        """The wait a ticket of ``service`` is told (or a new one, without ``ticket_id``): the one
        figure of the API, the phone page, the kiosk's buttons and the printed ticket.

        None when no open counter serves the service (``serving``, counted in Redis): nobody can
        call it, so no minutes are promised. Otherwise the modelled wait (recent handling times,
        shared counters, who is busy), computed in the background; the simple formula until this
        process has a snapshot that knows a counter serving it.
        """
        if serving <= 0:
            return None
        estimate = None
        if self.wait_model is not None:
            estimate = self.wait_model.wait_s(service, priority, same_class_ahead, ticket_id, serving)
        if estimate is None:
            config = self.branch.services.get(service)
            estimate = rules.estimated_wait_s(ahead, config.average_handling_s if config else 300, serving)
        return estimate

    async def issue_ticket(
        self, service_id: str, priority: bool, actor: Actor, idempotency_key: str = "", limit: IssueLimit | None = None
    ) -> Ticket:
        """Issue a ticket; ``limit`` is checked and counted in the same script run (429 ``rate_limited``)."""
        service = self.branch.services[service_id]
        now = self.clock.now()
        refusal = rules.issue_refusal(self.branch, service_id, now)
        if refusal:
            raise ApiError(409, refusal.code, refusal.message, message_zh=refusal.message_zh, state=refusal.state)
        day = rules.business_day(self.branch, now).isoformat()
        for _ in range(3):
            reply = await self.run_ticket_script(
                TicketReply,
                "issue_ticket",
                actor,
                new_ticket_id(),
                service_id,
                service.prefix,
                self.branch.number_width,
                "1" if priority else "0",
                day,
                service.daily_cap,
                idempotency_key,
                keys.IDEMPOTENCY_TTL_S,
                limit.kiosk if limit else "",
                limit.per_window if limit else 0,
                limit.window_s * 1000 if limit else 0,
                now=now,
                context={"service": service_id},
            )
            if reply.error is None:
                return self.with_position(_called(reply), reply.position)
        raise ApiError(503, "unavailable", "Could not draw a new ticket id; try again")

    async def get_ticket(self, ticket_id: str) -> Ticket:
        return await self._ticket("ticket_view", NOBODY, ticket_id)

    async def call_next(self, counter: str, actor: Actor) -> Ticket | None:
        services = self.branch.counters[counter].services
        reply = await self.run_ticket_script(
            TicketReply, "call_next", actor, counter, self.branch.priority_cap, keys.RECENT_CALLS, *services,
            context={"counter": counter},
        )  # fmt: skip
        return None if reply.empty else _called(reply)

    async def call_number(self, counter: str, number: str, actor: Actor) -> Ticket:
        day = rules.business_day(self.branch, self.clock.now()).isoformat()
        services = self.branch.counters[counter].services
        return await self._ticket(
            "call_number", actor, counter, number, day, keys.RECENT_CALLS, *services,
            counter=counter, what=f"Ticket {number} of today",
        )  # fmt: skip

    async def recall(self, counter: str, actor: Actor) -> Ticket:
        return await self._ticket("recall", actor, counter, keys.RECENT_CALLS, counter=counter)

    async def end_call(self, counter: str, outcome: rules.TicketStatus, actor: Actor) -> Ticket:
        return await self._ticket("end_call", actor, counter, outcome.value, counter=counter)

    async def transfer(self, actor: Actor, to_service: str, *, counter: str = "", ticket_id: str = "") -> Ticket:
        mode, subject = ("counter", counter) if counter else ("ticket", ticket_id)
        return await self._ticket("transfer", actor, mode, subject, to_service, counter=counter)

    async def cancel(self, ticket_id: str) -> Ticket:
        return await self._ticket("cancel", Actor("holder"), ticket_id)

    async def reactivate(self, counter: str, number: str, actor: Actor) -> Ticket:
        now = self.clock.now()
        day = rules.business_day(self.branch, now).isoformat()
        return await self._ticket(
            "reactivate", actor, counter, number, day, self.branch.no_show_window_min * 60_000,
            self.branch.no_show_places_back, counter=counter, what=f"Ticket {number} of today",
        )  # fmt: skip

    async def set_counter_status(
        self, counter: str, action: str, actor: Actor, reason: str = ""
    ) -> CounterStatusResult:
        services = self.branch.counters[counter].services
        result, _ = await self.run_script("counter_status", actor, counter, action, reason, *services)
        if "error" in result:
            raise self._refusal(result, counter=counter)
        return CounterStatusResult(result["counter"], result["status"], result["reason"])

    async def take_counter(self, counter: str, action: str, actor: Actor) -> CounterHolder:
        """Take a counter for ``actor`` (one member of staff at a time) or release it."""
        result, _ = await self.run_script("take_counter", actor, counter, action)
        if "error" in result:
            raise self._refusal(result, counter=counter)
        return CounterHolder(result["counter"], result["holder"], result["status"])

    async def state(self) -> State:
        branch = self.branch
        services = list(branch.services)
        raw = await self._call("branch_state", NOBODY, (len(services), *services, *branch.counters), self.clock.now())
        now = _BRANCH_NOW.decode(raw)
        counts = now.services if isinstance(now.services, list) else []
        counters = now.counters if isinstance(now.counters, list) else []
        return State(
            branch=branch.id,
            seq=now.seq,
            services=[
                ServiceState(id=c.id, prefix=s.prefix, name_zh=s.name_zh, name_en=s.name_en, waiting=c.waiting,
                             priority_waiting=c.priority_waiting)
                for c in counts if (s := branch.services.get(c.id)) is not None
            ],
            counters=[
                CounterState(id=c.id, name_zh=k.name_zh, name_en=k.name_en, services=list(k.services),
                             status=c.status, reason=c.reason, staff=c.staff, holder=c.holder, current=c.current)
                for c in counters if (k := branch.counters.get(c.id)) is not None
            ],
            recent_calls=now.recent_calls if isinstance(now.recent_calls, list) else [],
            notice=now.notice,
            emergency=now.emergency,
        )  # fmt: skip

    async def initialise_counters(self) -> None:
        """Give counters seen for the first time their initial status; recount open counters."""
        triples: list[str] = []
        for counter in self.branch.counters.values():
            triples += [counter.id, counter.initial_status, ",".join(counter.services)]
        await self.run_script("sync_counters", NOBODY, *triples)


def _called(reply: TicketReply) -> Ticket:
    if reply.ticket is None:
        raise ApiError(500, "internal", "The queue script answered without a ticket")
    return reply.ticket
