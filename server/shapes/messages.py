"""Websocket messages the server builds (docs/websockets.md); events of the branch stream are
forwarded as the scripts wrote them (``server.events``). Each message names its ``type``."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta, Struct

from server.shapes.branch import BranchPlace, CounterInfo, DisplayState, Emergency, Seq
from server.shapes.fields import Count
from server.shapes.tickets import Ticket


class Snapshot(Struct, kw_only=True, tag_field="type", tag="snapshot"):
    """A display's whole branch as of ``seq``: sent first, and whenever a resume is impossible."""

    seq: Seq | None
    state: DisplayState


class Refusal(Struct, kw_only=True):
    """Why a kiosk cannot issue, in English and Chinese."""

    code: str
    message: str
    message_zh: str


class KioskService(Struct, kw_only=True):
    id: str
    prefix: str
    name_zh: str
    name_en: str
    waiting: Count
    estimated_wait_s: Annotated[
        Count | None,
        Meta(description="The wait of a regular ticket issued now; null while no open counter serves the service."),
    ]
    issuing: bool
    refusal: Annotated[Refusal | None, Meta(description="Null while issuing.")]


class KioskBranch(BranchPlace, kw_only=True):
    counters: list[CounterInfo]


class KioskServices(Struct, kw_only=True, tag_field="type", tag="services"):
    """What a kiosk shows now: first, and again whenever it changes."""

    services: list[KioskService]
    branch: KioskBranch
    allow_priority: bool
    emergency: Annotated[Emergency | None, Meta(description="The branch's emergency state; null normally.")]


class Issued(Struct, kw_only=True, tag_field="type", tag="issued"):
    request_id: str
    ticket: Ticket


class Refused(Struct, kw_only=True, tag_field="type", tag="refused"):
    request_id: str
    error: Refusal


class KioskError(Struct, tag_field="type", tag="error"):
    """A message that was not understood."""

    error: Refusal


#: Any message above.
Message = Snapshot | KioskServices | Issued | Refused | KioskError
