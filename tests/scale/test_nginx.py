"""Debian's nginx, with the shipped site file (deploy/nginx/nextup.conf), in front of two ``nextup
serve`` processes on one Redis, on loopback with TLS: the staff page's cookie and CSRF, the websocket
origin check, forwarded addresses, cached static files, and a process killed mid-run while a kiosk
issues and a display follows: nothing lost, nothing twice."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
import re
import shutil
import ssl
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.conftest import Api
from tests.servers import ROOT, ServerProcess, free_port
from tests.web.conftest import password_of

pytestmark = pytest.mark.redis

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx" / "nextup.conf"


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert, private = folder / "fullchain.pem", folder / "privkey.pem"
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))  # fmt: skip
    return cert, private


def site_for_test(folder: Path, port: int, upstreams: list[int]) -> str:
    """The shipped site file with this test's ports and paths: nothing else changed."""
    site = SITE.read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in upstreams)
    site, count = re.subn(r"(    server 127\.0\.0\.1:800\d [^\n]*\n)+", servers, site)
    assert count == 1, "the upstream block of deploy/nginx/nextup.conf"
    site, count = re.subn(r"server \{\n    listen 80;.*?\n\}\n", "", site, flags=re.S)
    assert count == 1, "the port-80 redirect of deploy/nginx/nextup.conf"
    replacements = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{port} ssl;",
        "listen [::]:443 ssl http2;": "",
        "/etc/nextup/tls/": f"{folder}/",
        "/var/cache/nginx/nextup": f"{folder}/cache",
    }
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
    return site


@dataclass
class Front:
    url: str
    servers: list[ServerProcess]
    process: subprocess.Popen[bytes]

    @property
    def ws(self) -> str:
        return self.url.replace("https://", "wss://")


def start_nginx(folder: Path, port: int, upstreams: list[int]) -> subprocess.Popen[bytes]:
    self_signed(folder)
    (folder / "site.conf").write_text(site_for_test(folder, port, upstreams))
    temp = " ".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                         "scgi"))  # fmt: skip
    (folder / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {folder}/nginx.pid; error_log {folder}/error.log; user root;\n"
        f"events {{ worker_connections 512; }}\n"
        f"http {{ access_log {folder}/access.log; {temp} include {folder}/site.conf; }}\n"
    )
    checked = subprocess.run([NGINX, "-t", "-p", str(folder), "-c", str(folder / "nginx.conf")],
                             capture_output=True, text=True)  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(folder / "nginx.conf")],
                               stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"https://127.0.0.1:{port}/healthz", verify=False, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise TimeoutError("nginx did not answer")


@pytest.fixture
def front(
    start_server: Callable[..., ServerProcess], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Front]:
    monkeypatch.setenv("NEXTUP_TRUSTED_PROXIES", "127.0.0.1")
    servers = [start_server(), start_server()]
    port = free_port()
    folder = tmp_path / "nginx"
    folder.mkdir()
    process = start_nginx(folder, port, [s.port for s in servers])
    yield Front(f"https://127.0.0.1:{port}", servers, process)
    process.terminate()
    process.wait(timeout=10)


def tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def csrf_of(page: str) -> str:
    match = re.search(r'"csrf_token":\s*"([^"]+)"', page)
    assert match, "the page carries its CSRF token"
    return match.group(1)


async def test_staff_pages_sockets_addresses_and_static_files_through_nginx(front: Front) -> None:
    admin = Api(front.servers[0].url)
    admin.user("staff1", "staff", ["1"])
    async with httpx.AsyncClient(base_url=front.url, verify=False, timeout=10) as staff:
        login = await staff.post("/login", data={"username": "staff1", "password": password_of("staff1")})
        assert login.status_code == 303
        assert "secure" in login.headers["set-cookie"].lower()  # the server knows it is behind TLS
        page = await staff.get("/counter")
        assert page.status_code == 200
        csrf = csrf_of(page.text)
        refused = await staff.post("/api/branches/main/counters/1/take", json={})
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "csrf"
        taken = await staff.post("/api/branches/main/counters/1/take", json={}, headers={"X-CSRF-Token": csrf})
        assert taken.status_code == 200, taken.text
        cookie = "; ".join(f"{k}={v}" for k, v in staff.cookies.items())

    # The staff socket's origin check sees the address the browser used (nginx passes Host on).
    url = f"{front.ws}/ws/branches/main/staff?counter=1"
    async with connect(url, ssl=tls(), additional_headers={"Cookie": cookie, "Origin": front.url}) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert first.get("type") not in (None, "error"), first
    async with connect(url, ssl=tls(), additional_headers={"Cookie": cookie, "Origin": "https://evil.example"}) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403

    async with httpx.AsyncClient(base_url=front.url, verify=False, timeout=10) as client:
        # A forged X-Forwarded-For is replaced by nginx: the audit log names the real client.
        posted = await client.post(
            "/api/branches/main/notice", json={"text_en": "Through nginx"},
            headers={**admin.auth(admin.admin()), "X-Forwarded-For": "203.0.113.9"},
        )  # fmt: skip
        assert posted.status_code == 200, posted.text
        audit = await client.get("/api/branches/main/audit", headers=admin.auth(admin.admin()))
        entry = next(e for e in audit.json()["entries"] if e["action"] == "notice_posted")
        assert entry["source"] == "127.0.0.1"
        # Static files are cached by nginx.
        statuses = [(await client.get("/static/staff.css")).headers.get("x-cache") for _ in range(2)]
        assert statuses[-1] == "HIT", statuses
    admin.close()


async def follow_display(front: Front, token: str, seen: list[dict[str, Any]], stop: asyncio.Event) -> int:
    """A display through nginx that reconnects with its place (since) whenever its socket drops."""
    since: str | None = None
    reconnects = 0
    while not stop.is_set():
        url = f"{front.ws}/ws/branches/main/display?token={token}" + (f"&since={since}" if since else "")
        try:
            async with connect(url, ssl=tls(), open_timeout=5) as ws:
                while not stop.is_set():
                    try:
                        raw = await asyncio.wait_for(ws.recv(), 0.5)
                    except TimeoutError:
                        continue
                    message = json.loads(raw)
                    if message["type"] == "ping":
                        await ws.send('{"type":"pong"}')
                    elif message["type"] != "pong":
                        seen.append(message)
                        since = message.get("seq") or since
        except (ConnectionClosed, InvalidStatus, OSError, TimeoutError):
            reconnects += 1
            await asyncio.sleep(0.2)
    return reconnects


async def issue_until_acknowledged(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """A kiosk's HTTP issue: the same Idempotency-Key until an answer, as a kiosk retries."""
    key = uuid.uuid4().hex
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            response = await client.post("/api/branches/main/tickets", json={"service": "A"},
                                         headers={**headers, "Idempotency-Key": key})  # fmt: skip
        except httpx.HTTPError:
            await asyncio.sleep(0.2)
            continue
        if response.status_code == 201:
            ticket: dict[str, Any] = response.json()
            return ticket
        assert response.status_code in (502, 503, 504), response.text
        await asyncio.sleep(0.2)
    raise TimeoutError("no ticket within 30 s")


async def test_a_process_killed_mid_run_loses_nothing_and_gives_nothing_twice(front: Front) -> None:
    api = Api(front.servers[0].url)
    kiosk = api.auth(api.user("kiosk1", "kiosk"))
    display_token = api.user("tv1", "display")
    # Two displays: nginx hands consecutive connections to the two processes in turn, so one of
    # them is on the process that gets killed.
    screens: list[list[dict[str, Any]]] = [[], []]
    stop = asyncio.Event()
    watchers = [asyncio.create_task(follow_display(front, display_token, seen, stop)) for seen in screens]
    # Each display has its first snapshot before the first ticket: from then on it must see every one.
    deadline = time.monotonic() + 20
    while not all(screens) and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)  # the displays' own tasks fill ``screens``
    assert all(seen and seen[0]["type"] == "snapshot" for seen in screens)
    tickets = []
    async with httpx.AsyncClient(base_url=front.url, verify=False, timeout=10) as client:
        for n in range(18):  # under the kiosk's 20 a minute
            if n == 6:
                front.servers[0].kill()  # kill -9: its sockets drop, its port refuses
            tickets.append(await issue_until_acknowledged(client, kiosk))
        # The customer's phone page, through nginx, from whichever process is left.
        phone = await client.get(f"/t/{tickets[-1]['id']}")
        assert phone.status_code == 200
    numbers = [t["number"] for t in tickets]
    assert numbers == [f"A{n:03d}" for n in range(1, 19)]  # nothing twice, nothing skipped

    def shown(seen: list[dict[str, Any]]) -> list[str]:
        return [m["ticket"]["number"] for m in seen if m["type"] == "ticket_issued"]

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(shown(seen) != numbers for seen in screens):  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # the displays' own tasks fill ``screens``
    stop.set()
    reconnects = await asyncio.gather(*watchers)
    assert max(reconnects) >= 1, "a display's socket went through the killed process"
    # Every display saw every ticket, once, in order, across its reconnection (resumed with since).
    for seen in screens:
        assert shown(seen) == numbers, shown(seen)
    api.close()
