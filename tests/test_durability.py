"""Crash safety of the embedded default: acknowledged tickets survive kill -9 of server and Redis.

Every test here runs `nextup serve` on its own embedded Redis (no NEXTUP_REDIS_URL, even when the
suite sets one), because durability is the embedded Redis's promise; so no ``redis`` marker.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import Api
from tests.servers import ROOT, ServerProcess, free_port, wait_until_healthy

TICKETS_BEFORE_CRASH = 200
ISSUERS = 16


def redis_pid(data_dir: Path) -> int:
    return int((data_dir / "redis.pid").read_text())


def redis_socket(data_dir: Path) -> str:
    """The unix socket the running embedded Redis listens on, from its process title.

    redis-server retitles itself "redis-server unixsocket:PATH"; the path is not always under the
    data directory (a deep one gets a short socket path elsewhere).
    """
    title = Path(f"/proc/{redis_pid(data_dir)}/cmdline").read_bytes().decode()
    match = re.search(r"unixsocket:(\S+)", title)
    assert match, f"unexpected redis-server title {title!r}"
    return match[1].rstrip("\0")


class Issuer(threading.Thread):
    """Issues tickets as fast as it can until told to stop or the server goes away."""

    def __init__(self, url: str, token: str, services: tuple[str, ...], acked: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.services, self.acked = url, token, services, acked
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.url, timeout=5) as http:
            sent = 0
            while not self.stop.is_set():
                service = self.services[sent % len(self.services)]
                sent += 1
                try:
                    response = http.post("/api/branches/main/tickets", json={"service": service}, headers=headers)
                except httpx.HTTPError:
                    return  # the server was killed: this request was never acknowledged
                if response.status_code == 201:
                    # list.append is atomic: the acknowledgement is recorded once the client has it.
                    self.acked.append(response.json())


def drain(api: Api, counter: str) -> list[dict[str, Any]]:
    """Call and finish tickets at `counter` until nothing waits for it."""
    called = []
    while True:
        response = api.counter(counter, "call-next")
        if response.status_code == 204:
            return called
        assert response.status_code == 200, response.text
        called.append(response.json())
        assert api.counter(counter, "finish").status_code == 200


def test_acknowledged_tickets_survive_kill_9_of_server_and_redis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tickets acknowledged before kill -9 of redis-server and the server are all back, in issue order."""
    # Several issuers share one kiosk account here: its per-kiosk rate limit would only slow the test.
    monkeypatch.setenv("NEXTUP_KIOSK_TICKETS_PER_MINUTE", "0")
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, redis_url=None).start()
    acked: list[dict[str, Any]] = []
    issuers: list[Issuer] = []
    try:
        api = Api(server.url)
        kiosk = api.user("kiosk-1", "kiosk")
        api.close()
        issuers = [Issuer(server.url, kiosk, ("A", "C"), acked) for _ in range(ISSUERS)]
        for issuer in issuers:
            issuer.start()
        deadline = time.monotonic() + 60
        while len(acked) < TICKETS_BEFORE_CRASH:
            assert time.monotonic() < deadline, f"only {len(acked)} tickets issued in 60 s"
            time.sleep(0.01)
        # Crash both while the issuers are still sending: Redis first, so it cannot shut down cleanly.
        os.kill(redis_pid(data_dir), signal.SIGKILL)
        server.kill()
    finally:
        for issuer in issuers:
            issuer.stop.set()
        for issuer in issuers:
            issuer.join(timeout=10)
        server.stop()
    acknowledged = list(acked)
    assert len(acknowledged) >= TICKETS_BEFORE_CRASH

    restarted = ServerProcess(data_dir, redis_url=None).start()
    api = Api(restarted.url)
    try:
        for ticket in acknowledged:
            again = api.http.get(f"/api/branches/main/tickets/{ticket['id']}")
            assert again.status_code == 200, f"acknowledged ticket {ticket['number']} lost"
            assert again.json()["number"] == ticket["number"]
            assert again.json()["service"] == ticket["service"]
            assert again.json()["status"] == "waiting"
        for counter, service in (("2", "A"), ("4", "C")):
            called = drain(api, counter)
            numbers = [t["number"] for t in called]
            # Issue order: numbers were given in queue order, so the calls come 001, 002, ...
            # without gaps (a request cut off by the crash left no trace, or all of it).
            assert numbers == [f"{service}{n:03d}" for n in range(1, len(numbers) + 1)]
            by_number = {t["number"]: t["id"] for t in called}
            mine = [t for t in acknowledged if t["service"] == service]
            assert mine
            assert all(by_number.get(t["number"]) == t["id"] for t in mine)
    finally:
        api.close()
        restarted.stop()


def test_fresh_data_dir_writes_an_fsync_always_aof(tmp_path: Path) -> None:
    """A fresh data dir gets nextup.aof, written with appendfsync always, holding each ticket."""
    data_dir = tmp_path / "fresh"
    server = ServerProcess(data_dir, redis_url=None).start()
    try:
        api = Api(server.url)
        ticket = api.issue("A")
        api.close()
        r = redis.Redis(unix_socket_path=redis_socket(data_dir), decode_responses=True)
        assert r.config_get("appendonly") == {"appendonly": "yes"}
        assert r.config_get("appendfsync") == {"appendfsync": "always"}
        assert r.config_get("appendfilename") == {"appendfilename": "nextup.aof"}
        assert r.config_get("dir") == {"dir": str(data_dir)}
        r.close()
        aof = (data_dir / "nextup.aof").read_bytes()
        # Written through before the 201: the ticket is already in the file.
        assert ticket["id"].encode() in aof
    finally:
        server.stop()


def start_without_admin_password(data_dir: Path, output: Path) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NEXTUP_REDIS_URL", "NEXTUP_ADMIN_PASSWORD")}
    port = free_port()
    args = [sys.executable, "-m", "server", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    data_dir.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as out, (output.with_suffix(".err")).open("wb") as err:
        process = subprocess.Popen([*args, "--log-level", "warning"], cwd=ROOT, env=env, stdout=out, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(url, process=process)
    except BaseException:
        process.kill()
        process.wait()
        raise
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_first_admin_password_is_generated_stored_0600_and_only_its_file_printed(tmp_path: Path) -> None:
    """Without NEXTUP_ADMIN_PASSWORD the first start makes a random password, keeps it 0600 and
    prints once where it is, never the password itself (a service's console is its journal)."""
    data_dir = tmp_path / "data"
    first_out = tmp_path / "first.out"
    process, url = start_without_admin_password(data_dir, first_out)
    try:
        stored = data_dir / "admin-password.txt"
        printed = re.findall(r"First admin account: admin; its password is in (\S+)", first_out.read_text())
        assert printed == [str(stored)]
        password = stored.read_text().removesuffix("\n")
        assert len(password) >= 12
        assert password not in first_out.read_text()
        assert stored.stat().st_mode & 0o777 == 0o600
        login = httpx.post(f"{url}/api/login", json={"username": "admin", "password": password})
        assert login.status_code == 200, login.text
        assert login.json()["role"] == "admin"
        wrong = httpx.post(f"{url}/api/login", json={"username": "admin", "password": password + "x"})
        assert wrong.status_code == 401
    finally:
        stop(process)
    # Not in the log either, and only its argon2 hash is in Redis.
    assert password not in first_out.with_suffix(".err").read_text()
    aof = (data_dir / "nextup.aof").read_text(errors="replace")
    assert password not in aof
    assert "$argon2" in aof

    second_out = tmp_path / "second.out"
    process, url = start_without_admin_password(data_dir, second_out)
    try:
        assert "First admin account" not in second_out.read_text()
        assert (data_dir / "admin-password.txt").read_text() == password + "\n"
        login = httpx.post(f"{url}/api/login", json={"username": "admin", "password": password})
        assert login.status_code == 200, login.text
    finally:
        stop(process)
