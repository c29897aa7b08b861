"""The OpenAPI description of the phone page's endpoints (``server.phone``, ``server.feedback``).

Merged into the document by ``server.openapi``: ``schemas()`` into ``components.schemas`` and
``paths(p_branch, p_ticket)`` into ``paths``; built with ``server.openapi.parts``.
"""

from __future__ import annotations

from server.auth import Role
from server.openapi.parts import (
    NOT_SPACE,
    SPACE,
    Schema,
    conflict,
    error_schema,
    nullable,
    obj,
    operation,
    path_parameter,
    ref,
    returns,
    text,
)
from server.phone import COMMENT_MAX, COMPLAINT_MAX, COMPLAINTS_PER_TICKET, LONG_POLL_MAX_S

#: A phone number once stripped, as ``server.feedback.phone_field`` checks it.
PHONE = r"\+?[0-9][0-9 ()-]{3,23}"
STATES = ["open", "answered", "closed"]


def schemas() -> dict[str, Schema]:
    iso_time = {"type": "string", "format": "date-time"}
    return {
        "TicketMessage": obj(
            {
                "type": {"const": "ticket"},
                "version": {"type": "string", "description": "Changes exactly when anything else here does."},
                "ticket": ref("Ticket"),
                "feedback": obj(
                    {
                        "rating": nullable({"type": "integer", "minimum": 1, "maximum": 5}),
                        "complaints": {"type": "integer", "minimum": 0},
                        "complaints_left": {"type": "integer", "minimum": 0,
                                            "maximum": COMPLAINTS_PER_TICKET},
                        "accepting": {"type": "boolean",
                                      "description": "Whether a rating or a complaint is still taken."},
                        "filed": {"type": "array", "items": ref("FiledComplaint"),
                                  "maxItems": COMPLAINTS_PER_TICKET,
                                  "description": "The ticket's complaints, oldest first, as its holder sees them."},
                    }
                ),
                "expires_at": nullable({**iso_time, "description": "When the page of a finished ticket expires; "
                                        "null while it does not (not finished, or a complaint awaits its answer)."}),
                "emergency": {"anyOf": [ref("Emergency"), {"type": "null"}],
                              "description": "The branch's emergency state, shown to the holder; null normally."},
            }
        ),
        "FiledComplaint": obj(
            {
                "state": {"type": "string", "enum": STATES},
                "text": {"type": "string"},
                "filed_at": iso_time,
                "answer_due_at": iso_time,
                "answer": nullable({"type": "string"}),
                "answered_at": nullable(iso_time),
            }
        ),
        "RatingRequest": obj(
            {
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "comment": nullable({"type": "string", "maxLength": COMMENT_MAX}),
            },
            ["rating"],
        ),
        "Rating": obj(
            {"rating": {"type": "integer", "minimum": 1, "maximum": 5}, "comment": {"type": "string"}, "at": iso_time}
        ),
        "ComplaintRequest": obj(
            {
                "text": text(COMPLAINT_MAX),
                "phone": nullable(
                    {"type": "string", "maxLength": 32, "pattern": f"^{SPACE}*(?:{PHONE})?{SPACE}*$",
                     "description": "Stored encrypted; erased after the retention."}
                ),
            },
            ["text"],
        ),
        "ComplaintFiled": obj(
            {"id": {"type": "string"}, "state": {"const": "open"}, "filed_at": iso_time, "answer_due_at": iso_time}
        ),
        "Complaint": obj(
            {
                "id": {"type": "string"},
                "number": {"type": "string"},
                "service": {"type": "string"},
                "counter": nullable({"type": "string"}),
                "staff": nullable({"type": "string"}),
                "ticket_status": {"type": "string"},
                "business_day": {"type": "string", "format": "date"},
                "text": {"type": "string"},
                "phone": nullable({"type": "string", "description": "Null when none was given or it was erased."}),
                "phone_erased": {"type": "boolean"},
                "state": {"type": "string", "enum": STATES},
                "filed_at": iso_time,
                "age_s": {"type": "integer", "minimum": 0},
                "waited_s": {"type": "integer", "minimum": 0,
                             "description": "How long it waited for its answer (so far, while open)."},
                "answer_due_at": iso_time,
                "overdue": {"type": "boolean", "description": "Open past the branch's answer target."},
                "answered_late": {"type": "boolean"},
                "answer": nullable({"type": "string"}),
                "answered_at": nullable(iso_time),
                "answered_by": nullable({"type": "string"}),
                "closed_at": nullable(iso_time),
            }
        ),
        "Complaints": obj(
            {"complaints": {"type": "array", "items": ref("Complaint")}, "answer_target_h": {"type": "number"}}
        ),
        "ComplaintChange": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "state": {"type": "string", "enum": STATES},
                "answer": nullable({"type": "string", "maxLength": COMPLAINT_MAX}),
            },
            "anyOf": [
                {"required": ["state"]},
                {"required": ["answer"], "properties": {"answer": {"type": "string", "pattern": NOT_SPACE}}},
            ],
            "description": "An answer alone answers the complaint. Answering needs an answer, sent now or "
            "before (else 422, field answer).",
        },
        "Ratings": obj(
            {
                "ratings": {
                    "type": "array",
                    "items": obj(
                        {
                            "number": {"type": "string"},
                            "service": {"type": "string"},
                            "counter": nullable({"type": "string"}),
                            "staff": nullable({"type": "string"}),
                            "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                            "comment": nullable({"type": "string"}),
                            "at": iso_time,
                            "business_day": {"type": "string", "format": "date"},
                        }
                    ),
                }
            }
        ),
    }


def paths(p_branch: Schema, p_ticket: Schema) -> dict[str, Schema]:
    gone = {
        "410": {
            "description": "The page of this finished ticket has expired.",
            "content": {"application/json": {"schema": error_schema({"const": "gone"})}},
        }
    }
    managers = [Role.ADMIN, Role.MANAGER]
    count = {"name": "count", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}  # fmt: skip
    complaint_id = {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"}
    p_complaint = path_parameter("complaint", complaint_id, "A complaint id.")
    states = "|".join(STATES)
    return {
        "/api/branches/{branch}/tickets/{ticket}/updates": {
            "parameters": [p_branch, p_ticket],
            "get": operation(
                "getTicketUpdates", "The phone page's ticket message, held until it changes (long polling)",
                {**returns(200, "TicketMessage", "The current message."), **gone}, [404, 422, 429, 503],
                tag="phone",
                parameters=[
                    {"name": "since", "in": "query", "required": False, "schema": {"type": "string"},
                     "description": "The version the client has; an equal version is held until it changes."},
                    {"name": "wait", "in": "query", "required": False,
                     "schema": {"type": "number", "default": LONG_POLL_MAX_S},
                     "description": f"Seconds to hold the request, at most {LONG_POLL_MAX_S:g}."},
                ],
                description="No token: the unguessable id is the key. The fallback of /ws/tickets/{ticket}.",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}/rating": {
            "parameters": [p_branch, p_ticket],
            "post": operation(
                "rateTicket", "Rate a served ticket once (1-5, optional comment)",
                {**returns(201, "Rating", "Stored; a ticket_rated event is in the branch stream."), **gone},
                [400, 404, 413, 422, 429, 503], body="RatingRequest", tag="phone",
                conflicts=conflict(["invalid_state", "already_rated"],
                                   "The ticket is not served, or was rated already (state rated)."),
                description="No token: the unguessable id is the key.",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}/complaints": {
            "parameters": [p_branch, p_ticket],
            "post": operation(
                "fileComplaint", "File a complaint (投诉) from the ticket's page",
                {**returns(201, "ComplaintFiled", "Filed; managers see it."), **gone},
                [400, 404, 413, 422, 429, 503], body="ComplaintRequest", tag="phone",
                conflicts=conflict(["too_many_complaints"],
                                   f"A ticket files at most {COMPLAINTS_PER_TICKET} complaints."),
                description="No token: the unguessable id is the key.",
            ),
        },
        "/api/branches/{branch}/complaints": {
            "parameters": [p_branch],
            "get": operation(
                "listComplaints", "Complaints, newest first, with their state and whether the answer is overdue",
                returns(200, "Complaints", "The complaints."), [401, 403, 404, 422, 503], roles=managers,
                tag="phone",
                parameters=[{"name": "state", "in": "query", "required": False,
                             "schema": {"type": "string", "pattern": f"^({states})(,({states}))*$"},
                             "description": "One state, or a comma list of them (open,answered)."}, count],
            ),
        },
        "/api/branches/{branch}/complaints/{complaint}": {
            "parameters": [p_branch, p_complaint],
            "patch": operation(
                "updateComplaint", "Answer, close or reopen a complaint",
                returns(200, "Complaint", "The complaint after the change."),
                [400, 401, 403, 404, 413, 422, 503], roles=managers, body="ComplaintChange", tag="phone",
                conflicts=conflict(["invalid_state"], "The complaint's state does not allow this change."),
            ),
        },
        "/api/branches/{branch}/ratings": {
            "parameters": [p_branch],
            "get": operation(
                "listRatings", "Ratings with their comments, newest first",
                returns(200, "Ratings", "The ratings."), [401, 403, 404, 422, 503], roles=managers, tag="phone",
                parameters=[count],
            ),
        },
    }
