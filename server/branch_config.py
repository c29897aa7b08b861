"""The branch configuration, kept in Redis so that admin changes apply at once to every process.

At start the branch file is applied when it changed since it was last applied; otherwise the
stored configuration (with the changes made since in the admin pages) stays. Every save bumps a
version, publishes it, and appends a ``config_changed`` event; each process reloads on the
message. A save based on an old version is refused and retried on the fresh one, so two admins
editing different things at once both keep their change.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from typing import Any

from server import keys
from server.background import ChannelFollower
from server.config import Branch, branch_from_json, branch_to_data
from server.errors import ApiError, ConfigError, invalid_field
from server.store import NOBODY, Actor, QueueStore

log = logging.getLogger("nextup.config")

#: Attempts of a read-modify-write of the configuration before giving up (409).
SAVE_ATTEMPTS = 5


def data_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


#: The parts of the configuration a change can be about: those of one item (a list of ``{"id"}``)
#: and the others (one table).
ITEM_PARTS = {"service": "services", "counter": "counters"}
TABLE_PARTS = ("branch", "hours")


def change_summary(before: dict[str, Any], after: dict[str, Any], part: str, item: str | None) -> dict[str, Any]:
    """What a configuration change did, for its audit entry: ``{"part", "change", "fields"}``, and
    for a service or counter its ``id``, ``name_zh`` and ``name_en``.

    ``change`` is ``added``, ``changed`` or ``deleted``; ``fields`` the names of the fields whose
    value differs, left out when there are none (an addition, a deletion, a save that changed
    nothing: the Lua JSON encoder would write an empty list as ``{}``)."""
    if part in TABLE_PARTS:
        old, new = before[part], after[part]
    else:
        old, new = ({e["id"]: e for e in data[ITEM_PARTS[part]]}.get(item) for data in (before, after))
    change = "added" if old is None else "deleted" if new is None else "changed"
    summary: dict[str, Any] = {"part": part, "change": change}
    if item is not None:  # with its names, which a deleted item no longer has anywhere else
        named = new or old or {}
        summary.update(id=item, name_zh=named.get("name_zh", ""), name_en=named.get("name_en", ""))
    if old is not None and new is not None:
        fields = sorted(k for k in {*old, *new} if old.get(k) != new.get(k))
        if fields:
            summary["fields"] = fields
    return summary


class BranchConfig:
    def __init__(self, store: QueueStore) -> None:
        self.store = store
        self.version = 0
        self._watch: ChannelFollower | None = None

    @property
    def channel(self) -> str:
        return keys.config_channel(self.store.branch.id)

    async def seed(self, from_file: Branch) -> None:
        data = branch_to_data(from_file)
        result, _ = await self.store.run_script(
            "seed_config", NOBODY, json.dumps(data, ensure_ascii=False), data_hash(data), self.channel
        )
        self._apply(result["json"], int(result["version"]))

    def _apply(self, raw: str, version: int) -> None:
        if version <= self.version:
            return
        try:
            self.store.branch = branch_from_json(json.loads(raw))
            self.version = version
        except (ConfigError, ValueError) as exc:
            log.error("stored configuration version %s is invalid: %s", version, exc)

    async def reload(self) -> None:
        raw, version = await self.store.redis.hmget(keys.config(self.store.branch.id), ["json", "version"])
        if raw and version:
            self._apply(str(raw), int(version))

    async def update(
        self, change: Callable[[dict[str, Any]], None], actor: Actor, part: str, item: str | None = None
    ) -> Branch:
        """Apply ``change`` to the current configuration data and save it; 422 when it is invalid.

        ``part`` and ``item`` name what the change is about (``"service"``, ``"A"``): with the fields
        that really changed, they are the audit entry's details (``change_summary``)."""
        for _ in range(SAVE_ATTEMPTS):
            await self.reload()
            before = branch_to_data(self.store.branch)
            data = branch_to_data(self.store.branch)
            change(data)
            try:
                branch = branch_from_json(data)
            except ConfigError as exc:
                raise invalid_field("config", "; ".join(p.removeprefix("config: ") for p in exc.problems)) from exc
            # What is stored is the validated branch written out again: defaults filled in, nothing
            # the scripts could trip over.
            after = branch_to_data(branch)
            normalised = json.dumps(after, ensure_ascii=False)
            summary = json.dumps(change_summary(before, after, part, item), ensure_ascii=False)
            result, _ = await self.store.run_script(
                "save_config", actor, normalised, self.version, self.channel, summary
            )
            if "error" not in result:
                self._apply(normalised, int(result["version"]))
                return branch
        raise ApiError(409, "config_changed", "The configuration kept changing; try again")

    async def start_watching(self) -> None:
        """Reload whenever any process saves the configuration (and after the channel was down)."""
        self._watch = ChannelFollower(
            self.store.redis, self.channel, "configuration", self._changed, on_joined=self.reload, logger=log
        )
        await self._watch.start()

    async def _changed(self, _data: str) -> None:
        await self.reload()

    async def stop(self) -> None:
        if self._watch is not None:
            await self._watch.stop()
