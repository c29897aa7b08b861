"""Loads the Lua scripts in ``server/lua``, each prefixed with ``common.lua``."""

from __future__ import annotations

from importlib import resources

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

SCRIPT_NAMES = (
    "issue_ticket",
    "call_next",
    "call_number",
    "recall",
    "end_call",
    "transfer",
    "cancel",
    "reactivate",
    "counter_status",
    "ticket_view",
    "branch_state",
    "sync_counters",
)


def script_source(name: str) -> str:
    folder = resources.files("server") / "lua"
    common = (folder / "common.lua").read_text(encoding="utf-8")
    return common + "\n" + (folder / f"{name}.lua").read_text(encoding="utf-8")


class Scripts:
    """Every script registered on one Redis client (EVALSHA, falling back to EVAL once)."""

    def __init__(self, redis: Redis) -> None:
        self.by_name: dict[str, AsyncScript] = {
            name: redis.register_script(script_source(name)) for name in SCRIPT_NAMES
        }

    def __getitem__(self, name: str) -> AsyncScript:
        return self.by_name[name]
