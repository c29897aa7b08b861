"""JSON in and out: body limits, decoding a body into its shape, encoding replies, error responses."""

from __future__ import annotations

import logging
from functools import cache
from typing import Any, TypeVar

import msgspec
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from server.errors import ApiError, invalid_field, malformed
from server.shapes.fields import explain

log = logging.getLogger("nextup.http")

_STATUS_CODES = {
    400: "malformed",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid_field",
    429: "rate_limited",
}


S = TypeVar("S", bound=msgspec.Struct)

#: Writes replies: Structs (``server.shapes``), and the dicts and lists of the few replies that
#: are not one (error bodies, the metrics report); compact, UTF-8 as is.
ENCODER = msgspec.json.Encoder()


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return ENCODER.encode(content)


def error_response(error: ApiError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    if "retry_after_s" in error.extra:
        headers["Retry-After"] = str(error.extra["retry_after_s"])
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


async def read_bytes(request: Request, limit: int) -> bytes:
    """The request body; 413 past ``limit`` bytes, whether declared or sent in chunks."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise malformed("Content-Length is not a number")
        if int(declared) > limit:
            raise ApiError(413, "too_large", f"The body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise ApiError(413, "too_large", f"The body is larger than {limit} bytes")
    return bytes(body)


@cache
def _decoder(shape: type[S]) -> msgspec.json.Decoder[S]:
    return msgspec.json.Decoder(shape)


def decode_body(body: bytes, shape: type[S]) -> S:
    """``body`` as its shape: 400 when it is not a JSON object, 422 naming the field at fault.

    An empty body is ``{}``. A lone UTF-16 surrogate escape (``"\\ud800"``) is not valid JSON to
    the decoder (no UTF-8 reply, password hash or Redis value could hold it), nor is an array or
    object nested deeper than it follows (RecursionError).
    """
    body = body if body.strip() else b"{}"
    try:
        if not body.isascii():
            body.decode()  # the decoder checks only the strings it keeps; an ignored field must be UTF-8 too
        decoded: S = _decoder(shape).decode(body)
        return decoded
    except msgspec.ValidationError as exc:
        # The decoder stops at the first wrong field: the rest must still be JSON for it to be a 422.
        _check_json(body)
        field, message = explain(exc, shape)
        if field is None:
            raise malformed("The body must be a JSON object") from exc
        raise invalid_field(field, message) from exc
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise malformed("The body is not valid JSON") from exc


def _check_json(body: bytes) -> None:
    try:
        msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise malformed("The body is not valid JSON") from exc


async def read_body(request: Request, limit: int, shape: type[S]) -> S:
    """The request body decoded into ``shape`` and checked by it (see ``decode_body``)."""
    return decode_body(await read_bytes(request, limit), shape)


async def api_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _STATUS_CODES.get(exc.status_code, "error")
    message = {404: "No such endpoint", 405: "Method not allowed here"}.get(exc.status_code, str(exc.detail))
    response = error_response(ApiError(exc.status_code, code, message))
    # Keeps the Allow header of a 405, which tells the client the methods it can use.
    response.headers.update(exc.headers or {})
    return response


async def redis_error_handler(request: Request, exc: Exception) -> Response:
    log.error("redis unavailable: %s", type(exc).__name__)
    return error_response(ApiError(503, "unavailable", "The queue store is unavailable; try again shortly"))


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(ApiError(500, "internal", "Something went wrong on the server; it has been logged"))


EXCEPTION_HANDLERS = {
    ApiError: api_error_handler,
    HTTPException: http_exception_handler,
    RedisError: redis_error_handler,
    Exception: unexpected_error_handler,
}
