"""Kiosk test helpers: real ``nextup kiosk`` processes, the printer emulator, chromium, kiosk sockets."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis
from playwright.sync_api import Browser, Page
from websockets.asyncio.client import ClientConnection, connect
from websockets.sync.client import connect as connect_sync

from printer.emulator import PrinterEmulator
from server import keys
from tests.browser import chromium
from tests.conftest import Api
from tests.kiosk.processes import InProcessKiosk, KioskProcess, RunningKiosk
from tests.servers import ServerProcess

Message = dict[str, Any]


@pytest.fixture
def emulator() -> Iterator[PrinterEmulator]:
    """A network ticket printer on loopback."""
    with PrinterEmulator() as printer:
        yield printer


@pytest.fixture
def kiosk_token(api: Api) -> str:
    """The login token of the kiosk account ``kiosk1``."""
    return api.user("kiosk1", "kiosk")


@pytest.fixture
def start_kiosk(tmp_path: Path) -> Iterator[Callable[..., RunningKiosk]]:
    """Factory: start kiosks (in this process, or as ``nextup kiosk`` with ``process=True``); all stopped after."""
    started: list[RunningKiosk] = []

    def start(
        server: ServerProcess, token: str | None, printer: str, *extra: str, process: bool = False
    ) -> RunningKiosk:
        kiosk: RunningKiosk
        if process:
            kiosk = KioskProcess(server.url, token, printer, tmp_path / "kiosks", *extra).start()
        else:
            kiosk = InProcessKiosk(server.url, token, printer, *extra).start()
        started.append(kiosk)
        return kiosk

    yield start
    for kiosk in started:
        kiosk.stop()


@pytest.fixture
def kiosk(
    start_kiosk: Callable[..., RunningKiosk], server: ServerProcess, kiosk_token: str, emulator: PrinterEmulator
) -> RunningKiosk:
    """A kiosk of the demo branch printing to the emulator (in this process)."""
    return start_kiosk(server, kiosk_token, emulator.url)


@pytest.fixture
def kiosk_process(
    start_kiosk: Callable[..., RunningKiosk], server: ServerProcess, kiosk_token: str, emulator: PrinterEmulator
) -> RunningKiosk:
    """The same, as a real ``nextup kiosk`` process."""
    return start_kiosk(server, kiosk_token, emulator.url, process=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh portrait kiosk screen."""
    context = browser.new_context(viewport={"width": 1080, "height": 1920})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def screen(browser: Browser) -> Iterator[Callable[..., Page]]:
    """Factory: a fresh kiosk-sized tab (``size`` as (width, height))."""
    contexts = []

    def make(size: tuple[int, int]) -> Page:
        context = browser.new_context(viewport={"width": size[0], "height": size[1]})
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def open_kiosk(page: Page, url: str) -> Page:
    """Open the kiosk page and wait until it is connected to its server."""
    page.goto(url + "/")
    page.wait_for_selector("body[data-online=true]", timeout=15_000)
    return page


def issue_through_kiosk(kiosk: RunningKiosk, request_id: str, service: str = "A") -> dict[str, Any]:
    """Send a page's issue message to the kiosk; its final answer for that request."""
    with connect_sync(page_socket_url(kiosk), open_timeout=5) as ws:
        ws.send(json.dumps({"type": "issue", "request_id": request_id, "service": service, "priority": False}))
        deadline = time.monotonic() + 20
        while True:
            message: dict[str, Any] = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message.get("request_id") == request_id and message["type"] in ("refused", "printed", "print_failed"):
                return message


def tap(page: Page, service: str) -> str:
    """Tap a service; the number the page shows once printing is over (or has failed)."""
    page.click(f"button.service[data-service={service}]")
    page.wait_for_selector("#print-status[data-state=printed], #print-status[data-state=failed]", timeout=20_000)
    return str(page.text_content("#ticket-number"))


def ticket_id(redis_client: redis.Redis, number: str, branch: str = "main", zone: str = "Asia/Shanghai") -> str:
    """The id of today's ticket ``number`` (the phone page key), read from Redis."""
    day = datetime.now(ZoneInfo(zone)).date().isoformat()
    found = redis_client.hget(keys.numbers(branch, day), number)
    assert found, f"no ticket {number} today"
    return str(found)


def wait_until(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; AssertionError with its last value after ``timeout``."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value {value!r})")
        time.sleep(interval)
        value = check()
    return value


def device(api: Api, name: str) -> Message | None:
    response = api.http.get("/api/branches/main/devices", headers=api.auth(api.admin()))
    assert response.status_code == 200, response.text
    return next((d for d in response.json()["devices"] if d["device"] == name), None)


class SocketClient:
    """A websocket client reading JSON messages with deadlines."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message: Message) -> None:
        await self.ws.send(json.dumps(message))

    async def until(self, accept: Callable[[Message], bool], within_s: float = 10.0) -> Message:
        """The first message ``accept`` approves, skipping others."""
        deadline = time.monotonic() + within_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching message within {within_s} s")
            message: Message = json.loads(await asyncio.wait_for(self.ws.recv(), remaining))
            if accept(message):
                return message

    async def collect(self, seconds: float) -> list[Message]:
        """Every message arriving within ``seconds``."""
        deadline = time.monotonic() + seconds
        seen: list[Message] = []
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                seen.append(json.loads(await asyncio.wait_for(self.ws.recv(), remaining)))
            except TimeoutError:
                break
        return seen


@asynccontextmanager
async def socket(url: str, **options: Any) -> AsyncIterator[SocketClient]:
    async with connect(url, **options) as ws:
        yield SocketClient(ws)


def branch_file(tmp_path: Path, name: str, extra_branch: str = "", cap: int = 0) -> Path:
    """A one-service, one-counter branch ``main`` file; service A capped at ``cap`` tickets a day."""
    path = tmp_path / f"{name}.toml"
    path.write_text(
        f"""
[branch]
id = "main"
name_zh = "测试网点"
name_en = "Test branch"
timezone = "Asia/Shanghai"
{extra_branch}

[[services]]
id = "A"
prefix = "A"
name_zh = "个人业务"
name_en = "Personal services"
daily_cap = {cap}

[[counters]]
id = "1"
services = ["A"]
initial_status = "open"
""",
        encoding="utf-8",
    )
    return path


def kiosk_socket_url(server: ServerProcess, token: str, branch: str = "main") -> str:
    return f"ws://127.0.0.1:{server.port}/ws/branches/{branch}/kiosk?token={token}"


def page_socket_url(kiosk: RunningKiosk) -> str:
    return f"ws://127.0.0.1:{kiosk.port}/ws"
