"""Connecting to the installation's Redis, from ``NEXTUP_REDIS_URL``: one Redis, or a group watched by Sentinel.

- ``redis://[:password@]host:port/db``, ``rediss://...`` (TLS), ``unix:///path/redis.sock``: one Redis
  (redis-py's URL forms);
- ``redis+sentinel://[:password@]host1:26379,host2:26379,host3:26379/<master name>[/<db>]``: ask the
  sentinels which Redis is the primary of ``<master name>`` and follow it through a failover. The
  password (if any) is the primary's; sentinels themselves are asked without one.

Every process and command of NextUp connects through ``connect``, so each of them follows a failover
the same way: a connection that fails or finds its Redis demoted to a replica (READONLY) asks the
sentinels again, and the caller's retry or the client's own reconnection carries on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.sentinel import Sentinel

from server.errors import ConfigError

SENTINEL_SCHEMES = ("redis+sentinel",)


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    password: str | None


def parse_sentinel_url(url: str) -> SentinelTarget:
    """The parts of a ``redis+sentinel://`` URL; ConfigError naming what is wrong."""
    parts = urlsplit(url)
    if parts.scheme not in SENTINEL_SCHEMES:
        raise ConfigError([f"NEXTUP_REDIS_URL: {parts.scheme}:// is not a Sentinel URL"])
    hosts = parts.netloc.rpartition("@")[2]
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.rpartition(":") if ":" in host else (host, "", "26379")
        if not name or not port.isdigit():
            raise ConfigError([f"NEXTUP_REDIS_URL: {host!r} is not host:port"])
        sentinels.append((name.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not path or len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ConfigError(["NEXTUP_REDIS_URL: a Sentinel URL ends in /<master name> or /<master name>/<db>, "
                           "e.g. redis+sentinel://h1:26379,h2:26379/mymaster/0"])  # fmt: skip
    password = unquote(parts.password) if parts.password else None
    return SentinelTarget(tuple(sentinels), path[0], int(path[1]) if len(path) == 2 else 0, password)


def connect(url: str, **options: Any) -> Redis:
    """A client of the Redis ``url`` names (see the module's notes), with redis-py's ``options``."""
    if urlsplit(url).scheme not in SENTINEL_SCHEMES:
        return Redis.from_url(url, **options)
    target = parse_sentinel_url(url)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.sentinels), socket_timeout=options.get("socket_timeout", 5.0),
        password=target.password, db=target.db,
        sentinel_kwargs={"socket_timeout": 2.0, "decode_responses": True},
    )  # fmt: skip
    client: Redis = sentinel.master_for(target.service, redis_class=Redis, **options)
    return client
