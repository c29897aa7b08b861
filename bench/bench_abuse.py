"""Benchmark of the abuse limits: the admin's login under a login flood, and socket memory attacks.

Prints the admin's login latency (p50/p99/max) alone and under each flood, with the flood's
answers; then the server's RSS (``VmRSS``) before, during and after 40 phone sockets each sending
3 messages of 16 MiB, and 1,500 sockets from one address, with the sockets accepted and the close
codes seen. Run:

    python -m bench.bench_abuse            # embedded Redis
    NEXTUP_REDIS_URL=redis://127.0.0.1:6379/14 python -m bench.bench_abuse

The server (``nextup serve``) runs in its own process with NEXTUP_TRUSTED_PROXIES=127.0.0.1, so
each flood request names its address in X-Forwarded-For (10.x.y.z); the admin logs in from
192.168.1.10, an address it used before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from server.embedded_redis import EmbeddedRedis
from tests.servers import ADMIN_PASSWORD, ServerProcess

ADMIN_ADDRESS = "192.168.1.10"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def admin_logins(client: httpx.AsyncClient, count: int) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    for _ in range(count):
        start = time.perf_counter()
        response = await client.post(
            "/api/login", json={"username": "admin", "password": ADMIN_PASSWORD},
            headers={"X-Forwarded-For": ADMIN_ADDRESS},
        )  # fmt: skip
        latencies.append(time.perf_counter() - start)
        statuses[response.status_code] += 1
        await asyncio.sleep(0.1)
    return latencies, statuses


def random_address() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


async def flood(url: str, workers: int, stop: asyncio.Event, one_address: bool, random_users: bool) -> Counter[int]:
    answers: Counter[int] = Counter()

    async def worker(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            address = "10.0.0.66" if one_address else random_address()
            username = f"user{random.randrange(10**6)}" if random_users else "admin"
            try:
                response = await client.post(
                    "/api/login", json={"username": username, "password": "guess-" + str(random.random())},
                    headers={"X-Forwarded-For": address},
                )  # fmt: skip
                answers[response.status_code] += 1
            except httpx.HTTPError:
                answers[0] += 1

    limits = httpx.Limits(max_connections=workers)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        await asyncio.gather(*(worker(client) for _ in range(workers)))
    return answers


def reset_throttle(client: redis.Redis) -> None:
    for pattern in ("nextup:login_failures*",):
        for key in client.scan_iter(pattern):
            client.delete(key)


async def login_scenario(url: str, name: str, workers: int, logins: int, **kind: bool) -> list[float]:
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        task = asyncio.create_task(flood(url, workers, stop, **kind)) if workers else None
        await asyncio.sleep(1.0 if workers else 0)
        latencies, statuses = await admin_logins(client, logins)
        stop.set()
        answers = await task if task else Counter()
    ms = [x * 1000 for x in latencies]
    print(
        f"  {name:<44} admin p50 {statistics.median(ms):7.1f} ms  p99 {percentile(ms, 0.99):7.1f} ms  "
        f"max {max(ms):7.1f} ms  admin answers {dict(statuses)}  flood answers {dict(answers)}"
    )
    return ms


async def socket_attack(server: ServerProcess, ticket_id: str, big_sockets: int, many: int) -> None:
    pid = server.process.pid if server.process else 0
    ws_url = f"{server.url.replace('http', 'ws', 1)}/ws/tickets/{ticket_id}"
    print(f"  server RSS before: {rss_mib(pid):.0f} MiB")
    big = "x" * (16 * 1024 * 1024)
    codes: Counter[int | None] = Counter()
    peak = 0.0

    async def send_big() -> None:
        nonlocal peak
        try:
            async with connect(ws_url, max_size=None, close_timeout=2) as socket:
                await socket.recv()
                for _ in range(3):
                    await socket.send(big)
                    peak = max(peak, rss_mib(pid))
                await socket.recv()
        except ConnectionClosed as closed:
            codes[closed.rcvd.code if closed.rcvd else None] += 1
        except OSError:
            codes[None] += 1

    await asyncio.gather(*(send_big() for _ in range(big_sockets)))
    print(f"  {big_sockets} sockets x 3 messages of 16 MiB: RSS peak during {max(peak, rss_mib(pid)):.0f} MiB, "
          f"after {rss_mib(pid):.0f} MiB; close codes {dict(codes)}")  # fmt: skip

    held: list[ClientConnection] = []
    refused: Counter[int | None] = Counter()

    async def open_one() -> None:
        try:
            socket = await connect(ws_url, open_timeout=60)
            await socket.recv()
            held.append(socket)
        except ConnectionClosed as closed:
            refused[closed.rcvd.code if closed.rcvd else None] += 1
        except (OSError, TimeoutError):
            refused[None] += 1

    for start in range(0, many, 100):
        await asyncio.gather(*(open_one() for _ in range(min(100, many - start))))
    during = rss_mib(pid)
    print(f"  {many} sockets from one address: {len(held)} accepted, refused with close codes {dict(refused)}; "
          f"RSS while held {during:.0f} MiB")  # fmt: skip
    await asyncio.gather(*(s.close() for s in held), return_exceptions=True)
    await asyncio.sleep(2)
    print(f"  after closing them: RSS {rss_mib(pid):.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=64, help="concurrent flood logins")
    parser.add_argument("--logins", type=int, default=30, help="admin logins per scenario")
    parser.add_argument("--big-sockets", type=int, default=40)
    parser.add_argument("--sockets", type=int, default=1500)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        embedded: EmbeddedRedis | None = None
        url = os.environ.get("NEXTUP_REDIS_URL")
        if not url:
            embedded = EmbeddedRedis(work / "redis")
            url = embedded.start()
        client = redis.Redis.from_url(url)
        client.flushdb()
        os.environ["NEXTUP_TRUSTED_PROXIES"] = "127.0.0.1"
        server = ServerProcess(work / "server", url).start()
        try:
            print(f"Redis: {'embedded (appendfsync always)' if embedded else url}; {os.cpu_count()} cores")
            print(f"Login flood: {args.workers} concurrent wrong logins; the admin logs in {args.logins} times")
            alone = asyncio.run(login_scenario(server.url, "no flood", 0, args.logins))
            runs = [
                ("many addresses, random usernames", {"one_address": False, "random_users": True}),
                ("many addresses, against admin", {"one_address": False, "random_users": False}),
                ("one address, against admin", {"one_address": True, "random_users": False}),
            ]
            for name, kind in runs:
                reset_throttle(client)
                flooded = asyncio.run(login_scenario(server.url, name, args.workers, args.logins, **kind))
                print(f"  {'':<44} p50 ratio to no flood {statistics.median(flooded) / statistics.median(alone):.1f}x")
            reset_throttle(client)
            admin = httpx.post(f"{server.url}/api/login", json={"username": "admin", "password": ADMIN_PASSWORD},
                               headers={"X-Forwarded-For": ADMIN_ADDRESS}).json()["token"]  # fmt: skip
            ticket = httpx.post(f"{server.url}/api/branches/main/tickets", json={"service": "A"},
                                headers={"Authorization": f"Bearer {admin}"}).json()  # fmt: skip
            print("Socket attacks (phone socket of one ticket):")
            asyncio.run(socket_attack(server, ticket["id"], args.big_sockets, args.sockets))
        finally:
            server.stop()
            client.close()
            if embedded:
                embedded.stop()


if __name__ == "__main__":
    main()
