"""The OpenAPI paths of the phone page's endpoints (``server.phone``, ``server.feedback``).

Merged into the document's ``paths`` by ``server.openapi.paths``; built with ``server.openapi.parts``.
"""

from __future__ import annotations

from server.auth import Role
from server.openapi.parts import Schema, conflict, error_schema, operation, path_parameter, returns
from server.phone import LONG_POLL_MAX_S
from server.shapes.feedback import (
    COMPLAINTS_PER_TICKET,
    Complaint,
    ComplaintChange,
    ComplaintFiled,
    ComplaintRequest,
    Complaints,
    ComplaintState,
    Rating,
    RatingRequest,
    Ratings,
    TicketMessage,
)


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
    states = "|".join(state.value for state in ComplaintState)
    return {
        "/api/branches/{branch}/tickets/{ticket}/updates": {
            "parameters": [p_branch, p_ticket],
            "get": operation(
                "getTicketUpdates",
                "The phone page's ticket message, held until it changes (long polling)",
                {**returns(200, TicketMessage, "The current message."), **gone},
                [404, 422, 429, 503],
                tag="phone",
                parameters=[
                    {
                        "name": "since",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string"},
                        "description": "The version the client has; an equal version is held until it changes.",
                    },
                    {
                        "name": "wait",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "number", "default": LONG_POLL_MAX_S},
                        "description": f"Seconds to hold the request, at most {LONG_POLL_MAX_S:g}.",
                    },
                ],
                description="No token: the unguessable id is the key. The fallback of /ws/tickets/{ticket}.",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}/rating": {
            "parameters": [p_branch, p_ticket],
            "post": operation(
                "rateTicket",
                "Rate a served ticket once (1-5, optional comment)",
                {**returns(201, Rating, "Stored; a ticket_rated event is in the branch stream."), **gone},
                [400, 404, 413, 422, 429, 503],
                body=RatingRequest,
                tag="phone",
                conflicts=conflict(
                    ["invalid_state", "already_rated"], "The ticket is not served, or was rated already (state rated)."
                ),
                description="No token: the unguessable id is the key.",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}/complaints": {
            "parameters": [p_branch, p_ticket],
            "post": operation(
                "fileComplaint",
                "File a complaint (投诉) from the ticket's page",
                {**returns(201, ComplaintFiled, "Filed; managers see it."), **gone},
                [400, 404, 413, 422, 429, 503],
                body=ComplaintRequest,
                tag="phone",
                conflicts=conflict(
                    ["too_many_complaints"], f"A ticket files at most {COMPLAINTS_PER_TICKET} complaints."
                ),
                description="No token: the unguessable id is the key.",
            ),
        },
        "/api/branches/{branch}/complaints": {
            "parameters": [p_branch],
            "get": operation(
                "listComplaints",
                "Complaints, newest first, with their state and whether the answer is overdue",
                returns(200, Complaints, "The complaints."),
                [401, 403, 404, 422, 503],
                roles=managers,
                tag="phone",
                parameters=[
                    {
                        "name": "state",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "pattern": f"^({states})(,({states}))*$"},
                        "description": "One state, or a comma list of them (open,answered).",
                    },
                    count,
                ],
            ),
        },
        "/api/branches/{branch}/complaints/{complaint}": {
            "parameters": [p_branch, p_complaint],
            "patch": operation(
                "updateComplaint",
                "Answer, close or reopen a complaint",
                returns(200, Complaint, "The complaint after the change."),
                [400, 401, 403, 404, 413, 422, 503],
                roles=managers,
                body=ComplaintChange,
                tag="phone",
                conflicts=conflict(["invalid_state"], "The complaint's state does not allow this change."),
            ),
        },
        "/api/branches/{branch}/ratings": {
            "parameters": [p_branch],
            "get": operation(
                "listRatings",
                "Ratings with their comments, newest first",
                returns(200, Ratings, "The ratings."),
                [401, 403, 404, 422, 503],
                roles=managers,
                tag="phone",
                parameters=[count],
            ),
        },
    }
