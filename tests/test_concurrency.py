"""Several server processes on one Redis, many clients issuing and calling at once."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import redis

from server import keys
from tests.servers import ADMIN_PASSWORD, ServerProcess

TICKETS_PER_ISSUER = 40
ISSUERS = 12
SERVICES = ("A", "B", "C")


async def token_for(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    token: str = response.json()["token"]
    return token


@pytest.mark.redis
def test_many_clients_on_three_processes_never_lose_or_duplicate_a_ticket(
    start_server: Callable[..., ServerProcess], redis_client: redis.Redis
) -> None:
    """Every ticket is called exactly once; numbers unique and gapless; FIFO within each class."""
    servers = [start_server() for _ in range(3)]
    issued: list[dict[str, Any]] = []
    called: list[dict[str, Any]] = []

    async def scenario() -> None:
        done = asyncio.Event()
        clients = [httpx.AsyncClient(base_url=s.url, timeout=30) for s in servers]
        token = await token_for(clients[0])
        headers = {"Authorization": f"Bearer {token}"}

        async def issuer(index: int) -> None:
            client = clients[index % len(clients)]
            for n in range(TICKETS_PER_ISSUER):
                body = {"service": SERVICES[(index + n) % 3], "priority": (index * 7 + n) % 5 == 0}
                response = await client.post("/api/branches/main/tickets", json=body, headers=headers)
                assert response.status_code == 201, response.text
                issued.append(response.json())

        async def counter(counter_id: str, client: httpx.AsyncClient) -> None:
            base = f"/api/branches/main/counters/{counter_id}"
            while True:
                response = await client.post(f"{base}/call-next", headers=headers)
                if response.status_code == 204:
                    if done.is_set():
                        # One more look: a ticket issued just before `done` may still wait.
                        again = await client.post(f"{base}/call-next", headers=headers)
                        if again.status_code == 204:
                            return
                        response = again
                    else:
                        await asyncio.sleep(0.005)
                        continue
                assert response.status_code == 200, response.text
                called.append(response.json())
                finish = await client.post(f"{base}/finish", headers=headers)
                assert finish.status_code == 200, finish.text

        counters = [
            asyncio.create_task(counter(c, clients[i % len(clients)])) for i, c in enumerate(["1", "2", "3", "4"])
        ]
        await asyncio.gather(*(issuer(i) for i in range(ISSUERS)))
        done.set()
        await asyncio.wait_for(asyncio.gather(*counters), timeout=120)
        for client in clients:
            await client.aclose()

    asyncio.run(scenario())

    assert len(issued) == ISSUERS * TICKETS_PER_ISSUER
    issued_ids = [t["id"] for t in issued]
    called_ids = [t["id"] for t in called]
    assert len(set(issued_ids)) == len(issued_ids)
    assert sorted(called_ids) == sorted(issued_ids), "every ticket called exactly once"

    by_service: dict[str, list[int]] = defaultdict(list)
    for ticket in issued:
        by_service[ticket["service"]].append(int(ticket["number"][1:]))
    for service, numbers in by_service.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"numbers of {service} gapless"

    # The stream is the one order every process agrees on: within a service and class, calls
    # follow issue order.
    events = redis_client.xrange(keys.events("main"))
    last: dict[tuple[str, bool], int] = {}
    calls = 0
    for _, fields in events:
        if fields["type"] != "ticket_called":
            continue
        calls += 1
        ticket = json.loads(fields["data"])["ticket"]
        key = (ticket["service"], ticket["priority"])
        number = int(ticket["number"][1:])
        assert number > last.get(key, 0), f"{ticket['number']} called after a later ticket of its class"
        last[key] = number
    assert calls == len(issued)
