"""``tcp://HOST[:PORT]``: raw printing to port 9100, the usual network printer case.

One connection per operation: network printers serve one client at a time and
silently drop idle connections, so holding one open would block other clients
and fail unpredictably later.
"""

from __future__ import annotations

import fcntl
import socket
import struct
import termios
import time
from urllib.parse import SplitResult

from printer.errors import (
    PrinterConfigError,
    PrinterOffline,
    PrinterTimeout,
    PrinterUnsupported,
)
from printer.status import STATUS_QUERIES, PrinterStatus, parse_status_reply, status_query
from printer.transports.base import positive_float, url_options

DEFAULT_PORT = 9100
_DRAIN_POLL_S = 0.01


class TcpTransport:
    """Send jobs and query DLE EOT status over TCP, every step with a timeout."""

    def __init__(
        self,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        connect_timeout: float = 3.0,
        write_timeout: float = 10.0,
        status_timeout: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.write_timeout = write_timeout
        self.status_timeout = status_timeout

    @property
    def where(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    def _connect(self) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except TimeoutError as exc:
            raise PrinterTimeout(
                f"printer {self.where} did not accept a connection within"
                f" {self.connect_timeout:g} s (switched off or unplugged?)"
            ) from exc
        except ConnectionRefusedError as exc:
            raise PrinterOffline(
                f"printer {self.where} refused the connection (wrong port, or its print server is down)"
            ) from exc
        except socket.gaierror as exc:
            raise PrinterOffline(f"cannot resolve printer host {self.host!r}: {exc}") from exc
        except OSError as exc:
            raise PrinterOffline(f"cannot connect to printer {self.where}: {exc}") from exc

    def send(self, data: bytes) -> None:
        """Send one job and wait until the printer has acknowledged every byte.

        Returning only after the acknowledgement means a stalled printer shows
        up as PrinterTimeout here, instead of a ticket silently lost in kernel
        buffers after we reported success.
        """
        sock = self._connect()
        try:
            deadline = time.monotonic() + self.write_timeout
            # Since Python 3.5 the timeout bounds the whole sendall, not each chunk.
            sock.settimeout(self.write_timeout)
            sock.sendall(data)
            self._wait_until_acknowledged(sock, deadline, len(data))
            _discard_unread(sock)
        except TimeoutError as exc:
            raise PrinterTimeout(
                f"printer {self.where} did not take the {len(data)}-byte job within"
                f" {self.write_timeout:g} s (paper jam or full buffer?)"
            ) from exc
        except OSError as exc:
            raise PrinterOffline(f"printer {self.where} dropped the connection during a job: {exc}") from exc
        finally:
            sock.close()

    def _wait_until_acknowledged(self, sock: socket.socket, deadline: float, size: int) -> None:
        while (unacked := _unacknowledged_bytes(sock)) > 0:
            if time.monotonic() >= deadline:
                raise PrinterTimeout(
                    f"printer {self.where} has not taken {unacked} of {size} bytes after"
                    f" {self.write_timeout:g} s (paper jam or full buffer?)"
                )
            time.sleep(_DRAIN_POLL_S)

    def status(self) -> PrinterStatus:
        """Ask DLE EOT 1, 2 and 4 and combine the answers."""
        sock = self._connect()
        try:
            sock.settimeout(self.status_timeout)
            reply = bytearray()
            for n in STATUS_QUERIES:
                sock.sendall(status_query(n))
                answer = sock.recv(1)
                if not answer:
                    raise PrinterOffline(
                        f"printer {self.where} closed the connection instead of answering a status query"
                    )
                reply += answer
            return parse_status_reply(bytes(reply))
        except TimeoutError as exc:
            raise PrinterUnsupported(
                f"printer {self.where} accepted the connection but did not answer a"
                f" DLE EOT status query within {self.status_timeout:g} s (busy, or"
                " no real-time status support)"
            ) from exc
        except OSError as exc:
            raise PrinterOffline(f"printer {self.where} dropped the connection during a status query: {exc}") from exc
        finally:
            sock.close()

    def close(self) -> None:
        """Nothing to release: connections live only as long as one operation."""


def _unacknowledged_bytes(sock: socket.socket) -> int:
    """Bytes the peer has not acknowledged yet (Linux SIOCOUTQ), 0 if unknown."""
    request = getattr(termios, "TIOCOUTQ", None)
    if request is None:
        return 0
    try:
        raw = fcntl.ioctl(sock.fileno(), request, struct.pack("i", 0))
    except OSError:
        return 0
    value: int = struct.unpack("i", raw)[0]
    return value


def _discard_unread(sock: socket.socket) -> None:
    # Closing a socket with unread input makes Linux send RST instead of FIN,
    # and a RST can make the printer drop data it has not printed yet. Some
    # printers push automatic status bytes, so swallow anything waiting.
    sock.setblocking(False)
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


def from_url(url: str, parts: SplitResult) -> TcpTransport:
    if not parts.hostname:
        raise PrinterConfigError(f"printer URL {url!r} needs a host: tcp://HOST[:PORT]")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError as exc:
        raise PrinterConfigError(f"bad port in printer URL {url!r}") from exc
    options = url_options(
        url,
        parts,
        {
            "connect_timeout": positive_float,
            "write_timeout": positive_float,
            "status_timeout": positive_float,
        },
    )
    return TcpTransport(parts.hostname, port, **options)
