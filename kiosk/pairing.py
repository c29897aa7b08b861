"""How ``nextup kiosk`` gets its token without anyone typing it: a stored credential, or pairing.

``CredentialFile`` is the kiosk's own credential, ``credential.json`` in its data directory
(``--data-dir``): the token of its kiosk account with the account's name, the server and the
branch it is for. The folder is 0700, the file 0600, written atomically (a new file renamed over
the old one), so a kiosk switched off mid-write keeps either the old credential or the new one. A
credential of another server or branch is not used: the kiosk pairs again rather than send a
token to a server that did not issue it.

``pair`` is the device's side of pairing (``server.pairing``, docs/api.md "Pairing a device"): ask
for a code, show it (``on_status``), poll the claim every ``POLL_S`` until an administrator has
entered the code in /admin, and return the token. A code that expires is replaced by a new one;
an unreachable server is asked again. The claim secret travels only in request bodies, and
neither it nor the token is ever logged or shown.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import platformdirs

log = logging.getLogger("nextup.kiosk.pairing")

CREDENTIAL_FILE = "credential.json"
#: Seconds between two claims of a code shown (the server expects about this).
POLL_S = 2.0
#: Seconds before asking again after the server could not give a code (unreachable, too many asks).
RETRY_S = 10.0
HTTP_TIMEOUT_S = 5.0


def default_data_dir() -> Path:
    """The kiosk's per-user data folder (e.g. ``~/.local/share/nextup-kiosk``)."""
    return Path(platformdirs.user_data_dir("nextup-kiosk", appauthor=False))


@dataclass(frozen=True)
class Credential:
    token: str
    #: The kiosk account's name, as the administrator typed it when pairing.
    name: str
    server: str
    branch: str


class CredentialFile:
    """The kiosk's stored credential: ``credential.json`` in ``data_dir`` (0700), the file 0600."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / CREDENTIAL_FILE

    def load(self, server: str, branch: str) -> Credential | None:
        """The stored credential for this server and branch; None if there is none (or it is unusable)."""
        try:
            info = self.path.lstat()
            if info.st_mode & 0o077 and info.st_uid == os.getuid() and not self.path.is_symlink():
                self.path.chmod(0o600)  # left readable by hand: private again
            data: Any = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            log.warning("the stored credential %s cannot be read (%s); pairing again", self.path, exc)
            return None
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("token", "name")):
            log.warning("the stored credential %s is not a kiosk credential; pairing again", self.path)
            return None
        if data.get("server") != server or data.get("branch") != branch:
            log.warning("the stored credential is for %s branch %s, not this kiosk's; pairing again",
                        data.get("server"), data.get("branch"))  # fmt: skip
            return None
        return Credential(data["token"], data["name"], server, branch)

    def save(self, credential: Credential) -> None:
        """Write the credential atomically, readable by this user only."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        text = json.dumps({"token": credential.token, "name": credential.name, "server": credential.server,
                           "branch": credential.branch})  # fmt: skip
        # mkstemp makes the file 0600 whatever the umask.
        fd, temporary = tempfile.mkstemp(prefix=".credential-", suffix=".tmp", dir=self.data_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        directory = os.open(self.data_dir, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class PairingStatus:
    """What the touch page shows while the kiosk is not paired."""

    #: ``asking`` (getting a code), ``waiting`` (the code is shown), ``error`` (cannot get a code; retrying).
    state: str
    code: str | None = None
    #: Seconds the code stays valid, when one is shown.
    expires_in: int | None = None
    #: Why there is no code (for the technician), in English; "" when there is one.
    detail: str = ""

    def wire(self) -> dict[str, Any]:
        return {"state": self.state, "code": self.code, "expires_in": self.expires_in, "detail": self.detail}


async def pair(api_url: str, branch: str, on_status: Callable[[PairingStatus], None]) -> Credential:
    """Pair this kiosk: shows codes through ``on_status`` until one is approved; the new credential."""
    async with httpx.AsyncClient(base_url=api_url, timeout=HTTP_TIMEOUT_S) as client:
        while True:
            on_status(PairingStatus("asking"))
            try:
                asked = await client.post("/api/pairing", json={"kind": "kiosk", "branch": branch})
            except httpx.HTTPError as exc:
                on_status(PairingStatus("error", detail=f"cannot reach the server: {type(exc).__name__}"))
                await asyncio.sleep(RETRY_S)
                continue
            if asked.status_code != 201:
                on_status(PairingStatus("error", detail=_error_text(asked)))
                await asyncio.sleep(RETRY_S)
                continue
            offer = asked.json()
            expires_in = int(offer["expires_in"])
            on_status(PairingStatus("waiting", code=str(offer["code"]), expires_in=expires_in))
            claimed = await _claim(client, str(offer["claim"]), time.monotonic() + expires_in)
            if claimed is not None:
                return Credential(str(claimed["token"]), str(claimed["name"]), api_url, branch)


async def _claim(client: httpx.AsyncClient, claim: str, deadline: float) -> dict[str, Any] | None:
    """Poll the claim until approved (the claim's answer) or the code is gone (None: ask again)."""
    while time.monotonic() < deadline:
        await asyncio.sleep(POLL_S)
        try:
            answer = await client.post("/api/pairing/claim", json={"claim": claim})
        except httpx.HTTPError:
            continue  # the code is still valid: keep showing it
        if answer.status_code == 200:
            data: dict[str, Any] = answer.json()
            return data
        if answer.status_code == 404:
            return None  # expired or claimed elsewhere
    return None


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
        return f"{response.status_code} {error.get('code', '')}: {error.get('message', '')}"[:200]
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"
