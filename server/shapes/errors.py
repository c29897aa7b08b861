"""The error body every refusal answers with (``server.errors.ApiError``)."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, Struct, UnsetType


class ErrorDetail(Struct, kw_only=True):
    """Some errors add fields (see docs/api.md); more may come, so clients ignore those they do not
    know. Written from ``ApiError``: its code, message and extra fields."""

    code: Annotated[str, Meta(description="Stable; programs test this.")]
    message: Annotated[str, Meta(description="For people; may change.")]
    field: Annotated[str, Meta(description="422: the request field at fault.")] | UnsetType = UNSET
    state: Annotated[str, Meta(description="409: the state that refused it.")] | UnsetType = UNSET
    number: str | UnsetType = UNSET
    service: str | UnsetType = UNSET
    cap: int | UnsetType = UNSET
    message_zh: Annotated[str, Meta(description="The Chinese text for a kiosk's screen.")] | UnsetType = UNSET


class Error(Struct):
    error: ErrorDetail
