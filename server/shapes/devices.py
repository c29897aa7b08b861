"""Devices: the printer health a kiosk reports, the devices report (kiosks' printers, displays' screens)
and pairing a device."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct

from server.shapes.fields import MAX_USERNAME, Count, Seconds, Shape, Time, choice, explain, text

#: Longest printer error text a health heartbeat keeps; a device cannot fill Redis through it.
MAX_PRINTER_ERROR_CHARS = 300


class PrinterHealth(msgspec.Struct, frozen=True, kw_only=True):
    """A ticket printer's condition: the ``printer`` object of a kiosk's ``health`` heartbeat.

    The kiosk sends it (``kiosk.printing``); the server parses it, stores it and shows it in the
    devices report (``server.devices``).
    """

    online: bool = True
    paper_out: bool = False
    paper_near_end: bool = False
    cover_open: bool = False
    #: Why the last print or status check failed, in words; None when it worked.
    error: str | None = None

    @property
    def available(self) -> bool:
        """True when a ticket sent now is expected to print."""
        return self.online and not (self.paper_out or self.cover_open) and self.error is None

    def wire(self) -> dict[str, Any]:
        """The ``printer`` object of a health heartbeat (and of the stored device record)."""
        return msgspec.structs.asdict(self)

    def as_json(self) -> dict[str, Any]:
        """As reports and pages show it: with ``available``."""
        return {**self.wire(), "available": self.available}

    @classmethod
    def from_json(cls, data: object) -> PrinterHealth:
        """Parse a heartbeat's ``printer`` object; ValueError naming the bad field."""
        try:
            health = msgspec.convert(data, cls)
        except msgspec.ValidationError as exc:
            field, message = explain(exc, cls)
            raise ValueError(
                "'printer' must be an object" if field is None else message.replace("'", "'printer.", 1)
            ) from exc
        if health.error and len(health.error) > MAX_PRINTER_ERROR_CHARS:
            return msgspec.structs.replace(health, error=health.error[:MAX_PRINTER_ERROR_CHARS])
        return health if health.error != "" else msgspec.structs.replace(health, error=None)


DeviceKind = Literal["display", "kiosk"]
KINDS: tuple[DeviceKind, ...] = ("display", "kiosk")


class PrinterCondition(PrinterHealth, frozen=True, kw_only=True):
    """A kiosk's printer as the devices report shows it."""

    available: Annotated[bool, Meta(description="Whether a ticket sent now is expected to print.")]


class Device(Struct, kw_only=True):
    device: str | None
    role: str | None
    address: str | None
    connected: bool
    online: Annotated[bool, Meta(description="Connected, with a heartbeat in the last 15 s.")]
    last_heartbeat: Time | None
    heartbeat_age_s: Annotated[float, Meta(ge=0)]
    status: Literal["ok", "printer_unavailable", "offline"]
    printer: Annotated[PrinterCondition | None, Meta(description="Null for a display (it has no printer).")]


class Devices(Struct):
    branch: str
    devices: list[Device]


class PairingRequest(Shape):
    kind: Annotated[str, text(20, choice(KINDS), rule="must be 'display' or 'kiosk'")]
    branch: Annotated[str, text(64)]


class PairingAsked(Struct, kw_only=True):
    code: Annotated[str, Meta(pattern="^[0-9]{6}$", description="Shown; an admin enters it.")]
    claim: Annotated[str, Meta(description="Kept secret; POST /api/pairing/claim polls with it.")]
    expires_in: Seconds


class PairingApproval(Shape):
    code: Annotated[str, text(20)]
    name: Annotated[
        str,
        text(
            MAX_USERNAME,
            "[A-Za-z0-9_.-]+",
            rule="may use letters, digits, '.', '_' and '-' (at most 64)",
            description="The device account's name.",
        ),
    ]


class PairingApproved(Struct, kw_only=True):
    name: str
    role: DeviceKind
    branch: str
    created: Annotated[bool, Meta(description="False: an existing device account paired again.")]


class PairingClaim(Shape):
    claim: Annotated[str, text(100)]


class PairingWaiting(Struct):
    status: Literal["waiting"]
    expires_in: Count


class PairingClaimed(Struct, kw_only=True):
    token: Annotated[str, Meta(description="Send it as Authorization: Bearer <token>.")]
    name: str
    role: DeviceKind
    branch: str
    expires_in: Seconds
