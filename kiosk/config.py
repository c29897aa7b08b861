"""What one kiosk is told at start: its server, branch, token, printer and page settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

from printer.profile import PaperWidth, TextMode
from server.errors import NextUpError

#: Printed at the foot of every ticket unless ``--footer`` says otherwise.
DEFAULT_FOOTER = "请留意叫号 · Please wait for your number to be called"


class KioskConfigError(NextUpError, ValueError):
    """A setting the kiosk cannot start with; the message says which and why."""


@dataclass(frozen=True)
class KioskConfig:
    #: The NextUp server, ``http(s)://host:port``.
    server_url: str
    branch: str
    #: Login token of the branch's kiosk account; "" to use the credential file or pair (``kiosk.pairing``).
    token: str = field(repr=False)
    #: Where tickets print: any ``printer.transports`` URL (``tcp://10.0.0.9:9100``, ``preview://DIR`` ...).
    printer_url: str
    #: Where the touch page is served; loopback, for the browser on the kiosk itself.
    host: str = "127.0.0.1"
    port: int = 8080
    paper_width_mm: PaperWidth = 80
    text_mode: TextMode = "gb18030"
    #: A CJK font for raster mode; None finds one on the system.
    font_path: str | None = None
    #: Address customers' phones reach the server at (the QR code); None means ``server_url``.
    public_url: str | None = None
    #: Seconds the number (or a refusal) stays on screen before the page goes back to the start.
    idle_s: float = 20.0
    footer: str = DEFAULT_FOOTER
    #: Longest wait for the server to answer an issue request (across a reconnect) before giving up.
    issue_timeout_s: float = 6.0
    #: Seconds between health heartbeats to the server and printer status checks.
    heartbeat_s: float = 5.0
    #: Where the kiosk keeps the credential pairing gave it (``kiosk.pairing.CredentialFile``);
    #: None for a kiosk that is always given its token (the server's demo kiosk).
    data_dir: Path | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.server_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise KioskConfigError(f"--server must be http://HOST:PORT or https://..., got {self.server_url!r}")
        if not self.branch.strip():
            raise KioskConfigError("--branch must not be empty")
        if self.public_url is not None and urlsplit(self.public_url).scheme not in ("http", "https"):
            raise KioskConfigError(f"--public-url must be an http(s) URL, got {self.public_url!r}")
        if not self.token.strip() and self.data_dir is None:
            raise KioskConfigError("without --token the kiosk needs --data-dir to keep the credential pairing gives it")
        if self.idle_s <= 0 or self.issue_timeout_s <= 0 or self.heartbeat_s <= 0:
            raise KioskConfigError("idle, issue timeout and heartbeat seconds must be positive")

    @property
    def socket_url(self) -> str:
        """The server's kiosk websocket for this branch; the token goes in a header (``auth_headers``)."""
        parts = urlsplit(self.server_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        base = f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        return f"{base}/ws/branches/{quote(self.branch, safe='')}/kiosk"

    @property
    def api_url(self) -> str:
        """The server's HTTP base, for the pairing requests."""
        return self.server_url.rstrip("/")

    def qr_url(self, ticket_id: str) -> str:
        """The ticket's phone page, printed as a QR code."""
        base = (self.public_url or self.server_url).rstrip("/")
        return f"{base}/t/{quote(ticket_id, safe='')}"
