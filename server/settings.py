"""Process settings, read once from the environment.

Everything a branch configures (services, counters, hours) lives in the branch TOML file
(``server.config``); this module holds only what differs per process or machine.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import platformdirs

from server.errors import ConfigError


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("nextup", appauthor=False))


@dataclass(frozen=True)
class PhoneSettings:
    """The phone page's and the complaints' settings."""

    #: Seconds the page of a finished ticket keeps working (NEXTUP_PHONE_PAGE_TTL_S); 0 = forever.
    finished_page_ttl_s: int = 2 * 3600
    #: Lookups of unknown ticket ids one client address may make per minute, as a token bucket
    #: (NEXTUP_PHONE_LOOKUPS_PER_MIN); 0 = no limit. Lookups of existing tickets are never limited.
    lookups_per_min: int = 60
    #: Hours a complaint may wait for its answer before it is overdue (NEXTUP_COMPLAINT_ANSWER_TARGET_H).
    complaint_answer_target_h: float = 24.0
    #: Days a complaint keeps the customer's phone number before it is erased (NEXTUP_COMPLAINT_PHONE_DAYS).
    complaint_phone_days: float = 30.0
    #: Days a finished ticket's page stays readable after its latest complaint was filed or answered,
    #: so the customer reads the answer there (NEXTUP_COMPLAINT_PAGE_DAYS); 0 = until the ticket's
    #: records go (``Retention.ticket_days``). While a complaint waits for its answer the page stays
    #: readable whatever its age (``server.follow_up``).
    complaint_page_days: float = 7.0


@dataclass(frozen=True)
class Retention:
    """How long personal records are kept (``server.retention``); 0 keeps them for ever."""

    #: Days the records of ended tickets (and their ratings) are kept (NEXTUP_TICKET_RETENTION_DAYS):
    #: long enough to look into a complaint or review a quarter's service.
    ticket_days: int = 90
    #: Days audit entries are kept (NEXTUP_AUDIT_RETENTION_DAYS).
    audit_days: int = 365


_RETENTION_NUMBERS = {
    "NEXTUP_TICKET_RETENTION_DAYS": ("ticket_days", int),
    "NEXTUP_AUDIT_RETENTION_DAYS": ("audit_days", int),
}

#: Tickets one kiosk may issue in any 60 seconds (NEXTUP_KIOSK_TICKETS_PER_MINUTE); 0 = no limit.
#: A kiosk serves a customer every 5 s at best (tap, print, tear off): 12 a minute in a morning
#: rush. The limit is above that, so it never turns a real customer away; what it stops is a stuck
#: touch screen, a script or a stolen kiosk credential draining the day's numbers (``daily_cap``).
DEFAULT_KIOSK_TICKETS_PER_MINUTE = 20

#: Numeric settings from the environment: variable -> (field of PhoneSettings or Settings, type).
_PHONE_NUMBERS = {
    "NEXTUP_PHONE_PAGE_TTL_S": ("finished_page_ttl_s", int),
    "NEXTUP_PHONE_LOOKUPS_PER_MIN": ("lookups_per_min", int),
    "NEXTUP_COMPLAINT_ANSWER_TARGET_H": ("complaint_answer_target_h", float),
    "NEXTUP_COMPLAINT_PHONE_DAYS": ("complaint_phone_days", float),
    "NEXTUP_COMPLAINT_PAGE_DAYS": ("complaint_page_days", float),
}
#: Largest websocket message a client may send, in bytes (NEXTUP_WS_MAX_MESSAGE_BYTES): a larger one
#: closes the socket with 1009. Real messages are under 1 KiB; at least ``MIN_WS_MESSAGE_BYTES``.
DEFAULT_WS_MAX_MESSAGE_BYTES = 64 * 1024
MIN_WS_MESSAGE_BYTES = 4096

#: Open websockets one client address may hold on one server process (NEXTUP_MAX_SOCKETS_PER_ADDRESS);
#: 0 = no limit. A hall's phones, kiosks and displays often share one NAT address: 200 covers a
#: crowded hall (every waiting customer's phone plus the devices) while a single attacker can no
#: longer hold thousands of sockets.
DEFAULT_MAX_SOCKETS_PER_ADDRESS = 200

_NUMBERS = {
    "NEXTUP_KIOSK_TICKETS_PER_MINUTE": ("kiosk_tickets_per_minute", int),
    "NEXTUP_WS_MAX_MESSAGE_BYTES": ("ws_max_message_bytes", int),
    "NEXTUP_MAX_SOCKETS_PER_ADDRESS": ("max_sockets_per_address", int),
    "NEXTUP_REDIS_WAIT_REPLICAS": ("redis_wait_replicas", int),
    "NEXTUP_REDIS_WAIT_TIMEOUT_MS": ("redis_wait_timeout_ms", int),
}


def _numbers(environ: Mapping[str, str], table: Mapping[str, tuple[str, type]], problems: list[str]) -> dict[str, Any]:
    """The numbers ``table`` names that ``environ`` sets; every one that is not a number >= 0 goes to ``problems``."""
    values: dict[str, Any] = {}
    for variable, (field, kind) in table.items():
        raw = environ.get(variable, "").strip()
        if not raw:
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = -1
        if value < 0:
            problems.append(f"{variable}={raw!r}: expected a {'whole ' if kind is int else ''}number >= 0")
        values[field] = value
    return values


def _private_file_text(path: str, variable: str, problems: list[str]) -> str | None:
    """The stripped text of a secret file named by ``variable``; a problem if it is unreadable or shared."""
    if not path:
        return None
    try:
        mode = os.stat(path).st_mode
        text = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{variable}={path}: cannot read it ({type(exc).__name__})")
        return None
    if mode & 0o077:
        problems.append(f"{variable}={path}: other users can read it; run chmod 600 {path}")
        return None
    if len(text) < 16:
        problems.append(f"{variable}={path}: the token must have at least 16 characters")
        return None
    return text


def _networks(environ: Mapping[str, str], variable: str, problems: list[str]) -> tuple[str, ...]:
    """A comma list of IP addresses or CIDR networks; every entry that is neither goes to ``problems``."""
    entries: list[str] = []
    for entry in (e.strip() for e in environ.get(variable, "").split(",")):
        if not entry:
            continue
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            problems.append(f"{variable}: {entry!r} is not an IP address or network (CIDR)")
            continue
        entries.append(str(network) if "/" in entry else entry)
    return tuple(entries)


def load_phone_settings(environ: Mapping[str, str]) -> PhoneSettings:
    """The phone settings from ``environ``; ConfigError naming every variable that is not a number >= 0."""
    problems: list[str] = []
    values = _numbers(environ, _PHONE_NUMBERS, problems)
    if problems:
        raise ConfigError(problems)
    return PhoneSettings(**values)


@dataclass(frozen=True)
class Settings:
    #: ``redis://`` URL of an external Redis (6.2+); None starts the embedded one.
    redis_url: str | None
    #: Where the embedded Redis keeps its append-only file and where the admin password is written.
    data_dir: Path
    #: Password of the first admin account, used only when no admin exists yet.
    admin_password: str | None
    #: Address customers' phones reach the server at; goes into the QR code on tickets.
    public_url: str | None
    #: Largest accepted request body, in bytes.
    max_body_bytes: int = 16 * 1024
    #: Lifetime of a login token for people (staff, manager, admin), in seconds.
    session_ttl_s: int = 12 * 3600
    #: Lifetime of a login token for devices (kiosk, display), in seconds.
    device_token_ttl_s: int = 366 * 24 * 3600
    #: Fernet key the complainants' phone numbers are encrypted with (NEXTUP_FEEDBACK_KEY); None uses
    #: the secrets file's. The file's keys still decrypt numbers stored before it was set.
    feedback_key: str | None = None
    #: The secrets file (NEXTUP_SECRET_KEY_FILE), the same for every process sharing one Redis; None:
    #: ``<data_dir>/secrets.json``, made on first start. See ``server.keyring``.
    secret_key_file: Path | None = None
    #: See ``PhoneSettings``.
    phone: PhoneSettings = PhoneSettings()
    #: See ``Retention``.
    retention: Retention = Retention()
    #: Tickets one kiosk account may issue in any 60 seconds; 0 = no limit.
    kiosk_tickets_per_minute: int = DEFAULT_KIOSK_TICKETS_PER_MINUTE
    #: Bearer token a Prometheus scraper sends to ``GET /metrics``, read from the file named by
    #: NEXTUP_METRICS_TOKEN_FILE (readable by its owner only); None: managers' and admins' tokens only.
    metrics_token: str | None = None
    #: Largest websocket message a client may send, in bytes; larger closes with 1009.
    ws_max_message_bytes: int = DEFAULT_WS_MAX_MESSAGE_BYTES
    #: Open websockets per client address on one process; 0 = no limit.
    max_sockets_per_address: int = DEFAULT_MAX_SOCKETS_PER_ADDRESS
    #: Addresses or CIDR networks of reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are
    #: believed (NEXTUP_TRUSTED_PROXIES, comma list); empty = none: the TCP peer is the client.
    trusted_proxies: tuple[str, ...] = ()
    #: Replicas that must have a change (Redis WAIT) before it is acknowledged (NEXTUP_REDIS_WAIT_REPLICAS);
    #: 0 = none. With 1 and a replica watched by Sentinel, a failover loses no acknowledged ticket.
    redis_wait_replicas: int = 0
    #: How long to wait for them, in ms (NEXTUP_REDIS_WAIT_TIMEOUT_MS); then the change is reported failed.
    redis_wait_timeout_ms: int = 1000


def load_settings(data_dir: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment; ConfigError naming every variable that is not valid."""
    env = os.environ if environ is None else environ
    raw_dir = env.get("NEXTUP_DATA_DIR")
    chosen = data_dir or (Path(raw_dir) if raw_dir else default_data_dir())
    problems: list[str] = []
    numbers = _numbers(env, _NUMBERS, problems)
    phone = _numbers(env, _PHONE_NUMBERS, problems)
    retention = _numbers(env, _RETENTION_NUMBERS, problems)
    metrics_token = _private_file_text(env.get("NEXTUP_METRICS_TOKEN_FILE", "").strip(), "NEXTUP_METRICS_TOKEN_FILE",
                                       problems)  # fmt: skip
    if 0 <= numbers.get("ws_max_message_bytes", MIN_WS_MESSAGE_BYTES) < MIN_WS_MESSAGE_BYTES:
        problems.append(f"NEXTUP_WS_MAX_MESSAGE_BYTES: expected at least {MIN_WS_MESSAGE_BYTES}")
    proxies = _networks(env, "NEXTUP_TRUSTED_PROXIES", problems)
    if problems:
        raise ConfigError(problems)
    settings = Settings(
        redis_url=env.get("NEXTUP_REDIS_URL") or None,
        data_dir=chosen,
        admin_password=env.get("NEXTUP_ADMIN_PASSWORD") or None,
        public_url=env.get("NEXTUP_PUBLIC_URL") or None,
        feedback_key=env.get("NEXTUP_FEEDBACK_KEY", "").strip() or None,
        secret_key_file=Path(env["NEXTUP_SECRET_KEY_FILE"]) if env.get("NEXTUP_SECRET_KEY_FILE") else None,
        phone=PhoneSettings(**phone),
        retention=Retention(**retention),
        metrics_token=metrics_token,
        trusted_proxies=proxies,
    )
    return replace(settings, **numbers)
