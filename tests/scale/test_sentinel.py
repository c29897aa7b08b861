"""Redis Sentinel on loopback: a primary, two replicas and three sentinels (Debian's redis-server,
the sentinels with --sentinel). A server on ``redis+sentinel://`` issues through a ``kill -9`` of
the primary, follows the failover by itself, and with replica acknowledgement
(NEXTUP_REDIS_WAIT_REPLICAS=1) loses no acknowledged ticket and gives no number twice; a display
following it misses nothing. (With one replica, acknowledgement by a replica would refuse every
write after a failover until the old primary came back as a replica.)"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from server.redis_connect import parse_sentinel_url
from tests.conftest import Api
from tests.servers import ServerProcess, free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
MASTER = "nextup"


def test_a_sentinel_url_names_its_sentinels_master_and_database() -> None:
    target = parse_sentinel_url("redis+sentinel://:s3cret@h1:26379,h2:26380/mymaster/2")
    assert target.sentinels == (("h1", 26379), ("h2", 26380))
    assert (target.service, target.db, target.password) == ("mymaster", 2, "s3cret")
    assert parse_sentinel_url("redis+sentinel://h1/mymaster").sentinels == (("h1", 26379),)
    from server.errors import ConfigError

    for bad in ("redis+sentinel://h1:26379/", "redis+sentinel://h1:x/m", "redis+sentinel://h1:1/m/db"):
        with pytest.raises(ConfigError):
            parse_sentinel_url(bad)


@dataclass
class Group:
    primary: subprocess.Popen[bytes]
    ports: dict[str, int]
    sentinels: list[subprocess.Popen[bytes]]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{MASTER}/0"

    @property
    def sentinel_ports(self) -> list[int]:
        return [self.ports[f"sentinel{i}"] for i in range(3)]

    def master_port(self) -> int:
        client = redis.Redis(port=self.sentinel_ports[0], decode_responses=True)
        try:
            _host, port = client.sentinel_get_master_addr_by_name(MASTER)
            return int(port)
        finally:
            client.close()


def wait_for(check: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (redis.RedisError, OSError):
            pass
        time.sleep(0.1)
    raise TimeoutError(what)


@pytest.fixture
def group(tmp_path: Path) -> Iterator[Group]:
    ports = {name: free_port() for name in ("primary", "replica0", "replica1", "sentinel0", "sentinel1", "sentinel2")}
    common = ["--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "always", "--save", ""]
    started: list[subprocess.Popen[bytes]] = []

    def run(name: str, *args: str) -> subprocess.Popen[bytes]:
        folder = tmp_path / name
        folder.mkdir()
        process = subprocess.Popen([REDIS_SERVER, *args, "--dir", str(folder)], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)  # fmt: skip
        started.append(process)
        return process

    primary = run("primary", "--port", str(ports["primary"]), *common)
    for replica in ("replica0", "replica1"):
        run(replica, "--port", str(ports[replica]), *common, "--replicaof", "127.0.0.1", str(ports["primary"]))
    sentinels = []
    for i in range(3):
        conf = tmp_path / f"sentinel{i}.conf"
        conf.write_text(
            f"port {ports[f'sentinel{i}']}\nbind 127.0.0.1\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {ports['primary']} 2\n"
            f"sentinel down-after-milliseconds {MASTER} 1000\n"
            f"sentinel failover-timeout {MASTER} 5000\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
        )
        sentinels.append(run(f"sentinel-data{i}", str(conf), "--sentinel"))
    found = Group(primary, ports, sentinels)
    for replica in ("replica0", "replica1"):
        client = redis.Redis(port=ports[replica], decode_responses=True)
        wait_for(lambda c=client: c.info("replication")["master_link_status"] == "up", 20, "the replicas sync")
        client.close()
    for port in found.sentinel_ports:
        client = redis.Redis(port=port, decode_responses=True)
        wait_for(lambda c=client: len(c.sentinel_slaves(MASTER)) == 2 and len(c.sentinel_sentinels(MASTER)) == 2,
                 20, "every sentinel knows the replicas and the other two")  # fmt: skip
        client.close()
    yield found
    for process in started:
        process.kill()
        process.wait(timeout=10)


async def follow_display(url: str, seen: list[dict[str, Any]], stop: asyncio.Event) -> None:
    since: str | None = None
    while not stop.is_set():
        try:
            async with connect(url + (f"&since={since}" if since else ""), open_timeout=5) as ws:
                while not stop.is_set():
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    except TimeoutError:
                        continue
                    if message["type"] == "ping":
                        await ws.send('{"type":"pong"}')
                    elif message["type"] != "pong":
                        seen.append(message)
                        since = message.get("seq") or since
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
            await asyncio.sleep(0.2)


async def test_a_failover_loses_no_acknowledged_ticket(
    group: Group, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXTUP_REDIS_WAIT_REPLICAS", "1")
    monkeypatch.setenv("NEXTUP_REDIS_WAIT_TIMEOUT_MS", "500")
    monkeypatch.setenv("NEXTUP_KIOSK_TICKETS_PER_MINUTE", "0")
    server = ServerProcess(tmp_path / "server", group.url).start()
    api = Api(server.url)
    kiosk = api.auth(api.user("kiosk1", "kiosk"))
    seen: list[dict[str, Any]] = []
    stop = asyncio.Event()
    display = asyncio.create_task(follow_display(
        f"ws://127.0.0.1:{server.port}/ws/branches/main/display?token={api.user('tv1', 'display')}", seen, stop))
    acknowledged: list[dict[str, Any]] = []
    refused = 0
    killed_at = recovered_at = 0.0
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        while len(acknowledged) < 40:
            if len(acknowledged) == 15 and not killed_at:
                group.primary.kill()  # kill -9
                killed_at = time.monotonic()
            key = uuid.uuid4().hex
            while True:  # a kiosk retries the same request until it has an answer
                try:
                    response = await client.post("/api/branches/main/tickets", json={"service": "A"},
                                                 headers={**kiosk, "Idempotency-Key": key})  # fmt: skip
                except httpx.HTTPError:
                    response = None
                if response is not None and response.status_code == 201:
                    break
                assert response is None or response.status_code == 503, response.text
                refused += 1
                if killed_at and time.monotonic() - killed_at > 60:
                    raise AssertionError(f"no failover within 60 s: sentinels name port {group.master_port()}; "
                                         f"{response.text if response is not None else 'no answer'}\n"
                                         f"{server.output()[-3000:]}")
                await asyncio.sleep(0.1)
            if killed_at and not recovered_at:
                recovered_at = time.monotonic()
            acknowledged.append(response.json())
    print(f"\nfailover: issuing again {recovered_at - killed_at:.1f} s after kill -9 of the primary "
          f"({refused} attempts refused meanwhile)")  # fmt: skip
    promoted = group.master_port()
    assert promoted in (group.ports["replica0"], group.ports["replica1"])

    numbers = [t["number"] for t in acknowledged]
    assert numbers == [f"A{n:03d}" for n in range(1, 41)]  # no number twice, none lost or skipped
    survivor = redis.Redis(port=promoted, decode_responses=True)
    for ticket in acknowledged:
        assert survivor.hget(f"nextup:{{main}}:ticket:{ticket['id']}", "number") == ticket["number"]
    survivor.close()

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and [m["ticket"]["number"] for m in seen  # noqa: ASYNC110
                                           if m["type"] == "ticket_issued"] != numbers:  # fmt: skip
        await asyncio.sleep(0.1)  # the display's task fills ``seen``
    stop.set()
    await display
    assert [m["ticket"]["number"] for m in seen if m["type"] == "ticket_issued"] == numbers
    api.close()
    server.stop()
