"""The OpenAPI 3.1 description of the HTTP API, served at ``/api/openapi.json``.

Each schema states what ``server/api.py`` and ``server/http.py`` check, no more and no less, so that
a fuzzer reading it (schemathesis) gets 2xx for what the schema allows and 4xx for the rest.
``tests/test_openapi.py`` holds it to the app's routes and to real responses;
``tests/test_bad_input.py`` holds it to every refusal. docs/api.md is the human version.
"""

from __future__ import annotations

import re
from importlib import metadata
from typing import Any

from server import phone_openapi
from server.auth import Role
from server.config import Branch
from server.rules import CounterStatus, TicketStatus

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


def schemas(branch: Branch | None) -> dict[str, Schema]:
    iso_time = {"type": "string", "format": "date-time"}
    service = text(
        MAX_SERVICE,
        choice(list(branch.services)) if branch else None,
        "A service id of the branch (GET /api/branches/{branch} lists them).",
    )
    number = text(
        MAX_NUMBER,
        "[A-Za-z]{1,2}[0-9]{1,6}",
        "A ticket number of today, such as A007 (letters are taken in either case).",
    )
    counter_ids: Schema = {"type": "string"}
    if branch:
        counter_ids["enum"] = list(branch.counters)
    return {
        "Ticket": obj(
            {
                "id": {"type": "string", "pattern": TICKET_ID,
                       "description": "Unguessable; the key of the ticket's phone page."},
                "branch": {"type": "string"},
                "number": {"type": "string", "pattern": "^[A-Z]{1,2}[0-9]+$",
                           "description": "The service prefix and the day's sequence number: A007."},
                "service": {"type": "string"},
                "status": {"type": "string", "enum": [s.value for s in TicketStatus]},
                "priority": {"type": "boolean"},
                "issued_at": iso_time,
                "called_at": nullable(iso_time),
                "last_called_at": nullable(iso_time),
                "finished_at": nullable({**iso_time, "description": "When served or cancelled."}),
                "counter": nullable({"type": "string", "description": "The counter it was called to."}),
                "calls": {"type": "integer", "minimum": 0},
                "transfers": {"type": "integer", "minimum": 0},
                "business_day": {"type": "string", "format": "date"},
                "ahead": nullable(
                    {"type": "integer", "minimum": 0,
                     "description": "Tickets call-next takes before this one; null unless waiting."}
                ),
                "estimated_wait_s": nullable(
                    {"type": "integer", "minimum": 0,
                     "description": "Simple estimate in seconds; null unless waiting."}
                ),
            }
        ),
        "CounterHolder": obj(
            {
                "counter": {"type": "string"},
                "holder": nullable({"type": "string", "description": "Who has the counter; null once released."}),
                "status": {"type": "string", "enum": [s.value for s in CounterStatus]},
            }
        ),
        "CounterStatusResult": obj(
            {
                "counter": {"type": "string"},
                "status": {"type": "string", "enum": [s.value for s in CounterStatus]},
                "reason": nullable({"type": "string", "description": "The pause reason; null otherwise."}),
            }
        ),
        "State": obj(
            {
                "branch": {"type": "string"},
                "seq": nullable({"type": "string", "pattern": "^[0-9]+-[0-9]+$",
                                 "description": "Id of the branch's latest event; null before the first."}),
                "services": {"type": "array", "items": ref("ServiceState")},
                "counters": {"type": "array", "items": ref("CounterState")},
                "recent_calls": {"type": "array", "items": ref("RecentCall")},
                "notice": {"anyOf": [ref("Notice"), {"type": "null"}],
                           "description": "The ticker on the displays; null when none is posted."},
            }
        ),
        "ServiceState": obj(
            {
                "id": {"type": "string"},
                "prefix": {"type": "string"},
                "name_zh": {"type": "string"},
                "name_en": {"type": "string"},
                "waiting": {"type": "integer", "minimum": 0},
                "priority_waiting": {"type": "integer", "minimum": 0},
            }
        ),
        "CounterState": obj(
            {
                "id": {"type": "string"},
                "name_zh": {"type": "string"},
                "name_en": {"type": "string"},
                "services": {"type": "array", "items": {"type": "string"}},
                "status": {"type": "string", "enum": [s.value for s in CounterStatus]},
                "reason": nullable({"type": "string"}),
                "staff": nullable({"type": "string", "description": "Who opened or paused it."}),
                "holder": nullable({"type": "string", "description": "Who has taken the counter."}),
                "current": {"anyOf": [ref("Ticket"), {"type": "null"}]},
            }
        ),
        "RecentCall": obj(
            {
                "number": {"type": "string"},
                "counter": {"type": "string"},
                "service": {"type": "string"},
                "at": iso_time,
                "ticket": {"type": "string", "pattern": TICKET_ID},
            }
        ),
        "BranchInfo": obj(
            {
                "id": {"type": "string"},
                "name_zh": {"type": "string"},
                "name_en": {"type": "string"},
                "timezone": {"type": "string"},
                "allow_priority": {"type": "boolean"},
                "services": {
                    "type": "array",
                    "items": obj(
                        {
                            "id": {"type": "string"},
                            "prefix": {"type": "string"},
                            "name_zh": {"type": "string"},
                            "name_en": {"type": "string"},
                            "target_wait_min": {"type": "integer", "minimum": 1},
                        }
                    ),
                },
                "counters": {
                    "type": "array",
                    "items": obj(
                        {
                            "id": {"type": "string"},
                            "name_zh": {"type": "string"},
                            "name_en": {"type": "string"},
                            "services": {"type": "array", "items": {"type": "string"}},
                        }
                    ),
                },
            }
        ),
        "Login": obj(
            {
                "token": {"type": "string", "description": "Send it as Authorization: Bearer <token>."},
                "role": {"type": "string", "enum": [r.value for r in Role]},
                "branch": {"type": "string", "description": "The account's branch; * for every branch."},
                "counters": {"type": "array", "items": {"type": "string"}},
                "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds."},
            }
        ),
        "User": obj(
            {
                "username": {"type": "string"},
                "role": {"type": "string", "enum": [r.value for r in Role]},
                "branch": {"type": "string"},
                "counters": {"type": "array", "items": {"type": "string"}},
            }
        ),
        "Health": obj({"status": {"const": "ok"}, "branch": {"type": "string"}}),
        "Error": obj(
            {
                "error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string", "description": "Stable; programs test this."},
                        "message": {"type": "string", "description": "For people; may change."},
                        "field": {"type": "string", "description": "422: the request field at fault."},
                        "state": {"type": "string", "description": "409: the state that refused it."},
                        "number": {"type": "string"},
                        "service": {"type": "string"},
                        "cap": {"type": "integer"},
                        "message_zh": {"type": "string"},
                    },
                    "additionalProperties": True,
                }
            }
        ),
        "LoginRequest": obj({"username": text(MAX_USERNAME), "password": text(MAX_PASSWORD)}),
        "PairingRequest": obj({"kind": {"type": "string", "enum": ["display", "kiosk"]}, "branch": text(64)}),
        "PairingAsked": obj(
            {
                "code": {"type": "string", "pattern": "^[0-9]{6}$", "description": "Shown; an admin enters it."},
                "claim": {"type": "string", "description": "Kept secret; POST /api/pairing/claim polls with it."},
                "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds."},
            }
        ),
        "PairingApproval": obj(
            {"code": text(20), "name": text(MAX_USERNAME, "[A-Za-z0-9_.-]+", "The device account's name.")}
        ),
        "PairingApproved": obj(
            {
                "name": {"type": "string"},
                "role": {"type": "string", "enum": ["display", "kiosk"]},
                "branch": {"type": "string"},
                "created": {"type": "boolean", "description": "False: an existing device account paired again."},
            }
        ),
        "PairingClaim": obj({"claim": text(100)}),
        "PairingWaiting": obj(
            {"status": {"const": "waiting"}, "expires_in": {"type": "integer", "minimum": 0}}
        ),
        "PairingClaimed": obj(
            {
                "token": {"type": "string", "description": "Send it as Authorization: Bearer <token>."},
                "name": {"type": "string"},
                "role": {"type": "string", "enum": ["display", "kiosk"]},
                "branch": {"type": "string"},
                "expires_in": {"type": "integer", "minimum": 1, "description": "Seconds."},
            }
        ),
        "NewUser": obj(
            {
                "username": text(MAX_USERNAME, "[A-Za-z0-9_.-]+"),
                "password": {
                    "type": "string",
                    "maxLength": MAX_PASSWORD,
                    # At least 8 characters once stripped: two non-space characters 7 apart.
                    "pattern": f"{NOT_SPACE}[\\s\\S]{{{MIN_PASSWORD - 2},}}{NOT_SPACE}",
                },
                "role": text(MAX_ROLE, choice([r.value for r in Role])),
                "branch": nullable(
                    text(
                        MAX_BRANCH,
                        choice([branch.id, "*"]) if branch else None,
                        "The account's branch (default: this one); * (every branch) only for admins.",
                    )
                ),
                "counters": {"type": "array", "items": counter_ids, "default": [],
                             "description": "Counters a staff account works at."},
            },
            required=["username", "password", "role"],
            # Only an admin account may belong to every branch.
            **{
                "if": {"properties": {"role": text(MAX_ROLE, choice([Role.ADMIN.value]))}},
                "else": {"properties": {"branch": {"not": {"type": "string", "pattern": f"^{SPACE}*\\*{SPACE}*$"}}}},
            },
        ),
        "NewTicket": obj(
            {"service": service, "priority": {"type": "boolean", "default": False}},
            required=["service"],
        ),
        "ServiceChoice": obj({"service": service}),
        "NumberChoice": obj({"number": number}),
        "PauseReason": obj({"reason": text(MAX_REASON, description="Shown on the lobby display.")}),
        "NoFields": {"type": "object", "description": "Nothing to send; an empty body does too."},
        **admin_schemas(branch),
        **phone_openapi.schemas(),
    }


def admin_schemas(branch: Branch | None) -> dict[str, Schema]:
    """Accounts, configuration, notices, audit log and devices (``server/admin_api.py``, ``server/devices.py``)."""
    text_value = {"type": "string", "pattern": NOT_SPACE}
    whole = {"type": "integer"}
    service_fields: dict[str, Schema] = {
        "prefix": {"type": "string", "pattern": "^[A-Z]{1,2}$"},
        "name_zh": text_value,
        "name_en": text_value,
        "target_wait_min": {**whole, "minimum": 1, "maximum": 24 * 60},
        "daily_cap": {**whole, "minimum": 0, "maximum": 100_000, "description": "0: no cap."},
        "stop_issuing_before_close_min": {**whole, "minimum": 0, "maximum": 600},
        "average_handling_s": {**whole, "minimum": 1, "maximum": 24 * 3600},
    }
    served: Schema = {"type": "string", "enum": list(branch.services)} if branch else {"type": "string"}
    counter_fields: dict[str, Schema] = {
        "name_zh": text_value,
        "name_en": text_value,
        "services": {"type": "array", "items": served, "minItems": 1},
        "initial_status": {"type": "string", "enum": ["open", "closed"]},
    }
    branch_fields: dict[str, Schema] = {
        "name_zh": text_value,
        "name_en": text_value,
        "timezone": {"type": "string", "description": "An IANA time zone such as Asia/Shanghai."},
        "number_width": {**whole, "minimum": 2, "maximum": 6},
        "priority_cap": {**whole, "minimum": 1, "maximum": 100},
        "no_show_window_min": {**whole, "minimum": 0, "maximum": 24 * 60},
        "no_show_places_back": {**whole, "minimum": 0, "maximum": 1000},
        "allow_priority": {"type": "boolean"},
    }
    time_of_day = "([01][0-9]|2[0-3]):[0-5][0-9]"
    interval = {"type": "string", "pattern": f"^({time_of_day}-({time_of_day}|24:00)|closed)$",
                "description": "Start before end; 24:00 ends at midnight."}
    day_hours: Schema = {"anyOf": [interval, {"type": "array", "items": interval}],
                         "description": '"08:30-17:00", a list of such intervals, or "closed".'}
    weekdays = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    closed_dates = {"type": "array", "items": {"type": "string", "format": "date"}}

    def change(fields: dict[str, Schema], what: str) -> Schema:
        return {"type": "object", "properties": fields, "additionalProperties": False,
                "description": f"Only the {what} fields to change; any other field is 422. The whole "
                "configuration is then checked: a problem is 422 with field `config`."}

    counters: Schema = {"type": "array", "items": {"type": "string"}}
    if branch:
        counters["items"] = {"type": "string", "enum": list(branch.counters)}
    return {
        "Session": obj(
            {
                "username": {"type": "string"},
                "role": {"type": "string", "enum": [r.value for r in Role]},
                "branch": {"type": "string"},
                "counters": {"type": "array", "items": {"type": "string"}},
                "expires_at": {"type": "integer", "description": "Unix time, seconds."},
                "csrf_token": {"type": "string", "description": "Send it as X-CSRF-Token with cookie sessions."},
            }
        ),
        "Account": obj(
            {
                "username": {"type": "string"},
                "role": {"type": "string", "enum": [r.value for r in Role]},
                "branch": {"type": "string"},
                "counters": {"type": "array", "items": {"type": "string"}},
                "disabled": {"type": "boolean"},
            }
        ),
        "Accounts": obj({"users": {"type": "array", "items": ref("Account")}}),
        "AccountChange": {
            "type": "object",
            "properties": {
                "password": {
                    "type": "string",
                    "maxLength": MAX_PASSWORD,
                    "pattern": f"{NOT_SPACE}[\\s\\S]{{{MIN_PASSWORD - 2},}}{NOT_SPACE}",
                },
                "disabled": {"type": "boolean", "description": "An admin cannot disable their own account."},
                "counters": {**counters, "type": ["array", "null"], "description": "null: unchanged."},
            },
            "additionalProperties": False,
            "description": "A new password, disabling or the counters end the account's sessions.",
        },
        "BranchConfig": obj(
            {
                "branch": obj({"id": {"type": "string"}, **branch_fields}),
                "hours": {
                    "type": "object",
                    "required": [*weekdays, "closed_dates"],
                    "properties": {**{day: day_hours for day in weekdays}, "closed_dates": closed_dates},
                },
                "services": {"type": "array", "items": obj({"id": {"type": "string"}, **service_fields})},
                "counters": {"type": "array", "items": obj({"id": {"type": "string"}, **counter_fields})},
                "version": {"type": "integer", "minimum": 0, "description": "Bumped by every change."},
            }
        ),
        "BranchSettingsChange": change(branch_fields, "branch"),
        "HoursChange": change({**{day: day_hours for day in weekdays}, "closed_dates": closed_dates}, "hours"),
        "ServiceChange": change(service_fields, "service"),
        "CounterChange": change(counter_fields, "counter"),
        "NoticeRequest": obj(
            {
                "text_zh": nullable(text(500)),
                "text_en": nullable(text(500)),
                "emergency": {"type": "boolean", "default": False},
            },
            required=[],
            description="Leave out both texts to clear the ticker.",
        ),
        "Notice": obj(
            {
                "text_zh": {"type": "string"},
                "text_en": {"type": "string"},
                "emergency": {"type": "boolean"},
                "at": {"type": "string", "format": "date-time"},
            }
        ),
        "Audit": obj(
            {
                "entries": {
                    "type": "array",
                    "items": obj(
                        {
                            "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
                            "actor": {"type": "string"},
                            "role": {"type": "string"},
                            "source": {"type": "string", "description": "The client's network address."},
                            "action": {"type": "string"},
                            "at": {"type": "string", "format": "date-time"},
                            "details": {"type": "object"},
                        }
                    ),
                    "description": "Newest first.",
                }
            }
        ),
        "Devices": obj(
            {
                "branch": {"type": "string"},
                "devices": {
                    "type": "array",
                    "items": obj(
                        {
                            "device": nullable({"type": "string"}),
                            "role": nullable({"type": "string"}),
                            "address": nullable({"type": "string"}),
                            "connected": {"type": "boolean"},
                            "online": {"type": "boolean"},
                            "last_heartbeat": nullable({"type": "string", "format": "date-time"}),
                            "heartbeat_age_s": {"type": "number", "minimum": 0},
                            "status": {"type": "string", "enum": ["ok", "printer_unavailable", "offline"]},
                            # null for a display (it has no printer)
                            "printer": nullable(
                                obj(
                                    {
                                        "online": {"type": "boolean"},
                                        "paper_out": {"type": "boolean"},
                                        "paper_near_end": {"type": "boolean"},
                                        "cover_open": {"type": "boolean"},
                                        "error": nullable({"type": "string"}),
                                        "available": {"type": "boolean"},
                                    }
                                )
                            ),
                        }
                    ),
                },
            }
        ),
    }


def admin_paths(p_branch: Schema, p_counter: Schema) -> dict[str, Schema]:
    body_errors = [400, 413]
    admin = [Role.ADMIN]
    managers = [Role.ADMIN, Role.MANAGER]
    config = returns(200, "BranchConfig", "The whole configuration after the change.")
    config_conflict = "Another change was saved meanwhile, five times in a row; try again."
    p_service = path_parameter("service", {"type": "string", "pattern": CONFIG_ID}, "A service id.")
    p_username = path_parameter("username", {"type": "string"}, "An account's username.")

    def put(operation_id: str, summary: str, body: str) -> Schema:
        return operation(
            operation_id, summary, config, [*body_errors, 401, 403, 404, 422, 503], roles=admin, body=body,
            body_required=False, tag="configuration", conflicts=conflict(["config_changed"], config_conflict),
        )

    return {
        "/api/session": {
            "get": operation(
                "getSession", "Who is logged in, and the CSRF token of a cookie session",
                returns(200, "Session", "The session."), [401], roles=list(Role), tag="accounts",
            )
        },
        "/api/users/{username}": {
            "parameters": [p_username],
            "patch": operation(
                "changeUser", "Reset a password, disable or enable an account, assign its counters",
                returns(200, "Account", "The account after the change."),
                [*body_errors, 401, 403, 404, 422, 503], roles=admin, body="AccountChange", body_required=False,
                tag="accounts",
            ),
        },
        "/api/branches/{branch}/config": {
            "parameters": [p_branch],
            "get": operation(
                "getConfig", "The branch configuration, in the shape of its TOML file",
                returns(200, "BranchConfig", "The configuration."), [401, 403, 404, 503], roles=managers,
                tag="configuration",
            ),
        },
        "/api/branches/{branch}/config/branch": {
            "parameters": [p_branch],
            "put": put("changeBranchSettings", "Change the branch's settings", "BranchSettingsChange"),
        },
        "/api/branches/{branch}/config/hours": {
            "parameters": [p_branch],
            "put": put("changeHours", "Change opening hours and closed dates", "HoursChange"),
        },
        "/api/branches/{branch}/config/services/{service}": {
            "parameters": [p_branch, p_service],
            "put": put("putService", "Add a service or change one", "ServiceChange"),
            "delete": operation(
                "deleteService", "Remove a service (and from every counter)", config, [401, 403, 404, 422, 503],
                roles=admin, tag="configuration",
                conflicts=conflict(["service_busy", "config_changed"],
                                   "Tickets of the service are waiting (state waiting), or " + config_conflict),
            ),
        },
        "/api/branches/{branch}/config/counters/{counter}": {
            "parameters": [p_branch, {**p_counter, "schema": {"type": "string", "pattern": CONFIG_ID}}],
            "put": put("putCounter", "Add a counter or change one", "CounterChange"),
            "delete": operation(
                "deleteCounter", "Remove a closed counter", config, [401, 403, 404, 422, 503], roles=admin,
                tag="configuration",
                conflicts=conflict(["counter_not_closed", "config_changed"],
                                   "The counter is not closed (state open), or " + config_conflict),
            ),
        },
        "/api/branches/{branch}/notice": {
            "parameters": [p_branch],
            "post": operation(
                "postNotice", "Set or clear the notices ticker of the displays",
                returns(200, "Notice", "The notice now shown."), [*body_errors, 401, 403, 404, 422, 503],
                roles=managers, body="NoticeRequest", body_required=False, tag="branch",
            ),
        },
        "/api/branches/{branch}/audit": {
            "parameters": [p_branch],
            "get": operation(
                "getAudit", "Staff and admin actions, newest first", returns(200, "Audit", "The entries."),
                [401, 403, 404, 422, 503], roles=admin, tag="branch",
                parameters=[{"name": "count", "in": "query", "required": False,
                             "schema": {"type": "string", "pattern": "^0*([1-9][0-9]{0,2}|1000)$", "default": "100"},
                             "description": "How many entries, 1 to 1000."}],
            ),
        },
        "/api/branches/{branch}/devices": {
            "parameters": [p_branch],
            "get": operation(
                "getDevices", "Devices' heartbeats and printer status", returns(200, "Devices", "The devices."),
                [401, 403, 404, 503], roles=managers, tag="branch",
            ),
        },
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
                       "daily_cap_reached"]  # fmt: skip


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
COUNTER_ACTION_DOCS: dict[str, tuple[str, str | None, list[str], str]] = {
    "call-next": ("Call the next ticket to the counter", None, ["counter_not_open", "counter_busy"],
                  "The longest-waiting ticket of the counter's services, priority tickets first but at "
                  "most the branch's priority cap of them in a row while regular tickets wait. "
                  "204 when nothing waits."),
    "call": ("Call one waiting ticket by its number", "NumberChoice",
             ["counter_not_open", "counter_busy", "invalid_state", "not_served_here"], ""),
    "recall": ("Announce the counter's current ticket again", None, ["no_current_ticket"], ""),
    "finish": ("Mark the counter's current ticket served", None, ["no_current_ticket"], ""),
    "no-show": ("Mark the counter's current ticket a no-show (过号)", None, ["no_current_ticket"], ""),
    "transfer": ("Send the counter's current ticket to another service's queue", "ServiceChoice",
                 ["no_current_ticket", "invalid_state"],
                 "422 (field service) when the ticket is already in that service."),
    "reactivate": ("Put a recent no-show back in its queue (过号顺延)", "NumberChoice",
                   ["invalid_state", "reactivation_window_passed"],
                   "Managers may reactivate at any counter."),
    "open": ("Open the counter", None, ["invalid_state"], ""),
    "pause": ("Pause the counter, with a reason for the display", "PauseReason",
              ["invalid_state", "counter_busy"], ""),
    "close": ("Close the counter", None, ["invalid_state", "counter_busy"], ""),
    "take": ("Take the counter: one member of staff works it at a time", None, ["counter_taken"], ""),
    "release": ("Release the counter taken before", None, ["counter_taken", "not_taken"],
                "Admins may release a counter whoever holds it."),
}


def paths(branch: Branch | None) -> dict[str, Schema]:
    branch_id: Schema = {"type": "string"}
    counter_id: Schema = {"type": "string"}
    if branch:
        branch_id["enum"] = [branch.id]
        counter_id["enum"] = list(branch.counters)
    p_branch = path_parameter("branch", branch_id, "The branch id.")
    p_counter = path_parameter("counter", counter_id, "A counter id of the branch.")
    p_ticket = path_parameter("ticket", {"type": "string", "pattern": TICKET_ID}, "A ticket id.")
    idempotency_key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "pattern": r"^[A-Za-z0-9_.:-]{0,100}$"},
        "description": "Repeat a request with the same key within 24 h to get the same ticket back, "
        "not a second one (a kiosk retrying after a lost reply).",
    }
    body_errors = [400, 413]
    staff_up = [Role.ADMIN, Role.MANAGER, Role.STAFF]
    result: dict[str, Schema] = {
        "/api/login": {
            "post": operation(
                "login", "Log in; returns a bearer token", returns(200, "Login", "Logged in."),
                [*body_errors, 401, 422, 429, 503], body="LoginRequest", tag="accounts",
                description="Tokens of people (admin, manager, staff) last 12 h, of devices (kiosk, "
                "display) 366 days. A wrong username or password is 401. Failures throttle the "
                "client's address, never lock the account: after 5 failures on an account from one "
                "address (20 on any accounts), its attempts are refused with 429 rate_limited and "
                "Retry-After, before any password check, for 15 s doubling with each further "
                "failure up to 15 minutes.",
            )
        },
        "/api/logout": {
            "post": operation(
                "logout", "End the session: the token stops working; a staff member's counters are released",
                {"204": {"description": "Logged out."}}, [401, 503], roles=list(Role), tag="accounts",
            )
        },
        "/api/pairing": {
            "post": operation(
                "requestPairing", "A display or kiosk asks to be paired: a code to show, a claim to keep",
                returns(201, "PairingAsked", "Asked; valid 10 minutes."),
                [*body_errors, 404, 422, 429, 503], body="PairingRequest", tag="devices",
                description="Anonymous; at most 10 requests a minute per client address (429 rate_limited). "
                "Unknown branch: 404. See docs/api.md, Pairing a device.",
            )
        },
        "/api/pairing/claim": {
            "post": operation(
                "claimPairing", "The device polls with its claim: waiting, then once its token",
                {
                    **returns(200, "PairingClaimed", "Approved: the device's token (a display also gets the "
                              "HttpOnly nextup_device cookie). The request is gone afterwards."),
                    **returns(202, "PairingWaiting", "Not approved yet; ask again in 2 s."),
                },
                [*body_errors, 404, 422, 503], body="PairingClaim", tag="devices",
                description="Anonymous. 404 for an unknown, expired or already claimed request.",
            )
        },
        "/api/branches/{branch}/pairing": {
            "parameters": [p_branch],
            "post": operation(
                "approvePairing", "Approve a device's pairing code and name its account",
                returns(201, "PairingApproved", "Approved; the device gets its token at its next claim."),
                [*body_errors, 401, 403, 404, 422, 503], roles=[Role.ADMIN], body="PairingApproval",
                tag="devices",
                conflicts=conflict(["exists", "account_disabled", "already_approved"],
                                   "The name is another kind of account or a disabled one, or the code "
                                   "was approved already."),
                description="Creates a display or kiosk account of that name in the branch if new (with a "
                "random password nobody knows). A wrong, expired or other branch's code is 404.",
            ),
        },
        "/api/users": {
            "get": operation(
                "listUsers", "Every account", returns(200, "Accounts", "The accounts, by username."),
                [401, 403, 503], roles=[Role.ADMIN], tag="accounts",
            ),
            "post": operation(
                "createUser", "Create an account", returns(201, "User", "Created."),
                [*body_errors, 401, 403, 422, 503], roles=[Role.ADMIN], body="NewUser", tag="accounts",
                conflicts=conflict(["exists"], "An account with this username exists."),
            )
        },
        "/api/branches/{branch}": {
            "parameters": [p_branch],
            "get": operation(
                "getBranch", "The branch's services and counters (for kiosks and displays)",
                returns(200, "BranchInfo", "The branch."), [404], tag="branch",
            ),
        },
        "/api/branches/{branch}/state": {
            "parameters": [p_branch],
            "get": operation(
                "getBranchState", "Everything a display or dashboard shows now",
                returns(200, "State", "The branch now."), [401, 403, 404, 503], roles=list(Role),
                tag="branch",
            ),
        },
        "/api/branches/{branch}/tickets": {
            "parameters": [p_branch],
            "post": operation(
                "issueTicket", "Issue a ticket (取号)", returns(201, "Ticket", "Issued (or replayed)."),
                [*body_errors, 401, 403, 404, 422, 429, 503],
                roles=[Role.ADMIN, Role.MANAGER, Role.STAFF, Role.KIOSK], body="NewTicket", tag="tickets",
                parameters=[idempotency_key],
                conflicts=conflict(
                    ["closed", "stopped_issuing", "daily_cap_reached"],
                    "The branch is closed, stops issuing before closing, or the service's daily cap is "
                    "reached; message_zh has the Chinese text for the kiosk.",
                ),
                description="A kiosk account may issue at most NEXTUP_KIOSK_TICKETS_PER_MINUTE tickets "
                "in any 60 s, counted with its kiosk socket's; more are 429 rate_limited (with "
                "message_zh and Retry-After). A repeated Idempotency-Key returns its ticket and does "
                "not count again.",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}": {
            "parameters": [p_branch, p_ticket],
            "get": operation(
                "getTicket", "A ticket, with its place in line", returns(200, "Ticket", "The ticket."),
                [404, 429, 503], tag="tickets",
                description="No token: the unguessable id is the key (the phone page of a ticket).",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}/cancel": {
            "parameters": [p_branch, p_ticket],
            "post": operation(
                "cancelTicket", "Cancel a waiting ticket (its holder gives up)",
                returns(200, "Ticket", "Cancelled."), [*body_errors, 404, 429, 503], body="NoFields",
                body_required=False, tag="tickets",
                conflicts=conflict(["invalid_state"], "The ticket is not waiting."),
                description="No token: the unguessable id is the key.",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}/transfer": {
            "parameters": [p_branch, p_ticket],
            "post": operation(
                "transferTicket", "Move a waiting or called ticket to another service's queue",
                returns(200, "Ticket", "Transferred; it waits in its new queue."),
                [*body_errors, 401, 403, 404, 422, 503], roles=staff_up, body="ServiceChoice", tag="tickets",
                conflicts=conflict(["invalid_state"], "The ticket is served, a no-show or cancelled."),
            ),
        },
        "/api/branches/{branch}/metrics": {
            "parameters": [p_branch],
            "get": operation(
                "getBranchMetrics", "Waiting and service figures of a range of days (docs/metrics.md)",
                {"200": {"description": "The report, as JSON or as CSV.",
                         "content": {_JSON: {"schema": {"type": "object"}},
                                     "text/csv": {"schema": {"type": "string"}}}}},
                [401, 403, 404, 422, 503], roles=[Role.ADMIN, Role.MANAGER], tag="branch",
                parameters=[
                    {"name": "from", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
                     "description": "First local day (default: `to`)."},
                    {"name": "to", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
                     "description": "Last local day (default: today); at most 400 days after `from`."},
                    {"name": "format", "in": "query", "required": False,
                     "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"}},
                ],
            ),
        },
        "/healthz": {
            "get": operation(
                "health", "Liveness and Redis reachability", returns(200, "Health", "Up."), [503], tag="ops"
            )
        },
        "/api/openapi.json": {
            "get": operation(
                "openapi", "This document",
                {"200": {"description": "The OpenAPI document.",
                         "content": {_JSON: {"schema": {"type": "object"}}}}},
                [], tag="ops",
            )
        },
    }
    result.update(admin_paths(p_branch, p_counter))
    result.update(phone_openapi.paths(p_branch, p_ticket))
    for action, (summary, body, codes, extra) in COUNTER_ACTION_DOCS.items():
        roles = [Role.ADMIN, Role.MANAGER, Role.STAFF] if action == "reactivate" else [Role.ADMIN, Role.STAFF]
        if action == "call-next":
            ok = {**returns(200, "Ticket", "The ticket now called."),
                  "204": {"description": "Nothing waits for this counter's services."}}
        elif action in ("open", "pause", "close"):
            ok = returns(200, "CounterStatusResult", "The counter's new status.")
        elif action in ("take", "release"):
            ok = returns(200, "CounterHolder", "Who has the counter now.")
        else:
            ok = returns(200, "Ticket", "The ticket after the action.")
        errors = [*body_errors, 401, 403, 404, 503]
        if body:
            errors.append(422)
        result[f"/api/branches/{{branch}}/counters/{{counter}}/{action}"] = {
            "parameters": [p_branch, p_counter],
            "post": operation(
                f"counter{''.join(w.title() for w in action.split('-'))}", summary, ok, errors, roles=roles,
                body=body or "NoFields", body_required=body is not None, tag="counters",
                conflicts=conflict(codes, "Not possible in the counter's or ticket's current state."),
                description=" ".join(
                    filter(None, [extra, "Staff only at the counters of their account; admins anywhere."])
                ),
            ),
        }
    return result


def document(branch: Branch | None = None) -> dict[str, Any]:
    """The document; given the branch, path and field values are narrowed to its ids."""
    try:
        version = metadata.version("nextup")
    except metadata.PackageNotFoundError:
        version = "0"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "NextUp",
            "version": version,
            "summary": "Queue management (叫号) for service halls.",
            "description": 'Errors are JSON: {"error": {"code", "message", ...}}; programs test `code`. '
            f"Request bodies are JSON objects of at most {MAX_BODY_BYTES // 1024} KiB. See docs/api.md.",
        },
        "paths": paths(branch),
        "components": {
            "schemas": schemas(branch),
            "responses": error_responses(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http", "scheme": "bearer", "bearerFormat": "nxt1.<payload>.<signature>"
                },
                "cookieAuth": {
                    "type": "apiKey", "in": "cookie", "name": "nextup_session",
                    "description": "The staff pages' session (set by POST /login). Changes made with it "
                    "also need the X-CSRF-Token header (GET /api/session gives it).",
                },
            },
        },
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
    }
