"""Reading an installation or a branch out of Redis as ``Record``\\ s, and writing records back.

A snapshot is consistent: one Lua script reads every key of its scope (SCAN, then each key by its
type) while Redis runs nothing else, so a ticket is never saved without the number it took or the
event it made. The script holds Redis for as long as it reads (about a second per 100,000 keys
here): run backups off-peak (deploy/nextup-backup.timer does, at night).

A branch's keys carry its hash tag (``nextup:{main}:...``), so on Redis Cluster its script runs on
its shard. Its accounts live outside the branch; a branch backup reads them after the branch, in a
second step (an account changed in between shows its newer state).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from redis.asyncio import Redis

from server import keys
from server.backup.archive import Record, raw, text
from server.errors import NextUpError

#: Reads every key matching ARGV[1] (SCAN with ARGV[2] per step); KEYS[1] only routes the call.
_SNAPSHOT_LUA = """
local out, cursor = {}, '0'
repeat
  local step = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', ARGV[2])
  cursor = step[1]
  for _, key in ipairs(step[2]) do
    local kind = redis.call('TYPE', key).ok
    local value
    if kind == 'string' then value = {redis.call('GET', key)}
    elseif kind == 'hash' then value = redis.call('HGETALL', key)
    elseif kind == 'list' then value = redis.call('LRANGE', key, 0, -1)
    elseif kind == 'set' then value = redis.call('SMEMBERS', key)
    elseif kind == 'zset' then value = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    elseif kind == 'stream' then
      local info, last = redis.call('XINFO', 'STREAM', key), '0-0'
      for i = 1, #info, 2 do if info[i] == 'last-generated-id' then last = info[i + 1] end end
      local groups = {}
      for _, group in ipairs(redis.call('XINFO', 'GROUPS', key)) do
        local name, delivered
        for i = 1, #group, 2 do
          if group[i] == 'name' then name = group[i + 1] end
          if group[i] == 'last-delivered-id' then delivered = group[i + 1] end
        end
        table.insert(groups, {name, delivered})
      end
      value = {redis.call('XRANGE', key, '-', '+'), last, groups}
    else
      return redis.error_reply('NEXTUP_BACKUP cannot save key ' .. key .. ' of type ' .. kind)
    end
    table.insert(out, {key, kind, redis.call('PTTL', key), value})
  end
until cursor == '0'
return out
"""

SCAN_COUNT = 1000
#: Sets and sorted sets of the whole installation that a branch's restore adds its members to.
SHARED = (keys.users(), keys.revoked_sessions())


class RestoreRefused(NextUpError):
    """The target Redis already holds what the backup would write; nothing was written."""


def _pairs(flat: Sequence[bytes]) -> list[tuple[bytes, bytes]]:
    return list(zip(flat[0::2], flat[1::2], strict=True))


def _record(item: list[Any]) -> Record:
    key, kind, ttl, value = text(item[0]), text(item[1]), int(item[2]), item[3]
    saved: Any
    if kind == "string":
        saved = text(value[0])
    elif kind == "hash":
        saved = {text(f): text(v) for f, v in _pairs(value)}
    elif kind == "list":
        saved = [text(v) for v in value]
    elif kind == "set":
        saved = sorted(text(v) for v in value)
    elif kind == "zset":
        saved = [[text(m), text(s)] for m, s in _pairs(value)]
    else:
        entries, last, groups = value
        saved = {
            "entries": [[text(entry_id), [text(v) for v in fields]] for entry_id, fields in entries],
            "last_id": text(last),
            "groups": [[text(name), text(delivered)] for name, delivered in groups],
        }
    return Record(key, kind, ttl if ttl > 0 else -1, saved)


async def read_matching(redis: Redis, route_key: str, pattern: str) -> list[Record]:
    """Every key matching ``pattern``, read in one script call (routed by ``route_key``'s slot)."""
    reply = cast(list[list[Any]], await redis.eval(_SNAPSHOT_LUA, 1, route_key, pattern, SCAN_COUNT))
    return sorted((_record(item) for item in reply), key=lambda r: r.key)


def _escape_glob(value: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in value)


async def read_installation(redis: Redis) -> list[Record]:
    """Every NextUp key of a (non-cluster) Redis, at one moment."""
    return await read_matching(redis, keys.users(), f"{keys.ROOT}:*")


async def read_branch(redis: Redis, branch: str) -> list[Record]:
    """One branch: its keys at one moment, then its accounts (with their sessions) and their revocations."""
    prefix = keys.branch_prefix(branch)
    records = await read_matching(redis, keys.config(branch), _escape_glob(prefix) + "*")
    members = cast(set[bytes], await redis.smembers(keys.users()))
    accounts: list[str] = []
    for username in sorted(text(u) for u in members):
        if await redis.hget(keys.user(username), "branch") == branch.encode():
            accounts.append(username)
    sessions: set[str] = set()
    for username in accounts:
        for key in (keys.user(username), keys.user_sessions(username)):
            found = await read_matching(redis, key, _escape_glob(key))
            records += found
            if key == keys.user_sessions(username):
                sessions.update(member for found_record in found for member, _score in found_record.value)
    if accounts:
        records.append(Record(keys.users(), "set", -1, accounts))
    revoked = await read_matching(redis, keys.revoked_sessions(), _escape_glob(keys.revoked_sessions()))
    kept = [[m, s] for r in revoked for m, s in r.value if m in sessions]
    if kept:
        records.append(Record(keys.revoked_sessions(), "zset", revoked[0].ttl_ms, kept))
    return records


async def branches(redis: Redis) -> list[str]:
    """The branches that have a configuration in this Redis."""
    found: set[str] = set()
    head, tail = keys.config("\0").split("\0")
    async for key in redis.scan_iter(match=_escape_glob(head) + "*" + _escape_glob(tail), count=SCAN_COUNT):
        name = text(key)[len(head) : -len(tail)]
        if name and "{" not in name and "}" not in name:
            found.add(name)
    return sorted(found)


# ---- Writing back ----------------------------------------------------------------------------


async def check_target(redis: Redis, records: Sequence[Record], *, whole: bool) -> None:
    """Refuse (``RestoreRefused``) a Redis that holds any NextUp key (``whole``), or any key a record would
    write other than the installation's shared sets."""
    if whole:
        async for key in redis.scan_iter(match=f"{keys.ROOT}:*", count=SCAN_COUNT):
            raise RestoreRefused(
                f"the target Redis is not empty (it holds {text(key)} and maybe more): "
                "restore a whole installation into an empty Redis"
            )
        return
    for record in records:
        if record.key in SHARED:
            continue
        if await redis.exists(record.key):
            raise RestoreRefused(f"the target Redis already holds {record.key}")


def _write(pipe: Any, record: Record) -> None:
    key, value = raw(record.key), record.value
    if record.type == "string":
        pipe.set(key, raw(value))
    elif record.type == "hash":
        if value:
            pipe.hset(key, mapping={raw(f): raw(v) for f, v in value.items()})
    elif record.type == "list":
        if value:
            pipe.rpush(key, *(raw(v) for v in value))
    elif record.type == "set":
        if value:
            pipe.sadd(key, *(raw(v) for v in value))
    elif record.type == "zset":
        for member, score in value:
            pipe.execute_command("ZADD", key, score, raw(member))
    else:
        entries, last = value["entries"], raw(value["last_id"])
        for entry_id, fields in entries:
            pipe.execute_command("XADD", key, entry_id, *(raw(f) for f in fields))
        if not entries:  # an empty stream still exists, with its last id: made and emptied
            pipe.execute_command("XADD", key, last, b"-", b"-")
            pipe.execute_command("XDEL", key, last)
        else:
            pipe.execute_command("XSETID", key, last)
        for name, delivered in value["groups"]:
            pipe.execute_command("XGROUP", "CREATE", key, raw(name), raw(delivered))
    if record.ttl_ms > 0:
        pipe.pexpire(key, record.ttl_ms)


async def write(redis: Redis, records: Sequence[Record]) -> None:
    """Every record, in one MULTI/EXEC: no process sees a half-restored branch. The records were checked
    whole when the file was read (``archive.decode``), so Redis has nothing to refuse halfway."""
    async with redis.pipeline(transaction=True) as pipe:
        for record in records:
            _write(pipe, record)
        await pipe.execute()
