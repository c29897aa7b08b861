"""Fixtures: a real Redis (embedded unless NEXTUP_REDIS_URL is set) and real NextUp servers."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import redis

from server import keyring
from server.embedded_redis import EmbeddedRedis
from tests.servers import ADMIN_PASSWORD, ServerProcess


def worker_database(url: str) -> str:
    """Under pytest-xdist each worker flushes its own database: the URL's number minus the worker's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    parsed = urlsplit(url)
    base = int(parsed.path.strip("/") or 0)
    if index == 0:
        return url
    if base - index < 0:
        raise RuntimeError(f"NEXTUP_REDIS_URL {url}: use a database number of at least {index} for {worker}")
    return urlunsplit(parsed._replace(path=f"/{base - index}"))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis under test: NEXTUP_REDIS_URL when set, else an embedded redis-server."""
    external = os.environ.get("NEXTUP_REDIS_URL")
    if external:
        yield worker_database(external)
        return
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as embedded:
        yield embedded.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client on an empty database; every test starts from nothing."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


class Api:
    """A thin HTTP client for one server, with the logins tests need."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=10)
        self._tokens: dict[str, str] = {}

    def login(self, username: str, password: str) -> str:
        response = self.http.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def admin(self) -> str:
        if "admin" not in self._tokens:
            self._tokens["admin"] = self.login("admin", ADMIN_PASSWORD)
        return self._tokens["admin"]

    def user(self, username: str, role: str, counters: list[str] | None = None) -> str:
        """Create an account (once) and return a token for it."""
        if username not in self._tokens:
            response = self.http.post(
                "/api/users",
                json={"username": username, "password": f"pw-{username}-123", "role": role,
                      "counters": counters or []},
                headers=self.auth(self.admin()),
            )
            assert response.status_code == 201, response.text
            self._tokens[username] = self.login(username, f"pw-{username}-123")
        return self._tokens[username]

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def issue(self, service: str = "A", priority: bool = False, branch: str = "main") -> dict[str, Any]:
        response = self.http.post(
            f"/api/branches/{branch}/tickets",
            json={"service": service, "priority": priority},
            headers=self.auth(self.admin()),
        )
        assert response.status_code == 201, response.text
        ticket: dict[str, Any] = response.json()
        return ticket

    def counter(self, counter: str, action: str, body: dict[str, Any] | None = None,
                branch: str = "main") -> httpx.Response:
        return self.http.post(
            f"/api/branches/{branch}/counters/{counter}/{action}",
            json=body or {},
            headers=self.auth(self.admin()),
        )

    def counter_as(self, token: str, counter: str, action: str, body: dict[str, Any] | None = None,
                   branch: str = "main") -> httpx.Response:
        return self.http.post(
            f"/api/branches/{branch}/counters/{counter}/{action}", json=body or {}, headers=self.auth(token)
        )

    def state(self, branch: str = "main") -> dict[str, Any]:
        response = self.http.get(f"/api/branches/{branch}/state", headers=self.auth(self.admin()))
        assert response.status_code == 200, response.text
        state: dict[str, Any] = response.json()
        return state

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def start_server(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: start ``nextup serve`` processes sharing the test Redis and one secrets file; all
    stopped afterwards."""
    started: list[ServerProcess] = []
    shared_keys = tmp_path / "secrets.json"
    keyring.create(shared_keys, keyring.Keyring.new())

    def start(config: Path | None = None) -> ServerProcess:
        server = ServerProcess(tmp_path / f"server{len(started)}", redis_url, config, secret_key_file=shared_keys)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """One server process on the demo branch."""
    return start_server()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[Api]:
    client = Api(server.url)
    yield client
    client.close()
