"""What every part of the OpenAPI document is built with: text patterns, limits, schema helpers,
error responses and operations."""

from __future__ import annotations

import re
from typing import Any

from server.auth import Role

Schema = dict[str, Any]

#: Every character Python's ``str.strip()`` removes. Text fields are stripped before they are
#: checked, so a pattern must let these surround a value; ``\s`` would not do, as regex engines
#: disagree with Python (and each other) on which characters it covers.
SPACE = r"[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
NOT_SPACE = "[^" + SPACE[1:]
#: The shape of a ticket id (the server answers 404 for any other path segment).
TICKET_ID = r"^[A-Za-z0-9_-]{1,64}$"
#: The shape of a service or counter id in the configuration.
CONFIG_ID = r"^[A-Za-z0-9_-]{1,32}$"
#: Limits of the request fields, as ``server/api.py`` applies them.
MAX_SERVICE = 32
MAX_NUMBER = 8
MAX_REASON = 200
MAX_USERNAME = 64
MAX_PASSWORD = 1024
MAX_ROLE = 16
MAX_BRANCH = 32
MIN_PASSWORD = 8
MAX_BODY_BYTES = 16 * 1024

_JSON = "application/json"


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {**schema, "type": [schema["type"], "null"]}


def text(max_length: int, trimmed: str | None = None, description: str = "") -> Schema:
    """A string the server strips and then checks: non-blank, or matching ``trimmed`` once stripped."""
    pattern = f"^{SPACE}*(?:{trimmed}){SPACE}*$" if trimmed else NOT_SPACE
    schema: Schema = {"type": "string", "maxLength": max_length, "pattern": pattern}
    if description:
        schema["description"] = description
    return schema


def choice(values: list[str]) -> str:
    return "|".join(re.escape(v) for v in values)


def obj(properties: dict[str, Schema], required: list[str] | None = None, **extra: Any) -> Schema:
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
        **extra,
    }


def error_schema(code: Schema, *, required: list[str] | None = None) -> Schema:
    """Error narrowed to one status: its codes, and the fields it always names."""
    body: Schema = {"properties": {"code": code}}
    if required:
        body["required"] = required
    return {"allOf": [ref("Error"), {"properties": {"error": body}}]}


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
        "TooLarge": response(
            f"The body is larger than {MAX_BODY_BYTES} bytes.", error_schema({"const": "too_large"})
        ),
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
    body: str | None = None,
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


def returns(status: int, schema: str, description: str) -> dict[str, Schema]:
    return {str(status): {"description": description, "content": {_JSON: {"schema": ref(schema)}}}}


def path_parameter(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


#: Counter actions: (summary, request body or None, 409 codes, extra description).
