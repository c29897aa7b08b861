"""The queue of one branch, kept in Redis: every change is one script call, one round trip.

``QueueStore`` turns each request into one atomic script run and the script's refusal into an
``ApiError``. What needs no Redis (opening hours, field checks) is decided before the call.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from redis.asyncio import Redis

from server import keys, rules
from server.clock import Clock
from server.config import Branch
from server.errors import ApiError, invalid_field, not_found
from server.script_batcher import ScriptBatcher
from server.web.i18n import translate

Json = dict[str, Any]

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


class WaitModel(Protocol):
    """What tells a waiting ticket its wait (``server.metrics.estimate.WaitEstimator``)."""

    def wait_s(self, service: str, priority: bool, same_class_ahead: int, ticket_id: str = "") -> int | None:
        """Seconds until the ticket (or a new one, without ``ticket_id``) is called; None without a model yet."""
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

    async def run_script(
        self, script: str, actor: Actor, *args: str | int | float, now: datetime | None = None
    ) -> tuple[Json, datetime]:
        """Run ``script`` at ``now`` (default: the clock's now) with the common head of arguments."""
        now = now or self.clock.now()
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
        raw = await self.scripts.run(script, [self.prefix], [*head, *args])
        result: Json = json.loads(raw)
        return result, now

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

    def with_position(self, ticket: Json, position: Json | None) -> Json:
        """The ticket plus ``ahead`` and ``estimated_wait_s`` (both null unless it is waiting; the wait
        null too while no open counter serves its service)."""
        if ticket["status"] != rules.TicketStatus.WAITING or position is None:
            return {**ticket, "ahead": None, "estimated_wait_s": None}
        ahead = rules.tickets_ahead(
            ticket["priority"],
            position["same_class_ahead"],
            position["other_class_waiting"],
            self.branch.priority_cap,
        )
        estimate = self.wait_s(
            ticket["service"], bool(ticket["priority"]), int(position["same_class_ahead"]), ahead,
            int(position["open_counters"]), ticket["id"],
        )  # fmt: skip
        return {**ticket, "ahead": ahead, "estimated_wait_s": estimate}

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
            estimate = self.wait_model.wait_s(service, priority, same_class_ahead, ticket_id)
        if estimate is None:
            config = self.branch.services.get(service)
            estimate = rules.estimated_wait_s(ahead, config.average_handling_s if config else 300, serving)
        return estimate

    async def issue_ticket(
        self, service_id: str, priority: bool, actor: Actor, idempotency_key: str = "", limit: IssueLimit | None = None
    ) -> Json:
        """Issue a ticket; ``limit`` is checked and counted in the same script run (429 ``rate_limited``)."""
        service = self.branch.services[service_id]
        now = self.clock.now()
        refusal = rules.issue_refusal(self.branch, service_id, now)
        if refusal:
            raise ApiError(409, refusal.code, refusal.message, message_zh=refusal.message_zh, state=refusal.state)
        day = rules.business_day(self.branch, now).isoformat()
        for _ in range(3):
            result, _ = await self.run_script(
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
            )
            if result.get("error") != "id_collision":
                break
        if "error" in result:
            raise self._refusal(result, service=service_id)
        return self.with_position(result["ticket"], result["position"])

    async def get_ticket(self, ticket_id: str) -> Json:
        result, _ = await self.run_script("ticket_view", NOBODY, ticket_id)
        if "error" in result:
            raise self._refusal(result)
        return self.with_position(result["ticket"], result["position"])

    async def call_next(self, counter: str, actor: Actor) -> Json | None:
        result, _ = await self.run_script(
            "call_next",
            actor,
            counter,
            self.branch.priority_cap,
            keys.RECENT_CALLS,
            *self.branch.counters[counter].services,
        )
        if "error" in result:
            raise self._refusal(result, counter=counter)
        if result.get("empty"):
            return None
        return self.with_position(result["ticket"], None)

    async def call_number(self, counter: str, number: str, actor: Actor) -> Json:
        day = rules.business_day(self.branch, self.clock.now()).isoformat()
        result, _ = await self.run_script(
            "call_number",
            actor,
            counter,
            number,
            day,
            keys.RECENT_CALLS,
            *self.branch.counters[counter].services,
        )
        if "error" in result:
            raise self._refusal(result, counter=counter, what=f"Ticket {number} of today")
        return self.with_position(result["ticket"], None)

    async def recall(self, counter: str, actor: Actor) -> Json:
        result, _ = await self.run_script("recall", actor, counter, keys.RECENT_CALLS)
        if "error" in result:
            raise self._refusal(result, counter=counter)
        return self.with_position(result["ticket"], None)

    async def end_call(self, counter: str, outcome: rules.TicketStatus, actor: Actor) -> Json:
        result, _ = await self.run_script("end_call", actor, counter, outcome.value)
        if "error" in result:
            raise self._refusal(result, counter=counter)
        return self.with_position(result["ticket"], None)

    async def transfer(self, actor: Actor, to_service: str, *, counter: str = "", ticket_id: str = "") -> Json:
        mode, subject = ("counter", counter) if counter else ("ticket", ticket_id)
        result, _ = await self.run_script(
            "transfer", actor, mode, subject, to_service
        )
        if "error" in result:
            raise self._refusal(result, counter=counter)
        return self.with_position(result["ticket"], result["position"])

    async def cancel(self, ticket_id: str) -> Json:
        result, _ = await self.run_script("cancel", Actor("holder"), ticket_id)
        if "error" in result:
            raise self._refusal(result)
        return self.with_position(result["ticket"], None)

    async def reactivate(self, counter: str, number: str, actor: Actor) -> Json:
        now = self.clock.now()
        day = rules.business_day(self.branch, now).isoformat()
        result, _ = await self.run_script(
            "reactivate",
            actor,
            counter,
            number,
            day,
            self.branch.no_show_window_min * 60_000,
            self.branch.no_show_places_back,
        )
        if "error" in result:
            raise self._refusal(result, counter=counter, what=f"Ticket {number} of today")
        return self.with_position(result["ticket"], result["position"])

    async def set_counter_status(self, counter: str, action: str, actor: Actor, reason: str = "") -> Json:
        services = self.branch.counters[counter].services
        result, _ = await self.run_script("counter_status", actor, counter, action, reason, *services)
        if "error" in result:
            raise self._refusal(result, counter=counter)
        result.pop("seq", None)
        return result

    async def take_counter(self, counter: str, action: str, actor: Actor) -> Json:
        """Take a counter for ``actor`` (one member of staff at a time) or release it."""
        result, _ = await self.run_script("take_counter", actor, counter, action)
        if "error" in result:
            raise self._refusal(result, counter=counter)
        result.pop("seq", None)
        return result

    async def state(self) -> Json:
        services = list(self.branch.services)
        result, _ = await self.run_script(
            "branch_state", NOBODY, len(services), *services, *self.branch.counters
        )
        for entry in result["services"]:
            service = self.branch.services[entry["id"]]
            entry.update(name_zh=service.name_zh, name_en=service.name_en, prefix=service.prefix)
        for entry in result["counters"]:
            counter = self.branch.counters[entry["id"]]
            entry.update(name_zh=counter.name_zh, name_en=counter.name_en, services=list(counter.services))
            if entry["current"]:
                entry["current"] = self.with_position(entry["current"], None)
        if not result["recent_calls"]:
            result["recent_calls"] = []  # cjson writes an empty Lua table as {}
        result["branch"] = self.branch.id
        return result

    async def initialise_counters(self) -> None:
        """Give counters seen for the first time their initial status; recount open counters."""
        triples: list[str] = []
        for counter in self.branch.counters.values():
            triples += [counter.id, counter.initial_status, ",".join(counter.services)]
        await self.run_script("sync_counters", NOBODY, *triples)
