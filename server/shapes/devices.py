"""Devices: what a kiosk (its printer) and a lobby display (its voices) report of themselves, the
devices report, and pairing a device."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct

from server.shapes.fields import MAX_USERNAME, Count, Seconds, Shape, Time, choice, explain, text

R = TypeVar("R", bound=msgspec.Struct)


def _reported(data: object, shape: type[R], name: str) -> R:
    """A device's report of itself (the ``name`` object of its ``health`` message); ValueError naming
    the bad field in words."""
    try:
        return msgspec.convert(data, shape)
    except msgspec.ValidationError as exc:
        field, message = explain(exc, shape)
        raise ValueError(
            f"'{name}' must be an object" if field is None else message.replace("'", f"'{name}.", 1)
        ) from exc


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

    def condition(self) -> PrinterCondition:
        """As the devices report shows it."""
        return PrinterCondition(**self.wire(), available=self.available)

    @classmethod
    def from_json(cls, data: object) -> PrinterHealth:
        """Parse a heartbeat's ``printer`` object; ValueError naming the bad field."""
        health = _reported(data, cls, "printer")
        if health.error and len(health.error) > MAX_PRINTER_ERROR_CHARS:
            return msgspec.structs.replace(health, error=health.error[:MAX_PRINTER_ERROR_CHARS])
        return health if health.error != "" else msgspec.structs.replace(health, error=None)


#: The languages a lobby display announces calls in (its ``?lang=`` picks one or both).
Language = Literal["zh", "en"]
ANNOUNCED_LANGUAGES: tuple[Language, ...] = ("zh", "en")


class VoiceHealth(msgspec.Struct, frozen=True, kw_only=True):
    """Whether a lobby display's browser has a voice for each language: the ``voices`` object of the
    ``health`` message a display sends on its websocket (``display/static/display.js``).

    Chromium on Linux has voices only through speech-dispatcher; a screen without the voice of a
    language it announces in still chimes and highlights the call, but does not say it.
    """

    zh: Annotated[bool, Meta(description="It has a Chinese voice.")]
    en: Annotated[bool, Meta(description="It has an English voice.")]
    languages: Annotated[
        tuple[Language, ...],
        Meta(
            min_length=1,
            description="The languages it announces in (?lang=), each once.",
            extra={"rule": "must list zh, en or both"},
        ),
    ] = ANNOUNCED_LANGUAGES

    @property
    def missing(self) -> list[Language]:
        """The languages it announces in but has no voice for."""
        return [lang for lang in self.languages if not getattr(self, lang)]

    @property
    def chime_only(self) -> bool:
        """True when it has none of the voices it needs: a call would be the chime alone."""
        return len(self.missing) == len(self.languages)

    def wire(self) -> dict[str, Any]:
        """The ``voices`` object of a health message (and of the stored device record)."""
        return {"zh": self.zh, "en": self.en, "languages": list(self.languages)}

    def condition(self) -> VoiceCondition:
        """As the devices report shows it: with what is ``missing`` and whether it is ``chime_only``."""
        return VoiceCondition(
            zh=self.zh, en=self.en, languages=self.languages, missing=self.missing, chime_only=self.chime_only
        )

    @classmethod
    def from_json(cls, data: object) -> VoiceHealth:
        """Parse a health message's ``voices`` object; ValueError naming the bad field."""
        voices = _reported(data, cls, "voices")
        if len(set(voices.languages)) != len(voices.languages):
            raise ValueError("'voices.languages' must list zh, en or both")
        return voices


class VoiceCondition(VoiceHealth, frozen=True, kw_only=True):
    """A display's voices as the devices report shows them."""

    missing: Annotated[list[Language], Meta(description="Languages it announces in without a voice.")]
    chime_only: Annotated[bool, Meta(description="No voice for any of them: calls get the chime only.")]


#: ok; printer_unavailable: a kiosk whose printer would not print; chime_only: a display with no
#: voice for any language it announces in; offline: silent for 15 s.
DeviceStatus = Literal["ok", "printer_unavailable", "chime_only", "offline"]
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
    status: Annotated[
        DeviceStatus,
        Meta(description="chime_only: a display with no voice for any language it announces in."),
    ]
    printer: Annotated[PrinterCondition | None, Meta(description="Null for a display (it has no printer).")]
    voices: Annotated[
        VoiceCondition | None,
        Meta(description="A display's voices, as it last reported them; null for a kiosk, or until it said."),
    ]


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
