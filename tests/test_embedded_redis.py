"""The embedded redis-server: start, stop, persistence, leftovers, and dying with its parent.

These tests always run the embedded Redis of ``server.embedded_redis``, whatever NEXTUP_REDIS_URL
says, so they carry no ``redis`` marker: rerunning them against an external Redis would repeat
exactly the same test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import redis

from server.embedded_redis import EmbeddedRedis
from server.errors import EmbeddedRedisError
from tests.servers import ServerProcess


def alive(pid: int) -> bool:
    """Whether `pid` is a running process (a zombie waiting for its parent counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state follows the parenthesised command name: "123 (redis-server) S ...".
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def wait_gone(pid: int, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while alive(pid):
        assert time.monotonic() < deadline, f"process {pid} still alive after {deadline_s} s"
        time.sleep(0.02)


def client(embedded: EmbeddedRedis) -> redis.Redis:
    return redis.Redis.from_url(embedded.url, decode_responses=True)


def test_start_answers_on_a_private_unix_socket_with_fsync_always(tmp_path: Path) -> None:
    """start() returns a unix:// URL that answers, with AOF on and fsync on every write."""
    embedded = EmbeddedRedis(tmp_path / "data")
    url = embedded.start()
    try:
        assert url == f"unix://{embedded.socket}"
        r = client(embedded)
        assert r.ping()
        assert r.config_get("appendonly") == {"appendonly": "yes"}
        assert r.config_get("appendfsync") == {"appendfsync": "always"}
        assert r.config_get("dir") == {"dir": str(tmp_path / "data")}
        assert r.config_get("port") == {"port": "0"}  # no TCP port at all
        assert embedded.socket.stat().st_mode & 0o777 == 0o700
        r.close()
    finally:
        embedded.stop()


def test_stop_ends_the_process(tmp_path: Path) -> None:
    """stop() ends redis-server cleanly: process, socket and pid file are gone; stop() twice is harmless."""
    embedded = EmbeddedRedis(tmp_path)
    embedded.start()
    assert embedded.process is not None
    pid = embedded.process.pid
    embedded.stop()
    assert not alive(pid)
    assert not embedded.socket.exists()
    assert not (tmp_path / "redis.pid").exists()
    embedded.stop()


def test_data_survives_a_restart(tmp_path: Path) -> None:
    """What is written before stop() is there after the next start() on the same data directory."""
    with EmbeddedRedis(tmp_path) as first:
        client(first).set("greeting", "你好")
    assert (tmp_path / "nextup.aof").exists()
    with EmbeddedRedis(tmp_path) as second:
        assert client(second).get("greeting") == "你好"


def test_deep_data_dir_gets_a_short_socket(tmp_path: Path) -> None:
    """A data directory too deep for a unix socket path still works, through a short socket path."""
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    with EmbeddedRedis(deep) as embedded:
        assert len(str(embedded.socket)) < 100
        assert client(embedded).ping()
        assert client(embedded).config_get("dir") == {"dir": str(deep)}


def test_unusable_data_dir_is_an_embedded_redis_error(tmp_path: Path) -> None:
    """A data directory that cannot be created is reported as EmbeddedRedisError, not a traceback."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(EmbeddedRedisError):
        EmbeddedRedis(blocker / "data").start()


def test_leftover_redis_on_the_same_data_dir_is_replaced(tmp_path: Path) -> None:
    """A redis-server left running on the data directory is stopped and a new one serves its data."""
    leftover = EmbeddedRedis(tmp_path)
    leftover.start()
    assert leftover.process is not None
    old = leftover.process
    client(leftover).set("from-crashed-run", "kept")
    # Reap the leftover as soon as it exits, as the init process would for an orphan.
    reaper = threading.Thread(target=old.wait, daemon=True)
    reaper.start()
    replacement = EmbeddedRedis(tmp_path)
    try:
        replacement.start()
        wait_gone(old.pid)
        assert replacement.process is not None
        assert int((tmp_path / "redis.pid").read_text()) == replacement.process.pid
        assert client(replacement).get("from-crashed-run") == "kept"
    finally:
        replacement.stop()
        leftover.stop()
    reaper.join(timeout=10)


def test_stale_pid_file_of_another_program_is_left_alone(tmp_path: Path) -> None:
    """A pid file naming a process that is not redis-server does not get that process killed."""
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "redis.pid").write_text(f"{bystander.pid}\n")
        with EmbeddedRedis(tmp_path) as embedded:
            assert client(embedded).ping()
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_redis_dies_when_its_server_is_killed(tmp_path: Path) -> None:
    """kill -9 of `nextup serve` takes its embedded redis-server down too (PR_SET_PDEATHSIG)."""
    server = ServerProcess(tmp_path / "data", redis_url=None).start()
    pid = 0
    try:
        pid = int((tmp_path / "data" / "redis.pid").read_text())
        assert alive(pid)
        assert b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
        server.kill()
        wait_gone(pid)
    finally:
        server.stop()
        if pid and alive(pid):
            os.kill(pid, signal.SIGKILL)
