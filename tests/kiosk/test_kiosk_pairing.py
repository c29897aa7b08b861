"""``nextup kiosk`` without a token pairs itself: it shows a code, an admin approves it, it keeps its credential."""

from __future__ import annotations

import json
import re
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from playwright.sync_api import Page, expect
from websockets.sync.client import connect as connect_sync

from kiosk.pairing import CREDENTIAL_FILE, Credential, CredentialFile
from printer.emulator import PrinterEmulator
from server import keys
from tests.conftest import Api
from tests.kiosk.conftest import issue_through_kiosk, page_socket_url, tap
from tests.kiosk.processes import KioskProcess, RunningKiosk
from tests.servers import ServerProcess

Message = dict[str, Any]


def page_state(kiosk: RunningKiosk, accept: Callable[[Message], bool], within_s: float = 20.0) -> list[Message]:
    """The ``state`` messages the kiosk's page gets, up to the first ``accept`` approves (last in the list)."""
    seen: list[Message] = []
    with connect_sync(page_socket_url(kiosk), open_timeout=5) as ws:
        deadline = time.monotonic() + within_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no such page state within {within_s} s; last: {seen[-1:]!r}")
            message: Message = json.loads(ws.recv(timeout=remaining))
            if message.get("type") != "state":
                continue
            seen.append(message)
            if accept(message):
                return seen


def shows_code(state: Message) -> bool:
    return bool(state["pairing"] and state["pairing"]["code"])


def connected(state: Message) -> bool:
    return bool(state["online"]) and state["pairing"] is None


def approve(api: Api, code: str, name: str) -> None:
    response = api.http.post("/api/branches/main/pairing", json={"code": code, "name": name},
                             headers=api.auth(api.admin()))  # fmt: skip
    assert response.status_code == 201, response.text


def pair(api: Api, kiosk: RunningKiosk, name: str) -> str:
    """Approve the code the kiosk shows as ``name``; the code, once the kiosk is connected."""
    code = str(page_state(kiosk, shows_code)[-1]["pairing"]["code"])
    approve(api, code, name)
    page_state(kiosk, connected)
    return code


@pytest.fixture
def logged_server(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[ServerProcess]:
    """A demo-branch server logging at info, so every websocket URL it is asked for is in its log."""
    server = ServerProcess(tmp_path / "logged-server", redis_url, log_level="info").start()
    yield server
    server.stop()


@pytest.mark.redis
def test_a_kiosk_without_a_token_shows_a_code_and_works_once_an_admin_approves_it(
    logged_server: ServerProcess, emulator: PrinterEmulator, tmp_path: Path,
    start_kiosk: Callable[..., RunningKiosk],
) -> None:  # fmt: skip
    """The code is on the page and the console; once approved it prints tickets; its token is private, in no URL."""
    api = Api(logged_server.url)
    data_dir = tmp_path / "kiosk-data"
    kiosk = start_kiosk(logged_server, None, emulator.url, "--data-dir", str(data_dir), process=True)
    states = page_state(kiosk, shows_code)
    code = str(states[-1]["pairing"]["code"])
    assert re.fullmatch(r"\d{6}", code) and not states[-1]["online"]
    assert not (data_dir / CREDENTIAL_FILE).exists()

    approve(api, code, "kiosk-hall-1")
    page_state(kiosk, connected)
    assert issue_through_kiosk(kiosk, "paired-first-ticket")["type"] == "printed"

    credential = data_dir / CREDENTIAL_FILE
    assert stat.S_IMODE(credential.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    token = json.loads(credential.read_text())["token"]
    assert isinstance(kiosk, KioskProcess)
    console = kiosk.output()
    assert f"Pairing code {code}" in console and token not in console
    server_log = logged_server.output()
    assert "/ws/branches/main/kiosk" in server_log  # uvicorn logs each websocket it accepts, with its URL
    assert "token=" not in server_log and token not in server_log
    api.close()


@pytest.mark.redis
def test_a_restarted_kiosk_uses_its_stored_credential_without_pairing_again(
    server: ServerProcess, api: Api, emulator: PrinterEmulator, tmp_path: Path,
    start_kiosk: Callable[..., RunningKiosk], redis_client: redis.Redis,
) -> None:  # fmt: skip
    """After a restart the kiosk connects with the credential it kept; it never shows a code."""
    data_dir = str(tmp_path / "kiosk-data")
    first = start_kiosk(server, None, emulator.url, "--data-dir", data_dir)
    pair(api, first, "kiosk-hall-2")
    first.stop()

    again = start_kiosk(server, None, emulator.url, "--data-dir", data_dir)
    states = page_state(again, connected)
    assert all(state["pairing"] is None for state in states)
    assert not redis_client.keys(keys.pairing_code("*"))  # nobody asked for a code
    assert issue_through_kiosk(again, "after-restart")["type"] == "printed"


@pytest.mark.redis
def test_a_disabled_kiosk_drops_its_credential_and_shows_a_new_code(
    server: ServerProcess, api: Api, emulator: PrinterEmulator, tmp_path: Path,
    start_kiosk: Callable[..., RunningKiosk],
) -> None:  # fmt: skip
    """A stored token the server refuses (4401) is deleted and the kiosk pairs again instead of retrying it."""
    data_dir = tmp_path / "kiosk-data"
    first = start_kiosk(server, None, emulator.url, "--data-dir", str(data_dir))
    old_code = pair(api, first, "kiosk-hall-3")
    first.stop()
    disabled = api.http.patch("/api/users/kiosk-hall-3", json={"disabled": True}, headers=api.auth(api.admin()))
    assert disabled.status_code == 200, disabled.text

    again = start_kiosk(server, None, emulator.url, "--data-dir", str(data_dir))
    states = page_state(again, shows_code)
    assert not any(state["online"] for state in states)
    assert states[-1]["pairing"]["code"] != old_code
    assert not (data_dir / CREDENTIAL_FILE).exists()

    enabled = api.http.patch("/api/users/kiosk-hall-3", json={"disabled": False}, headers=api.auth(api.admin()))
    assert enabled.status_code == 200, enabled.text
    approve(api, str(states[-1]["pairing"]["code"]), "kiosk-hall-3")  # paired again, under its old name
    page_state(again, connected)
    assert (data_dir / CREDENTIAL_FILE).exists()


@pytest.mark.redis
@pytest.mark.browser
def test_the_page_of_an_unpaired_kiosk_shows_the_code_instead_of_the_services(
    server: ServerProcess, api: Api, emulator: PrinterEmulator, tmp_path: Path,
    start_kiosk: Callable[..., RunningKiosk], page: Page,
) -> None:  # fmt: skip
    """The code, large, with what to do in Chinese and English; the services appear once an admin pairs it."""
    kiosk = start_kiosk(server, None, emulator.url, "--data-dir", str(tmp_path / "kiosk-data"))
    page.goto(kiosk.url + "/")
    expect(page.locator("#pairing-code")).to_have_text(re.compile(r"^\d{6}$"), timeout=15_000)
    expect(page.locator("#pairing")).to_contain_text("请管理员在后台「配对设备」中输入此配对码")
    expect(page.locator("#pairing")).to_contain_text("Ask an administrator to enter this code under Admin")
    expect(page.locator("#offline")).to_be_hidden()
    expect(page.locator("button.service").first).to_be_hidden()

    approve(api, page.locator("#pairing-code").inner_text(), "kiosk-hall-4")
    page.wait_for_selector("body[data-online=true]", timeout=15_000)
    expect(page.locator("#pairing")).to_be_hidden()
    assert tap(page, "A") == "A001"


def test_the_credential_file_is_private_written_whole_and_only_for_its_server_and_branch(tmp_path: Path) -> None:
    """0700 folder, 0600 file, no temporary left; another server's or branch's credential is not used."""
    store = CredentialFile(tmp_path / "data")
    credential = Credential("nxt1.a.b", "kiosk-1", "http://10.0.0.2:8000", "main")
    store.save(credential)
    store.save(credential)  # replaces the file
    assert [p.name for p in store.data_dir.iterdir()] == [CREDENTIAL_FILE]
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.data_dir.stat().st_mode) == 0o700
    assert store.load("http://10.0.0.2:8000", "main") == credential
    assert store.load("http://10.0.0.3:8000", "main") is None
    assert store.load("http://10.0.0.2:8000", "east") is None
    store.path.chmod(0o644)
    assert store.load("http://10.0.0.2:8000", "main") == credential
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    store.path.write_text("{not json")
    assert store.load("http://10.0.0.2:8000", "main") is None
    store.delete()
    assert store.load("http://10.0.0.2:8000", "main") is None
