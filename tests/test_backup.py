"""``nextup backup`` and ``nextup restore``: a busy day saved and restored into a fresh Redis answers
every API question as before; a file cut short, changed, encrypted for another installation, or
restored over existing data is refused and changes nothing."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st

from server import keyring
from server.backup import archive
from server.backup.archive import Backup, BackupFileError, Record
from server.embedded_redis import EmbeddedRedis
from tests.conftest import Api
from tests.servers import ROOT, ServerProcess

# ---- The file format, without Redis ----------------------------------------------------------

# Any bytes a Redis string may hold, as the archive keeps them (UTF-8 with surrogateescape).
redis_strings = st.binary(max_size=12).map(archive.text)
stream_ids = st.tuples(st.integers(1, 2**40), st.integers(0, 99)).map(lambda p: f"{p[0]}-{p[1]}")
values: dict[str, st.SearchStrategy[Any]] = {
    "string": redis_strings,
    "hash": st.dictionaries(redis_strings, redis_strings, max_size=4),
    "list": st.lists(redis_strings, max_size=4),
    "set": st.lists(redis_strings, max_size=4, unique=True).map(sorted),
    "zset": st.lists(st.tuples(redis_strings, st.integers(-(2**50), 2**50).map(str)).map(list), max_size=4),
    "stream": st.fixed_dictionaries({
        "entries": st.lists(st.tuples(stream_ids, st.lists(redis_strings, max_size=4).map(lambda f: f + f)).map(list),
                            max_size=3),
        "last_id": stream_ids,
        "groups": st.lists(st.tuples(redis_strings, stream_ids).map(list), max_size=2),
    }),
}  # fmt: skip
records = st.sampled_from(archive.TYPES).flatmap(
    lambda kind: st.builds(Record, redis_strings, st.just(kind), st.integers(-1, 10**9), values[kind])
)
backups = st.builds(
    Backup,
    st.sampled_from(archive.SCOPES),
    st.lists(st.text(min_size=1, max_size=8), max_size=3).map(tuple),
    st.just("2026-12-01T10:00:00+00:00"),
    st.lists(records, max_size=6).map(tuple),
)
KEY = archive.backup_key(b"the installation's key")


@given(backups, st.booleans())
@settings(max_examples=150, deadline=None)
def test_a_backup_reads_back_as_it_was_written(backup: Backup, encrypted: bool) -> None:
    data = archive.encode(backup, KEY if encrypted else None)
    assert archive.is_encrypted(data) == encrypted
    assert archive.decode(data, [KEY]) == backup


def small_backup() -> Backup:
    return Backup("branch", ("main",), "2026-12-01T10:00:00+00:00", (
        Record("nextup:{main}:numbering:2026-12-01", "hash", -1, {"A": "3"}),
        Record("nextup:{main}:events", "stream", -1,
               {"entries": [["1-0", ["type", "ticket_issued"]]], "last_id": "1-0", "groups": [["metrics", "1-0"]]}),
    ))  # fmt: skip


def test_a_file_cut_short_anywhere_is_refused() -> None:
    data = archive.encode(small_backup())
    for cut in range(len(data)):
        with pytest.raises(BackupFileError):
            archive.decode(data[:cut])


def test_a_file_with_any_byte_changed_is_refused() -> None:
    data = archive.encode(small_backup())
    for position in range(len(data)):
        changed = bytearray(data)
        changed[position] ^= 0x01
        with pytest.raises(BackupFileError):
            archive.decode(bytes(changed))


def test_a_file_whose_records_were_rewritten_with_a_new_gzip_is_refused_by_its_checksum() -> None:
    """An edit that re-compresses the body, so that gzip's own CRC holds, still meets the checksum."""
    data = archive.encode(small_backup())
    head, _, body = data.partition(b"\n")
    edited = gzip.decompress(body).replace(b'"A":"3"', b'"A":"1"')
    assert edited != gzip.decompress(body)
    with pytest.raises(BackupFileError, match="changed after it was written"):
        archive.decode(head + b"\n" + gzip.compress(edited))


def test_an_encrypted_file_needs_the_installation_s_key() -> None:
    data = archive.encode(small_backup(), KEY)
    with pytest.raises(BackupFileError, match="encrypted"):
        archive.decode(data)
    with pytest.raises(BackupFileError, match="another installation"):
        archive.decode(data, [archive.backup_key(b"another installation")])
    changed = bytearray(data)
    changed[-5] ^= 0x01
    with pytest.raises(BackupFileError):
        archive.decode(bytes(changed), [KEY])


def test_another_version_or_another_file_is_refused_in_words() -> None:
    data = archive.encode(small_backup())
    with pytest.raises(BackupFileError, match="format version 2"):
        archive.decode(data.replace(b"NEXTUP-BACKUP 1", b"NEXTUP-BACKUP 2", 1))
    with pytest.raises(BackupFileError, match="not a NextUp backup file"):
        archive.decode(b"PK\x03\x04 a zip file")


# ---- Round trip through Redis and the real server ---------------------------------------------


def nextup(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


@pytest.fixture
def fresh_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty embedded Redis, the target of a restore."""
    with EmbeddedRedis(tmp_path_factory.mktemp("fresh")) as embedded:
        yield embedded.url


def command_env(redis_url: str, secrets_file: Path) -> dict[str, str]:
    """The commands are given the Redis and the installation's secrets file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXTUP_")}
    env.update(NEXTUP_REDIS_URL=redis_url, NEXTUP_SECRET_KEY_FILE=str(secrets_file))
    return env


def busy_day(server: ServerProcess, api: Api) -> None:
    """A simulated busy stretch, then a rating, a complaint with a phone number, a notice and accounts."""
    simulated = subprocess.run(
        [sys.executable, "-m", "server", "simulate", "--server", server.url, "--token", api.admin(), "--speed", "600",
         "--day", "busy", "--seed", "5", "--start", "10:00", "--minutes", "20"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert simulated.returncode == 0, simulated.stderr
    api.user("clerk", "staff", counters=["1"])
    api.user("boss", "manager")
    waiting = api.issue("A")
    api.issue("B", priority=True)
    assert api.counter("2", "finish").status_code in (200, 409)
    served = api.http.post("/api/branches/main/counters/2/call", json={"number": waiting["number"]},
                           headers=api.auth(api.admin()))  # fmt: skip
    assert served.status_code == 200, served.text
    assert api.counter("2", "finish").status_code == 200
    ticket = f"/api/branches/main/tickets/{waiting['id']}"
    assert api.http.post(f"{ticket}/rating", json={"rating": 4}).status_code in (200, 201)
    complaint = api.http.post(f"{ticket}/complaints", json={"text": "等太久了", "phone": "13800138000"})
    assert complaint.status_code == 201, complaint.text
    notice = api.http.post("/api/branches/main/notice", json={"text_zh": "午间照常营业", "text_en": "Open at noon"},
                           headers=api.auth(api.admin()))  # fmt: skip
    assert notice.status_code in (200, 201), notice.text
    # The hall closes for the evening: open and busy times stop following the clock.
    for counter in ("1", "2", "3", "4"):
        assert api.counter(counter, "finish").status_code in (200, 409)
        assert api.counter(counter, "close").status_code in (200, 409)


def settled_metrics(api: Api) -> dict[str, Any]:
    """The metrics, but for the figures that follow the clock, once the consumer has applied every
    event (two equal answers in a row)."""
    deadline = time.monotonic() + 30
    previous: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        report: dict[str, Any] = api.http.get("/api/branches/main/metrics", headers=api.auth(api.admin())).json()
        report = without_clock(report)
        if report == previous and report["totals"]["issued"] > 0:
            return report
        previous = report
        time.sleep(0.3)
    raise TimeoutError("the metrics did not settle")


def answers(api: Api, ticket_ids: list[str]) -> dict[str, Any]:
    """What the API says about the day: state, every ticket, metrics, audit, complaints, accounts, config."""
    admin = api.auth(api.admin())

    def get(path: str, headers: dict[str, str] | None = None) -> Any:
        response = api.http.get(path, headers=headers if headers is not None else admin)
        assert response.status_code == 200, (path, response.text)
        return response.json()

    return {
        "state": get("/api/branches/main/state"),
        "tickets": {i: get(f"/api/branches/main/tickets/{i}", {}) for i in ticket_ids},
        "metrics": settled_metrics(api),
        "audit": get("/api/branches/main/audit"),
        "complaints": get("/api/branches/main/complaints"),
        "ratings": get("/api/branches/main/ratings"),
        "users": get("/api/users"),
        "config": get("/api/branches/main/config"),
    }


#: Fields that follow the clock: the server's now, live waits and ages.
CLOCK_FIELDS = ("now", "generated_at", "server_time", "estimated_wait_s", "waited_s", "age_s", "live")


def without_clock(document: Any) -> Any:
    """The answers with the fields that follow the clock taken out."""
    if isinstance(document, dict):
        return {k: without_clock(v) for k, v in document.items() if k not in CLOCK_FIELDS}
    if isinstance(document, list):
        return [without_clock(v) for v in document]
    return document


@pytest.mark.redis
def test_a_busy_day_restored_into_a_fresh_redis_answers_every_question_the_same(
    start_server: Callable[..., ServerProcess], redis_url: str, redis_client: redis.Redis, fresh_redis: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    original = start_server()
    api = Api(original.url)
    busy_day(original, api)
    ticket_ids = sorted(redis_client.hvals(next(iter(redis_client.scan_iter("nextup:{main}:numbers:*")))))
    before = answers(api, ticket_ids)
    secrets_file = original.secret_key_file
    env = command_env(redis_url, secrets_file)
    saved = nextup("backup", "--out", str(tmp_path / "day.nextup"), env=env)
    assert saved.returncode == 0, saved.stderr
    assert "the installation (main)" in saved.stdout
    assert (tmp_path / "day.nextup").stat().st_mode & 0o777 == 0o600
    # Nothing of the keyring in the file: its keys stay in the secrets file.
    data = (tmp_path / "day.nextup").read_bytes()
    plain = archive.decode(data)
    everything = json.dumps([r.value for r in plain.records])
    for key in keyring.read(secrets_file).signing + keyring.read(secrets_file).phone:
        assert key.key not in everything
    assert "13800138000" not in everything  # complaint phone numbers stay encrypted

    restored = nextup("restore", str(tmp_path / "day.nextup"), env=command_env(fresh_redis, secrets_file))  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    successor = ServerProcess(tmp_path / "successor", fresh_redis, secret_key_file=secrets_file).start()
    try:
        api_after = Api(successor.url)
        after = answers(api_after, ticket_ids)
        assert without_clock(after) == without_clock(before)
        # The tokens of before still work (same accounts, same keys), and the day goes on where it was:
        # the next ticket takes the next number on both sides.
        on_original, on_restored = api.issue("C"), api_after.issue("C")
        assert on_restored["number"] == on_original["number"]
        # Phone numbers are readable with the same secrets file.
        manager = api_after.auth(api_after.user("boss2", "manager"))
        complaints = api_after.http.get("/api/branches/main/complaints", headers=manager).json()["complaints"]
        assert any("138" in json.dumps(c, ensure_ascii=False) for c in complaints)
    finally:
        successor.stop()

    # A second restore into the now busy Redis is refused and changes nothing.
    target = redis.Redis.from_url(fresh_redis, decode_responses=True)
    size = target.dbsize()
    again = nextup("restore", str(tmp_path / "day.nextup"), env=command_env(fresh_redis, secrets_file))  # fmt: skip
    assert again.returncode == 1
    assert "not empty" in again.stderr and "nothing was restored" in again.stderr
    assert "Traceback" not in again.stderr
    assert target.dbsize() == size
    target.close()


def test_a_damaged_or_foreign_file_is_refused_and_the_target_stays_empty(
    redis_client: redis.Redis, redis_url: str, fresh_redis: str, tmp_path: Path
) -> None:
    redis_client.hset("nextup:{main}:numbering:2026-12-01", mapping={"A": "3"})
    redis_client.xadd("nextup:{main}:events", {"type": "ticket_issued"})
    secrets_file = tmp_path / "secrets.json"
    keyring.create(secrets_file, keyring.Keyring.new())
    env = command_env(redis_url, secrets_file)
    assert nextup("backup", "--out", str(tmp_path / "plain.nextup"), env=env).returncode == 0
    assert nextup("backup", "--encrypt", "--out", str(tmp_path / "locked.nextup"), env=env).returncode == 0
    assert nextup("backup", "--out", str(tmp_path / "plain.nextup"), env=env).returncode == 1  # never overwritten
    # A nightly timer's folder keeps the newest N.
    for _ in range(3):
        assert nextup("backup", "--out-dir", str(tmp_path / "nightly"), "--keep", "2", env=env).returncode == 0
    kept = sorted((tmp_path / "nightly").iterdir())
    assert len(kept) == 2 and all(p.name.startswith("nextup-installation-") for p in kept)
    assert (tmp_path / "nightly").stat().st_mode & 0o777 == 0o700
    data = (tmp_path / "plain.nextup").read_bytes()
    (tmp_path / "cut.nextup").write_bytes(data[: len(data) // 2])
    changed = bytearray(data)
    changed[len(data) // 2] ^= 0x40
    (tmp_path / "changed.nextup").write_bytes(bytes(changed))
    other_keys = tmp_path / "other-secrets.json"
    keyring.create(other_keys, keyring.Keyring.new())
    target = redis.Redis.from_url(fresh_redis)
    cases = [
        ("cut.nextup", secrets_file, "cut short"),
        ("changed.nextup", secrets_file, "changed after it was written"),
        ("locked.nextup", other_keys, "another installation"),
    ]
    for name, secrets_given, words in cases:
        result = nextup("restore", str(tmp_path / name), env=command_env(fresh_redis, secrets_given))
        assert result.returncode == 1, name
        assert words in result.stderr and "nothing was restored" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
        assert target.dbsize() == 0, name
    checked = nextup("restore", "--check", str(tmp_path / "locked.nextup"),
                     env=command_env(fresh_redis, secrets_file))  # fmt: skip
    assert checked.returncode == 0 and "the file is whole" in checked.stdout
    assert target.dbsize() == 0
    target.close()


def test_one_branch_with_its_accounts_restores_into_an_installation_that_lacks_it(
    start_server: Callable[..., ServerProcess], redis_url: str, fresh_redis: str, tmp_path: Path
) -> None:
    original = start_server()
    api = Api(original.url)
    ticket = api.issue("A")
    api.user("clerk", "staff", counters=["1"])
    env = command_env(redis_url, original.secret_key_file)
    saved = nextup("backup", "--branch", "main", "--out", str(tmp_path / "main.nextup"), env=env)
    assert saved.returncode == 0, saved.stderr
    missing = nextup("backup", "--branch", "atlantis", "--out", str(tmp_path / "none.nextup"), env=env)
    assert missing.returncode == 1 and "no branch 'atlantis'" in missing.stderr
    plain = archive.decode((tmp_path / "main.nextup").read_bytes())
    assert plain.scope == "branch" and plain.branches == ("main",)
    # Only the branch and its own accounts: not the installation's admin.
    assert {r.key for r in plain.records if not r.key.startswith("nextup:{main}:")} >= {"nextup:user:clerk"}
    assert "nextup:user:admin" not in {r.key for r in plain.records}

    # The target installation has an admin of its own and no branch main yet.
    target = ServerProcess(tmp_path / "target", fresh_redis, secret_key_file=original.secret_key_file).start()
    target_redis = redis.Redis.from_url(fresh_redis, decode_responses=True)
    for key in target_redis.scan_iter("nextup:{main}:*"):
        target_redis.delete(key)
    for username in target_redis.smembers("nextup:users"):
        if target_redis.hget(f"nextup:user:{username}", "branch") == "main":
            target_redis.delete(f"nextup:user:{username}", f"nextup:user_sessions:{username}")
            target_redis.srem("nextup:users", username)
    target.stop()
    restored = nextup("restore", str(tmp_path / "main.nextup"),
                      env=command_env(fresh_redis, original.secret_key_file))  # fmt: skip
    assert restored.returncode == 0, restored.stderr
    assert target_redis.sismember("nextup:users", "admin") and target_redis.sismember("nextup:users", "clerk")
    after = target.successor().start()
    try:
        assert httpx.get(f"{after.url}/api/branches/main/tickets/{ticket['id']}").json()["number"] == ticket["number"]
        clerk = Api(after.url).login("clerk", "pw-clerk-123")
        assert clerk
    finally:
        after.stop()
    again = nextup("restore", str(tmp_path / "main.nextup"),
                   env=command_env(fresh_redis, original.secret_key_file))  # fmt: skip
    assert again.returncode == 1 and "already holds" in again.stderr
    target_redis.close()
