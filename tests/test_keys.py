"""The scripts use the key layout of server/keys.py and the transitions of server/rules.py, not copies.

The Lua functions and tables are generated when the scripts load (``server/scripts.py``); these tests
run what was generated in Redis against the Python, and check the hand-written Lua spells no key.
"""

from __future__ import annotations

import inspect
import itertools
import re
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from enum import Enum
from importlib import resources

import pytest
import redis
import redis.asyncio

from server import keys, rules
from server.clock import ManualClock
from server.config import demo_branch
from server.errors import ApiError
from server.rules import CounterStatus, TicketStatus
from server.scripts import ScriptPreludeError, branch_key_functions, lua_key_function, lua_prelude
from server.store import Actor, QueueStore

ADMIN = Actor("admin", "admin", "127.0.0.1")
#: Argument values for the key functions: plain, with the separator, with a hash tag's brace, Chinese.
SAMPLES = ("A", "2026-12-01", "a:b", "x{y}", "窗口一")


def lua_sources() -> dict[str, str]:
    """Every hand-written script, its comments removed."""
    folder = resources.files("server") / "lua"
    return {
        entry.name: re.sub(r"--[^\n]*", "", entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".lua")
    }


def parameters(function: Callable[..., str]) -> dict[str, bool]:
    """A key function's parameters after ``branch``: name -> whether it is a flag (bool)."""
    hints = typing.get_type_hints(function)
    return {name: hints[name] is bool for name in list(inspect.signature(function).parameters)[1:]}


def key_fragments() -> set[str]:
    """What the layout spells between the branch prefix and an argument: ``ticket:``, ``metrics:day:``..."""
    fragments: set[str] = set()
    for function in branch_key_functions().values():
        built = function("b", *(True if flag else "\x00" for flag in parameters(function).values()))
        fragments |= {piece for piece in built.removeprefix(keys.branch_prefix("b")).split("\x00") if ":" in piece}
    return fragments


@pytest.mark.redis
@pytest.mark.parametrize("branch", ["main", "hall-2", "营业厅"])
def test_generated_key_functions_name_the_keys_of_keys_py(redis_client: redis.Redis, branch: str) -> None:
    """Run in Redis with the branch prefix as KEYS[1], each k_<name>(...) returns keys.<name>(branch, ...)."""
    calls: list[str] = []
    argv: list[str] = []
    expected: list[str] = []
    for name, function in branch_key_functions().items():
        params = list(parameters(function))
        flags = [p for p, flag in parameters(function).items() if flag]
        for sample, values in itertools.product(SAMPLES, itertools.product((True, False), repeat=len(flags))):
            chosen = dict(zip(flags, values, strict=True))
            args: list[str | bool] = [chosen.get(p, sample) for p in params]
            lua_args = []
            for arg in args:
                argv.append(("1" if arg else "0") if isinstance(arg, bool) else str(arg))
                lua_args.append(f"ARGV[{len(argv)}]")
            calls.append(f"k_{name}({', '.join(lua_args)})")
            expected.append(function(branch, *args))
    script = f"{lua_prelude()}\nreturn {{{', '.join(calls)}}}"
    assert redis_client.eval(script, 1, keys.branch_prefix(branch), *argv) == expected


def test_no_script_reads_the_prefix_or_spells_a_key() -> None:
    """The hand-written Lua names keys only through the generated k_ functions."""
    fragments = key_fragments()
    assert {"ticket:", "queue:", "numbers:", "rating:", "complaint:"} <= fragments
    for name, source in lua_sources().items():
        assert not re.search(r"\b(KEYS|PREFIX)\b", source), name
        literals = re.findall(r"'([^']*)'|\"([^\"]*)\"", source)
        for literal in (single or double for single, double in literals):
            assert keys.ROOT not in literal, (name, literal)
            assert not any(fragment in literal for fragment in fragments), (name, literal)


def test_a_key_outside_the_branch_stops_the_load() -> None:
    """A key function whose name does not start with the branch prefix cannot become a script's key."""

    def elsewhere(branch: str, ticket_id: str) -> str:
        return f"{keys.ROOT}:ticket:{branch}:{ticket_id}"

    def counted(branch: str, n: int) -> str:
        return f"{keys.branch_prefix(branch)}{n}"

    with pytest.raises(ScriptPreludeError, match="prefix"):
        lua_key_function("elsewhere", elsewhere)
    with pytest.raises(ScriptPreludeError, match="parameter n"):
        lua_key_function("counted", counted)


def test_the_prelude_holds_the_transition_tables_of_rules_py() -> None:
    """Each allowed start of rules.py's tables is in the generated Lua table, and nothing else is."""
    for table_name, table in (("TICKET_TRANSITIONS", rules.TICKET_TRANSITIONS),
                              ("COUNTER_TRANSITIONS", rules.COUNTER_TRANSITIONS)):
        line = next(line for line in lua_prelude().splitlines() if line.startswith(f"local {table_name} ="))
        generated = {
            action: set(re.findall(r"\['(\w+)'\] = true", entries))
            for action, entries in re.findall(r"\['(\w+)'\] = \{([^}]*)\}", line)
        }
        assert generated == {action: {s.value for s in starts} for action, starts in table.items()}


# --- the transitions the scripts enforce -----------------------------------------------------------


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[QueueStore]:
    """A store of the demo branch on an empty database, its counters open."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    queue = QueueStore(client, demo_branch(), ManualClock(datetime(2026, 12, 1, 2, tzinfo=UTC)))
    await queue.initialise_counters()
    yield queue
    await client.aclose()


async def refusal(action: Awaitable[object]) -> ApiError | None:
    try:
        await action
    except ApiError as error:
        return error
    return None


def expect(error: ApiError | None, allowed: bool, status: Enum) -> None:
    """An allowed start succeeds; any other is 409 invalid_state naming the state."""
    if allowed:
        assert error is None, error.body()
    else:
        assert error is not None and (error.status, error.code) == (409, "invalid_state")
        assert error.extra["state"] == status.value


def every_start(table: Mapping[str, object], statuses: type[Enum]) -> pytest.MarkDecorator:
    """Parametrise a test over every action of a transition table from every status."""
    return pytest.mark.parametrize(
        ("action", "status"),
        list(itertools.product(table, statuses)),
        ids=lambda value: str(value.value if isinstance(value, Enum) else value),
    )


@pytest.mark.redis
@every_start(rules.TICKET_TRANSITIONS, TicketStatus)
async def test_ticket_transitions_enforced_are_those_of_rules_py(
    store: QueueStore, action: str, status: TicketStatus
) -> None:
    """Every ticket action from every status is refused exactly when rules.TICKET_TRANSITIONS says."""
    ticket = await store.issue_ticket("A", False, Actor("kiosk1", "kiosk"))
    now_ms = int(store.clock.now().timestamp() * 1000)
    await store.redis.hset(
        keys.ticket(store.branch.id, ticket.id),
        mapping={"status": status.value, "counter": "1", "no_show_ms": now_ms},
    )
    if action in ("recall", "finish", "no_show"):
        await store.redis.hset(keys.counter(store.branch.id, "1"), "current", ticket.id)
    number = ticket.number
    attempt = {
        "call": lambda: store.call_number("1", number, ADMIN),
        "recall": lambda: store.recall("1", ADMIN),
        "finish": lambda: store.end_call("1", TicketStatus.SERVED, ADMIN),
        "no_show": lambda: store.end_call("1", TicketStatus.NO_SHOW, ADMIN),
        "transfer": lambda: store.transfer(ADMIN, "B", ticket_id=ticket.id),
        "cancel": lambda: store.cancel(ticket.id),
        "reactivate": lambda: store.reactivate("1", number, ADMIN),
    }[action]
    expect(await refusal(attempt()), status in rules.TICKET_TRANSITIONS[action], status)


@pytest.mark.redis
@every_start(rules.COUNTER_TRANSITIONS, CounterStatus)
async def test_counter_transitions_enforced_are_those_of_rules_py(
    store: QueueStore, action: str, status: CounterStatus
) -> None:
    """Every counter action from every status is refused exactly when rules.COUNTER_TRANSITIONS says."""
    await store.redis.hset(keys.counter(store.branch.id, "1"), "status", status.value)
    error = await refusal(store.set_counter_status("1", action, ADMIN, "break"))
    expect(error, status in rules.COUNTER_TRANSITIONS[action], status)
