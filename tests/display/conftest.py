"""Display test helpers: websocket display clients, display tokens, notices written to the stream."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from websockets.asyncio.client import ClientConnection, connect

from server import keys
from tests.conftest import Api
from tests.servers import ServerProcess

Message = dict[str, Any]


def socket_url(server: ServerProcess, token: str, since: str | None = None, branch: str = "main") -> str:
    url = f"ws://127.0.0.1:{server.port}/ws/branches/{branch}/display?token={token}"
    return f"{url}&since={since}" if since else url


class DisplayClient:
    """A lean display: reads messages in order, answers the server's pings."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def next(self, within_s: float = 5.0) -> Message:
        """The next message other than a ping, within ``within_s`` seconds."""
        deadline = time.monotonic() + within_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no message within {within_s} s")
            message: Message = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            if message["type"] == "ping":
                await self.ws.send('{"type":"pong"}')
                continue
            return message

    async def take(self, count: int, within_s: float = 10.0) -> list[Message]:
        deadline = time.monotonic() + within_s
        return [await self.next(max(0.01, deadline - time.monotonic())) for _ in range(count)]

    async def until(self, accept: Callable[[Message], bool], within_s: float = 10.0) -> list[Message]:
        """Messages up to and including the first one ``accept`` approves."""
        deadline = time.monotonic() + within_s
        seen: list[Message] = []
        while not seen or not accept(seen[-1]):
            seen.append(await self.next(max(0.01, deadline - time.monotonic())))
        return seen

    async def nothing_within(self, seconds: float) -> bool:
        try:
            await self.next(seconds)
        except TimeoutError:
            return True
        return False


@asynccontextmanager
async def display(
    server: ServerProcess, token: str, since: str | None = None, branch: str = "main", **options: Any
) -> AsyncIterator[DisplayClient]:
    async with connect(socket_url(server, token, since, branch), **options) as ws:
        yield DisplayClient(ws)


@pytest.fixture
def display_token(api: Api) -> str:
    """A login token of a display account."""
    return api.user("tv1", "display")


def order(seq: str) -> tuple[int, int]:
    """A stream id in the order Redis gives them ("…-10" comes after "…-9", which text order denies)."""
    ms, n = seq.split("-")
    return int(ms), int(n)


def stream_ids(client: redis.Redis, branch: str = "main") -> list[str]:
    return [entry_id for entry_id, _ in client.xrange(keys.events(branch))]


def post_notice(api: Api, text_zh: str, text_en: str, emergency: bool = False) -> None:
    """Set the notices ticker through the admin API."""
    response = api.http.post(
        "/api/branches/main/notice",
        json={"text_zh": text_zh, "text_en": text_en, "emergency": emergency},
        headers=api.auth(api.admin()),
    )
    assert response.status_code == 200, response.text


def call_next(api: Api, counter: str) -> dict[str, Any]:
    response = api.counter(counter, "call-next")
    assert response.status_code == 200, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def finish(api: Api, counter: str) -> None:
    response = api.counter(counter, "finish")
    assert response.status_code == 200, response.text


NORTH_BRANCH = """
[branch]
id = "north"
name_zh = "北区网点"
name_en = "North branch"
timezone = "Asia/Shanghai"

[[services]]
id = "A"
prefix = "A"
name_zh = "个人业务"
name_en = "Personal services"

[[counters]]
id = "1"
services = ["A"]
initial_status = "open"
"""


@pytest.fixture
def north_config(tmp_path: Path) -> Iterator[Path]:
    """A second branch, ``north``, to run beside the demo branch on the same Redis."""
    path = tmp_path / "north.toml"
    path.write_text(NORTH_BRANCH, encoding="utf-8")
    yield path


def device_record(api: Api, name: str) -> dict[str, Any] | None:
    response = api.http.get("/api/branches/main/devices", headers=api.auth(api.admin()))
    assert response.status_code == 200, response.text
    return next((d for d in response.json()["devices"] if d["device"] == name), None)


def voices_reported(api: Api, name: str, within_s: float = 10.0) -> dict[str, Any]:
    """The device's record once it holds the voices its screen reported."""
    deadline = time.monotonic() + within_s
    while True:
        record = device_record(api, name)
        if record is not None and record["voices"] is not None:
            return record
        assert time.monotonic() < deadline, f"no voices reported within {within_s} s: {record!r}"
        time.sleep(0.05)
