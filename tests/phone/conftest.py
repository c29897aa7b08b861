"""Phone page test helpers: a phone-sized chromium, a TCP proxy that can drop or filter connections,
an in-process server with a test clock, and small API helpers."""

from __future__ import annotations

import contextlib
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import redis
from playwright.sync_api import Browser, Page

from server import keys
from server.clock import ManualClock
from server.config import demo_branch
from server.settings import Settings
from tests.browser import chromium
from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD, InProcessServer, ServerProcess, free_port
from tests.web.conftest import log_in

#: The managers' office PC.
DESK = {"width": 1366, "height": 768}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
EXPECT_MS = 15_000


@pytest.fixture(scope="module")
def phone_browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def open_phone(phone_browser: Browser) -> Iterator[Callable[..., Page]]:
    """Factory: a phone-sized, touch, mobile browser in ``locale`` opening ``url``; closed afterwards."""
    contexts = []

    def open_page(url: str, locale: str = "zh-CN", problems: list[str] | None = None) -> Page:
        """``problems``, when given, collects script errors and console errors (CSP violations)."""
        context = phone_browser.new_context(**PHONE, locale=locale)  # type: ignore[arg-type]
        contexts.append(context)
        page = context.new_page()
        if problems is not None:
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def phone_state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = page.evaluate("() => ({...window.nextupPhone})")
    return state


def wait_live(page: Page, transport: str = "ws") -> None:
    """Until the page follows its ticket live over ``transport``."""
    page.wait_for_function(
        "t => window.nextupPhone && window.nextupPhone.connected && window.nextupPhone.transport === t",
        arg=transport,
        timeout=EXPECT_MS,
    )


def page_url(server_url: str, ticket: dict[str, Any]) -> str:
    return f"{server_url}/t/{ticket['id']}"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def call_next(api: Api, counter: str) -> dict[str, Any]:
    ticket: dict[str, Any] = ok(api.counter(counter, "call-next"))
    return ticket


def serve(api: Api, counter: str = "2") -> dict[str, Any]:
    """Call the next ticket at ``counter`` and finish it."""
    ticket = call_next(api, counter)
    ok(api.counter(counter, "finish"))
    return ticket


def random_id() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def hall_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for a whole module, on a database emptied once; ``hall`` tidies it between tests."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    server = ServerProcess(tmp_path_factory.mktemp("hall"), redis_url).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hall_api(hall_server: ServerProcess) -> Iterator[Api]:
    client = Api(hall_server.url)
    yield client
    client.close()


@pytest.fixture(scope="module")
def hall_redis(redis_url: str, hall_server: ServerProcess) -> Iterator[redis.Redis]:
    """A client on the module's database that, unlike ``redis_client``, does not empty it."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def hall(hall_api: Api, hall_redis: redis.Redis) -> Api:
    """The module's server with every queue empty and every counter open and free.

    Starting a server per test would cost seconds each; tidying through the API costs milliseconds,
    and tests then look only at their own tickets.
    """
    for counter in hall_api.state()["counters"]:
        if counter["current"]:
            ok(hall_api.counter(counter["id"], "finish"))
        if counter["status"] != "open":
            ok(hall_api.counter(counter["id"], "open"))
    for key in hall_redis.scan_iter(match=keys.branch_prefix("main") + "queue:*"):
        for ticket_id in cast(list[str], hall_redis.zrange(key, 0, -1)):
            ok(hall_api.http.post(f"/api/branches/main/tickets/{ticket_id}/cancel"))
    return hall_api


@pytest.fixture(scope="module")
def manager(hall_api: Api) -> dict[str, str]:
    """Authorization headers of a manager account."""
    return hall_api.auth(hall_api.user("manager1", "manager"))


@pytest.fixture
def restartable(redis_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    """Servers a test starts and restarts itself; every one stopped afterwards."""
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def clocked(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[tuple[InProcessServer, ManualClock, Api]]:
    """The real app in this process on a real port, with a clock the test moves."""
    clock = ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai
    settings = Settings(redis_url=None, data_dir=tmp_path, admin_password=ADMIN_PASSWORD, public_url=None)
    with InProcessServer(settings, demo_branch(), redis_url, clock) as server:
        client = Api(server.url)
        yield server, clock, client
        client.close()


class TcpProxy:
    """A loopback TCP proxy in front of a server, as a phone's network path.

    ``cut()`` drops every connection (a phone losing its network); while ``down`` it refuses new
    ones; with ``block_websockets`` it answers websocket upgrades 403, as some proxies do.
    """

    def __init__(self, target_port: int, *, block_websockets: bool = False) -> None:
        self.target_port = target_port
        self.block_websockets = block_websockets
        self.down = False
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upgrades_refused = 0
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(self, stay_down: bool = True) -> None:
        self.down = stay_down
        with self._lock:
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
        except OSError:
            client.close()
            return
        with self._lock:
            self._sockets.update((client, upstream))
        first = b""
        with contextlib.suppress(OSError):
            first = client.recv(65536)
        if self.block_websockets and b"upgrade: websocket" in first.lower():
            self.upgrades_refused += 1
            with contextlib.suppress(OSError):
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self._drop(client, upstream)
            return
        with contextlib.suppress(OSError):
            upstream.sendall(first)
        threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
        self._pipe(client, upstream)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        self._drop(source, sink)

    def _drop(self, *socks: socket.socket) -> None:
        with self._lock:
            for sock in socks:
                self._sockets.discard(sock)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@pytest.fixture
def proxy_factory() -> Iterator[Callable[..., TcpProxy]]:
    proxies: list[TcpProxy] = []

    def make(target_port: int, **options: Any) -> TcpProxy:
        proxy = TcpProxy(target_port, **options)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


@pytest.fixture
def open_desk(phone_browser: Browser, manager: dict[str, str]) -> Iterator[Callable[..., Page]]:
    """Factory: a 1366x768 desktop browser in ``locale`` where manager1 logged in and opened the complaints page."""
    contexts = []

    def open_page(url: str, locale: str = "zh-CN", problems: list[str] | None = None) -> Page:
        """``problems``, when given, collects script errors and console errors (CSP violations)."""
        context = phone_browser.new_context(viewport=DESK, locale=locale)
        contexts.append(context)
        page = context.new_page()
        if problems is not None:
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
        log_in(page, url, "manager1", path="/complaints", lang="zh" if locale.startswith("zh") else "en")
        return page

    yield open_page
    for context in contexts:
        context.close()


def file_complaint(api: Api, ticket: dict[str, Any], text: str) -> str:
    """A complaint sent as the phone page sends it; its id."""
    filed = ok(api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json={"text": text}), 201)
    complaint_id: str = filed["id"]
    return complaint_id


def listed(api: Api, manager: dict[str, str], complaint_id: str, state: str = "") -> dict[str, Any] | None:
    query = f"?state={state}" if state else ""
    complaints = ok(api.http.get(f"/api/branches/main/complaints{query}", headers=manager))["complaints"]
    return next((c for c in complaints if c["id"] == complaint_id), None)
