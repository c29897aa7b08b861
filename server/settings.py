"""Process settings, read once from the environment.

Everything a branch configures (services, counters, hours) lives in the branch TOML file
(``server.config``); this module holds only what differs per process or machine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("nextup", appauthor=False))


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


def load_settings(data_dir: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    raw_dir = env.get("NEXTUP_DATA_DIR")
    chosen = data_dir or (Path(raw_dir) if raw_dir else default_data_dir())
    return Settings(
        redis_url=env.get("NEXTUP_REDIS_URL") or None,
        data_dir=chosen,
        admin_password=env.get("NEXTUP_ADMIN_PASSWORD") or None,
        public_url=env.get("NEXTUP_PUBLIC_URL") or None,
    )
