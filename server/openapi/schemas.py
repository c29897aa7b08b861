"""The schemas of the queue and administration endpoints (``components.schemas``)."""

from __future__ import annotations

from server.auth import Role
from server.config import Branch
from server.openapi import phone
from server.openapi.parts import (
    MAX_BRANCH,
    MAX_NUMBER,
    MAX_PASSWORD,
    MAX_REASON,
    MAX_ROLE,
    MAX_SERVICE,
    MAX_USERNAME,
    MIN_PASSWORD,
    NOT_SPACE,
    SPACE,
    TICKET_ID,
    Schema,
    choice,
    nullable,
    obj,
    ref,
    text,
)
from server.rules import CounterStatus, EmergencyKind, TicketStatus


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
                     "description": "Expected seconds until it is called; null unless waiting, and null "
                                    "while no open counter serves its service (no minutes promised)."}
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
                "emergency": {"anyOf": [ref("Emergency"), {"type": "null"}],
                              "description": "The branch's emergency state; null in normal service."},
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
        **phone.schemas(),
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
        "EmergencyRequest": obj(
            {
                "kind": {"type": "string", "enum": [k.value for k in EmergencyKind],
                         "description": "evacuation (紧急疏散), system_fault (系统故障) or closure (暂停营业)."},
                "text_zh": text(300),
                "text_en": text(300),
            },
            required=["kind"],
            description="The screens show the kind's own words in both languages, then these, if given.",
        ),
        "Emergency": obj(
            {
                "kind": {"type": "string", "enum": [k.value for k in EmergencyKind]},
                "text_zh": {"type": "string", "description": "The manager's own words; may be empty."},
                "text_en": {"type": "string", "description": "The manager's own words; may be empty."},
                "since": {"type": "string", "format": "date-time"},
            }
        ),
        "EmergencyState": obj(
            {"emergency": {"anyOf": [ref("Emergency"), {"type": "null"}],
                           "description": "The state now in force; null once it ended."}}
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
                            "details": {"type": "object", "description": "What the action concerns; its fields by "
                                        "action are listed in docs/api.md (GET .../audit)."},
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
                            "status": {
                                "type": "string",
                                "enum": ["ok", "printer_unavailable", "chime_only", "offline"],
                                "description": "chime_only: a display with no voice for any language it announces in.",
                            },
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
                            # a display's voices, as it last reported them; null for a kiosk, or until it said
                            "voices": nullable(
                                obj(
                                    {
                                        "zh": {"type": "boolean", "description": "It has a Chinese voice."},
                                        "en": {"type": "boolean", "description": "It has an English voice."},
                                        "languages": {
                                            "type": "array",
                                            "items": {"type": "string", "enum": ["zh", "en"]},
                                            "minItems": 1,
                                            "description": "The languages it announces in (?lang=).",
                                        },
                                        "missing": {
                                            "type": "array",
                                            "items": {"type": "string", "enum": ["zh", "en"]},
                                            "description": "Languages it announces in without a voice.",
                                        },
                                        "chime_only": {
                                            "type": "boolean",
                                            "description": "No voice for any of them: calls get the chime only.",
                                        },
                                    }
                                )
                            ),
                        }
                    ),
                },
            }
        ),
    }


