"""The Lua scripts in ``server/lua``, each prefixed with ``common.lua``."""

from __future__ import annotations

from importlib import resources

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
    "take_counter",
    "seed_config",
    "save_config",
    "post_notice",
    "phone_view",
    "rate_ticket",
    "file_complaint",
    "update_complaint",
    "purge_complaint_phones",
)


def script_source(name: str) -> str:
    folder = resources.files("server") / "lua"
    common = (folder / "common.lua").read_text(encoding="utf-8")
    return common + "\n" + (folder / f"{name}.lua").read_text(encoding="utf-8")
