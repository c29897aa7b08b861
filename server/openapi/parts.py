"""What the paths of the OpenAPI document are built with: error responses and operations.

Schemas are not written here: ``ref`` points at the component generated from a shape of
``server.shapes`` (``server.openapi.components``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from server.auth import Role
from server.openapi.components import ref
from server.shapes.errors import Error

Schema = dict[str, Any]

#: The largest request body, in bytes (``Settings.max_body_bytes``).
MAX_BODY_BYTES = 16 * 1024

_JSON = "application/json"


def error_schema(code: Schema, *, required: list[str] | None = None) -> Schema:
    """Error narrowed to one status: its codes, and the fields it always names."""
    body: Schema = {"properties": {"code": code}}
    if required:
        body["required"] = required
    return {"allOf": [ref(Error), {"properties": {"error": body}}]}


#: 409 codes that name the state which refused the request; the rest name what applies to them.
_STATEFUL_CONFLICTS = ["invalid_state", "counter_not_open", "counter_busy", "no_current_ticket",
                       "not_served_here", "reactivation_window_passed", "counter_taken", "not_taken",
                       "service_busy", "counter_not_closed", "closed", "stopped_issuing",
                       "daily_cap_reached", "emergency"]  # fmt: skip


def error_responses() -> dict[str, Schema]:
    def response(description: str, schema: Schema, **extra: Any) -> Schema:
        return {"description": description, "content": {_JSON: {"schema": schema}}, **extra}

    return {
        "Malformed": response(
            "The body is not JSON, not a JSON object, or has a lone surrogate escape.",
            error_schema({"const": "malformed"}),
        ),
        "Unauthorized": response(
            "No token, or a token that is forged, expired or not NextUp's; or a wrong login.",
            error_schema({"const": "unauthorized"}),
            headers={"WWW-Authenticate": {"required": True, "schema": {"const": "Bearer"}}},
        ),
        "Forbidden": response(
            "The account's role, branch or counters do not allow this (forbidden), or a cookie session "
            "sent a change without its X-CSRF-Token (csrf).",
            error_schema({"enum": ["forbidden", "csrf"]}),
        ),
        "NotFound": response(
            "No such branch, counter, counter action, ticket or ticket number.",
            error_schema({"const": "not_found"}),
        ),
        "TooLarge": response(f"The body is larger than {MAX_BODY_BYTES} bytes.", error_schema({"const": "too_large"})),
        "InvalidField": response(
            "A field is missing, of the wrong type, too long or not one of the allowed values.",
            error_schema({"const": "invalid_field"}, required=["field"]),
        ),
        "TooManyFailures": response(
            "Too many attempts: failed logins from this address, logins being checked at once, "
            "lookups of unknown tickets, or a kiosk's tickets in the last minute. Retry after "
            "`Retry-After` seconds.",
            error_schema({"const": "rate_limited"}),
            headers={"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
        ),
        "Unavailable": response(
            "The queue store (Redis) cannot be reached; try again shortly.",
            error_schema({"const": "unavailable"}),
        ),
    }


def conflict(codes: list[str], description: str) -> Schema:
    schema = error_schema({"enum": codes})
    stateful = [c for c in codes if c in _STATEFUL_CONFLICTS]
    if stateful:
        schema["allOf"].append(
            {
                "properties": {
                    "error": {
                        "if": {"properties": {"code": {"enum": stateful}}},
                        "then": {"required": ["state"], "properties": {"state": {"type": "string"}}},
                    }
                }
            }
        )
    return {"description": description, "content": {_JSON: {"schema": schema}}}


_ERRORS = {400: "Malformed", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 413: "TooLarge",
           422: "InvalidField", 429: "TooManyFailures", 503: "Unavailable"}  # fmt: skip


def operation(
    operation_id: str,
    summary: str,
    ok: dict[str, Schema],
    errors: list[int],
    *,
    roles: list[Role] | None = None,
    body: type[msgspec.Struct] | None = None,
    body_required: bool = True,
    conflicts: Schema | None = None,
    description: str = "",
    tag: str,
    parameters: list[Schema] | None = None,
) -> Schema:
    """One operation; ``roles`` None means no token is needed."""
    responses: dict[str, Schema] = dict(ok)
    for status in sorted(errors):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERRORS[status]}"}
    if conflicts:
        responses["409"] = conflicts
    result: Schema = {"operationId": operation_id, "summary": summary, "tags": [tag], "responses": responses}
    if description:
        result["description"] = description
    if roles is None:
        result["security"] = []
    else:
        result["security"] = [{"bearerAuth": []}, {"cookieAuth": []}]
        result["x-roles"] = [r.value for r in roles]
    if body:
        result["requestBody"] = {"required": body_required, "content": {_JSON: {"schema": ref(body)}}}
    if parameters:
        result["parameters"] = parameters
    return result


def returns(status: int, schema: type[msgspec.Struct], description: str) -> dict[str, Schema]:
    return {str(status): {"description": description, "content": {_JSON: {"schema": ref(schema)}}}}


def path_parameter(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}
