"""A display that never reads among many that do: the others get every event, the stalled one is dropped."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from server import keys
from tests.conftest import Api
from tests.display.conftest import call_next, order, socket_url, stream_ids
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis

HEALTHY = 8
ROUNDS = 15
NOTICES_PER_ROUND = 60
# 16 KB a message: the kernel holds about 4 MB for the stalled socket, then its queue of
# fanout.QUEUE_SIZE messages fills, well before the 900 messages sent.
NOTICE_TEXT = "x" * 16_000


def stalled_display(server: ServerProcess, token: str) -> socket.socket:
    """A websocket opened by hand with a tiny receive buffer, then never read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws/branches/main/display?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


class Reader:
    """A healthy display: reads everything as it comes, answers pings, keeps every event's seq."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.snapshot_seq: str | None = None
        self.seqs: list[str] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if message["type"] == "ping":
                await self.ws.send('{"type":"pong"}')
            elif message["type"] == "snapshot":
                self.snapshot_seq = message["seq"]
            else:
                self.seqs.append(message["seq"])
            self.changed.set()

    async def wait_for(self, seq: str, within_s: float) -> None:
        deadline = time.monotonic() + within_s
        while not (self.seqs and order(self.seqs[-1]) >= order(seq)):
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.monotonic()))


def read_until_closed(sock: socket.socket, within_s: float) -> int:
    """Bytes the stalled socket still had coming before the server closed it."""
    sock.settimeout(within_s)
    total = 0
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        chunk = sock.recv(1 << 16)
        if not chunk:
            return total
        total += len(chunk)
    raise TimeoutError("the server kept the stalled display open")


async def test_a_stalled_display_does_not_delay_the_others(
    server: ServerProcess, api: Api, redis_client: redis.Redis
) -> None:
    """With one display never reading, every other display still receives every event promptly."""
    token = api.user("tv1", "display")
    for service in "AAB":
        api.issue(service)
    stalled = stalled_display(server, token)
    sockets = [await connect(socket_url(server, token)) for _ in range(HEALTHY)]
    readers = [Reader(ws) for ws in sockets]
    try:
        for round_ in range(ROUNDS):
            with redis_client.pipeline(transaction=False) as pipe:
                for n in range(NOTICES_PER_ROUND):
                    data = {"text_zh": NOTICE_TEXT, "text_en": f"{round_}.{n}", "emergency": False}
                    pipe.xadd(keys.events("main"), {"type": "notice_posted", "data": json.dumps(data)})
                last = pipe.execute()[-1]
            # Paced by the healthy displays themselves: each round is sent once they all have the last.
            await asyncio.gather(*(r.wait_for(last, within_s=15) for r in readers))
        numbers = [call_next(api, c)["number"] for c in ("1", "2", "3")]
        last_call = stream_ids(redis_client)[-1]
        await asyncio.gather(*(r.wait_for(last_call, within_s=5) for r in readers))
        assert numbers == ["A001", "A002", "B001"]
        for reader in readers:
            expected = [i for i in stream_ids(redis_client) if order(i) > order(reader.snapshot_seq or "0-0")]
            assert reader.seqs == expected
        # The stalled display was disconnected for falling behind (not kept, not waited for).
        await asyncio.to_thread(read_until_closed, stalled, 30)
        assert "disconnected with 1013" in server.output()
    finally:
        stalled.close()
        for ws in sockets:
            await ws.close()
        for reader in readers:
            reader.task.cancel()
