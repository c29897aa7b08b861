"""Secrets at rest: a private data directory, no key in Redis, the secrets file, key rotation.

The tests on the module's ``fresh`` server look at files the embedded Redis writes, so they always
run it (no NEXTUP_REDIS_URL) and carry no ``redis`` marker, as in test_durability.py; the others
use the suite's Redis, embedded or external.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet
from websockets.sync.client import connect

from server import keyring, keys
from server.auth import Identity, Role, TokenSigner
from server.data_dir import make_private
from server.feedback import PhoneCipher
from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD, ROOT, ServerProcess, free_port

PHONE = "+8613800138000"


def wait_until(condition: Callable[[], Any], deadline_s: float = 20.0) -> Any:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise TimeoutError(f"not true within {deadline_s} s")


def token_for(signer: TokenSigner, username: str = "admin", ttl_s: float = 3600) -> str:
    return signer.issue(Identity(username, Role.ADMIN, "*", frozenset(), time.time() + ttl_s, "test-session"))


def status_with(api: Api, token: str) -> int:
    return api.http.get("/api/branches/main/state", headers=api.auth(token)).status_code


def complain(api: Api, phone: str = PHONE) -> str:
    """File a complaint with a phone number from a new ticket's page; its id."""
    ticket = api.issue("A")
    response = api.http.post(
        f"/api/branches/main/tickets/{ticket['id']}/complaints", json={"text": "too slow", "phone": phone}
    )
    assert response.status_code == 201, response.text
    complaint_id: str = response.json()["id"]
    return complaint_id


def phone_of(api: Api, complaint_id: str, token: str) -> str | None:
    response = api.http.get("/api/branches/main/complaints", headers=api.auth(token))
    assert response.status_code == 200, response.text
    [phone] = [c["phone"] for c in response.json()["complaints"] if c["id"] == complaint_id]
    return phone  # type: ignore[no-any-return]


def every_value(client: redis.Redis) -> bytes:
    """Every key and value of the database, concatenated."""
    found: list[bytes] = []
    for key in client.scan_iter(count=1000):
        found.append(key)
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key) or b"")
        elif kind == b"hash":
            found.extend(b for pair in client.hgetall(key).items() for b in pair)
        elif kind == b"list":
            found.extend(client.lrange(key, 0, -1))
        elif kind == b"set":
            found.extend(client.smembers(key))
        elif kind == b"zset":
            found.extend(member for member, _ in client.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            found.extend(b for _, fields in client.xrange(key) for pair in fields.items() for b in pair)
    return b"\n".join(found)


def secret_forms(path: Path) -> list[bytes]:
    """Every key of the secrets file, in each form it could be stored in."""
    ring = keyring.read(path)
    forms = [k.key.encode() for k in (*ring.signing, *ring.phone)]
    forms += [bytes.fromhex(k.key) for k in ring.signing]
    return forms


def aof_files(data_dir: Path) -> list[Path]:
    """The append-only file(s): ``nextup.aof`` (Redis 6) or the files in ``appendonlydir/`` (Redis 7)."""
    single = data_dir / "nextup.aof"
    folder = data_dir / "appendonlydir"
    return ([single] if single.exists() else []) + (sorted(folder.iterdir()) if folder.exists() else [])


def run_nextup(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("NEXTUP_")}
    return subprocess.run(
        [sys.executable, "-m", "server", *args], cwd=ROOT, env=base | (env or {}), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip


# ---- A fresh install on the embedded Redis -----------------------------------------------------


class Fresh:
    def __init__(self, server: ServerProcess, api: Api, password: str) -> None:
        self.server, self.api, self.password = server, api, password


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fresh]:
    """A first start with no admin password given, used the way a branch would: logins, tickets, a
    complaint with a phone number, a ticket from the demo kiosk."""
    data_dir = tmp_path_factory.mktemp("fresh") / "data"
    server = ServerProcess(data_dir, redis_url=None, admin_password=None).start()
    password = (data_dir / "admin-password.txt").read_text().strip()
    api = Api(server.url)
    try:
        api._tokens["admin"] = api.login("admin", password)
        api.user("alice", "staff", ["1"])
        api.issue("A")
        assert api.counter("1", "call-next").status_code == 200
        assert api.counter("1", "finish").status_code == 200
        complain(api)
        url = f"ws://127.0.0.1:{server.port}/kiosk/main/ws"
        with connect(url) as page:
            # The demo kiosk starts on first use; it issues once it is linked to the server.
            wait_until(lambda: json.loads(page.recv(timeout=20)).get("online") is True)
            page.send(json.dumps({"type": "issue", "request_id": "r1", "service": "B", "priority": False}))
            wait_until(lambda: json.loads(page.recv(timeout=20)).get("type") == "printed")
        yield Fresh(server, api, password)
    finally:
        api.close()
        server.stop()


def test_everything_in_the_data_directory_is_readable_by_its_owner_only(fresh: Fresh) -> None:
    """Every folder of the data directory is 0700 and every file 0600: AOF, logs, secrets, tickets."""
    data_dir = fresh.server.data_dir
    seen: dict[str, int] = {}
    for folder, folders, files in os.walk(data_dir):
        for name in [".", *folders, *files]:
            path = Path(folder) / name
            if path.name.startswith("server-") and path.suffix == ".log":
                continue  # the test harness's capture of the server's output, not written by NextUp
            mode = path.lstat().st_mode
            seen[str(path.relative_to(data_dir))] = mode
            assert stat.S_IMODE(mode) & 0o077 == 0, f"{path} is {stat.S_IMODE(mode):04o}"
            if stat.S_ISDIR(mode):
                assert stat.S_IMODE(mode) == 0o700, f"{path} is {stat.S_IMODE(mode):04o}"
            elif stat.S_ISREG(mode):
                assert stat.S_IMODE(mode) == 0o600, f"{path} is {stat.S_IMODE(mode):04o}"
    names = set(seen)
    assert {".", "redis.log", "redis.pid", "admin-password.txt", "secrets.json", "tickets"} <= names
    assert aof_files(data_dir)
    assert any(n.startswith("tickets/") and n.endswith(".png") for n in names)


def test_the_first_admin_password_is_only_in_its_file(fresh: Fresh) -> None:
    """The generated password is in admin-password.txt and nowhere in what `nextup serve` printed."""
    output = fresh.server.output()
    assert "admin-password.txt" in output
    assert fresh.password and fresh.password not in output


def test_no_key_is_in_the_append_only_file(fresh: Fresh) -> None:
    """None of the secrets file's keys, in any form, is in the embedded Redis's files."""
    data_dir = fresh.server.data_dir
    written = b"".join(p.read_bytes() for p in aof_files(data_dir))
    assert b"password_hash" in written  # the accounts are there: this is the file Redis writes
    assert b"signing_secret" not in written and b"feedback_secret" not in written
    for form in secret_forms(data_dir / "secrets.json"):
        assert form not in written


def test_a_token_signed_with_any_other_key_is_refused(fresh: Fresh) -> None:
    """Only the secrets file's key signs valid tokens: one signed with a random key is 401."""
    ring = keyring.read(fresh.server.data_dir / "secrets.json")
    assert status_with(fresh.api, token_for(TokenSigner(ring.signing_key))) == 200
    assert status_with(fresh.api, token_for(TokenSigner(os.urandom(32)))) == 401


# ---- The suite's Redis (embedded or NEXTUP_REDIS_URL) ------------------------------------------


@pytest.mark.redis
def test_no_key_is_kept_in_redis(server: ServerProcess, api: Api, redis_url: str) -> None:
    """After start and some use, no key of the secrets file is anywhere in Redis."""
    api.user("alice", "staff", ["1"])
    complain(api)
    client = redis.Redis.from_url(redis_url)
    try:
        assert not client.exists(keys.signing_secret(), keys.feedback_secret())
        stored = every_value(client)
    finally:
        client.close()
    assert b"gAAAAA" in stored  # the complaint's encrypted phone number is there, and read below
    for form in secret_forms(server.secret_key_file):
        assert form not in stored


@pytest.mark.redis
def test_keys_an_older_version_kept_in_redis_move_to_the_file(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """Upgrade: the old keys go into the new secrets file and out of Redis; old tokens and numbers still work."""
    old_signing, old_phone = os.urandom(32).hex(), Fernet.generate_key().decode()
    redis_client.set(keys.signing_secret(), old_signing)
    redis_client.set(keys.feedback_secret(), old_phone)
    server = ServerProcess(tmp_path / "data", redis_url).start()
    api = Api(server.url)
    try:
        ring = keyring.read(server.secret_key_file)
        assert (ring.signing[0].key, ring.phone[0].key) == (old_signing, old_phone)
        assert not redis_client.exists(keys.signing_secret(), keys.feedback_secret())
        assert status_with(api, token_for(TokenSigner(bytes.fromhex(old_signing)))) == 200
        stored = PhoneCipher([old_phone.encode()]).encrypt(PHONE)
        assert PhoneCipher.from_keys(None, ring.phone_keys()).decrypt(stored) == PHONE
    finally:
        api.close()
        server.stop()


@pytest.mark.redis
def test_a_secrets_file_others_can_read_stops_the_server(redis_url: str, redis_client: redis.Redis,
                                                         tmp_path: Path) -> None:  # fmt: skip
    """A group-readable secrets file: `nextup serve` exits 1 naming the file and the fix, check-config too."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    path = data_dir / "secrets.json"
    keyring.create(path, keyring.Keyring.new())
    path.chmod(0o640)
    env = {"NEXTUP_REDIS_URL": redis_url, "NEXTUP_DATA_DIR": str(data_dir)}
    served = run_nextup("serve", "--port", str(free_port()), env=env)
    assert served.returncode == 1
    assert f"chmod 600 {path}" in served.stderr and "Traceback" not in served.stderr
    checked = run_nextup("check-config", str(ROOT / "deploy" / "branch.example.toml"), env=env)
    assert checked.returncode == 1
    assert "OK: branch" in checked.stdout and f"chmod 600 {path}" in checked.stderr
    path.chmod(0o600)
    assert run_nextup("check-config", str(ROOT / "deploy" / "branch.example.toml"), env=env).returncode == 0


@pytest.mark.redis
def test_a_given_secrets_file_must_exist(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> None:
    """NEXTUP_SECRET_KEY_FILE naming no file: the server refuses (each process would make its own keys)."""
    path = tmp_path / "shared" / "secrets.json"
    env = {"NEXTUP_REDIS_URL": redis_url, "NEXTUP_DATA_DIR": str(tmp_path / "data"),
           "NEXTUP_SECRET_KEY_FILE": str(path)}  # fmt: skip
    served = run_nextup("serve", "--port", str(free_port()), env=env)
    assert served.returncode == 1 and "nextup secrets init" in served.stderr
    made = run_nextup("secrets", "init", env=env)
    assert made.returncode == 0, made.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.redis
def test_rotation_keeps_old_tokens_for_the_grace_then_refuses_them(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    """After `nextup secrets rotate` and a restart, old tokens work until the grace ends; phones stay readable."""
    data_dir = tmp_path / "data"
    server = ServerProcess(data_dir, redis_url).start()
    api = Api(server.url)
    try:
        before = api.admin()
        complaint = complain(api)
        old = keyring.read(server.secret_key_file)
        server.stop()
        rotated = run_nextup("secrets", "rotate", "--data-dir", str(data_dir))
        assert rotated.returncode == 0, rotated.stderr
        assert "Restart" in rotated.stdout
        server.start()
        ring = keyring.read(server.secret_key_file)
        assert ring.signing[0].key != old.signing[0].key and ring.phone[0].key != old.phone[0].key
        assert status_with(api, before) == 200
        after = api.login("admin", ADMIN_PASSWORD)
        assert status_with(api, after) == 200
        assert TokenSigner(ring.signing_key).verify(after).username == "admin"
        assert phone_of(api, complaint, after) == PHONE

        # The grace ends (the file says so, as it will in 12 h): the old key is refused, the new one not.
        server.stop()
        ended = [k if k.retire_at is None else type(k)(k.key, k.created, int(time.time()) - 1) for k in ring.signing]
        keyring.replace_file(server.secret_key_file, type(ring)(tuple(ended), ring.phone))
        server.start()
        assert status_with(api, before) == 401
        assert status_with(api, after) == 200
        assert phone_of(api, complaint, after) == PHONE
    finally:
        api.close()
        server.stop()


def test_a_token_of_a_retired_key_stops_working_when_the_key_retires() -> None:
    """A running server refuses a previous key's token once its grace ends, even one it verified before."""
    old, new = os.urandom(32), os.urandom(32)
    signer = TokenSigner(new, previous=[(old, time.time() + 0.3)])
    token = token_for(TokenSigner(old))
    assert signer.verify(token).username == "admin"

    def refused() -> bool:
        try:
            signer.verify(token)
        except Exception as exc:  # ApiError 401
            return "expired" in str(exc)
        return False

    wait_until(refused, deadline_s=5)
    assert signer.verify(token_for(TokenSigner(new))).username == "admin"


def test_a_phone_number_encrypted_before_a_rotation_still_decrypts() -> None:
    """The cipher encrypts with the current key and decrypts with the previous ones too."""
    ring = keyring.Keyring.new()
    stored = PhoneCipher.from_keys(None, ring.phone_keys()).encrypt(PHONE)
    rotated = ring.rotated(3600, 30 * 86400)
    cipher = PhoneCipher.from_keys(None, rotated.phone_keys())
    assert cipher.decrypt(stored) == PHONE
    assert PhoneCipher([rotated.phone_keys()[1]]).decrypt(cipher.encrypt(PHONE)) is None


def test_the_secrets_file_is_made_once(tmp_path: Path) -> None:
    """Two processes making the file at once: one wins, the other reads the winner's keys."""
    path = tmp_path / "secrets.json"
    first, second = keyring.Keyring.new(), keyring.Keyring.new()
    assert keyring.create(path, first) is True
    assert keyring.create(path, second) is False
    assert keyring.read(path).signing[0].key == first.signing[0].key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secrets.json"]



def test_files_an_older_version_left_readable_are_tightened_at_start(tmp_path: Path) -> None:
    """Upgrade: the data directory and Redis's files from before become private; a readable secrets
    file is left as it is, for start-up to refuse (its keys may have leaked)."""
    data_dir = tmp_path / "data"
    (data_dir / "appendonlydir").mkdir(parents=True)
    data_dir.chmod(0o755)
    for name in ("appendonlydir/nextup.aof.1.incr.aof", "nextup.aof", "redis.log", "secrets.json"):
        (data_dir / name).write_text("x")
        (data_dir / name).chmod(0o644)
    make_private(data_dir)
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for name in ("appendonlydir/nextup.aof.1.incr.aof", "nextup.aof", "redis.log"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((data_dir / "secrets.json").stat().st_mode) == 0o644
