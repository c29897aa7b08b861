"""The operations of the queue and administration endpoints (``paths``)."""

from __future__ import annotations

from server.auth import Role
from server.config import Branch
from server.openapi import admin, phone
from server.openapi.parts import _JSON, Schema, conflict, operation, path_parameter, returns
from server.shapes.accounts import Accounts, Login, LoginRequest, NewUser, User
from server.shapes.branch import BranchInfo, Health, State
from server.shapes.devices import (
    PairingApproval,
    PairingApproved,
    PairingAsked,
    PairingClaim,
    PairingClaimed,
    PairingRequest,
    PairingWaiting,
)
from server.shapes.fields import TICKET_ID
from server.shapes.tickets import (
    COUNTER_ACTIONS,
    CounterHolder,
    CounterStatusResult,
    NewTicket,
    NoFields,
    ServiceChoice,
    Ticket,
)

#: Counter actions: (summary, 409 codes, extra description); the body is ``COUNTER_ACTIONS``'.
COUNTER_ACTION_DOCS: dict[str, tuple[str, list[str], str]] = {
    "call-next": (
        "Call the next ticket to the counter",
        ["counter_not_open", "counter_busy"],
        "The longest-waiting ticket of the counter's services, priority tickets first but at "
        "most the branch's priority cap of them in a row while regular tickets wait. "
        "204 when nothing waits.",
    ),
    "call": (
        "Call one waiting ticket by its number",
        ["counter_not_open", "counter_busy", "invalid_state", "not_served_here"],
        "",
    ),
    "recall": ("Announce the counter's current ticket again", ["no_current_ticket"], ""),
    "finish": ("Mark the counter's current ticket served", ["no_current_ticket"], ""),
    "no-show": ("Mark the counter's current ticket a no-show (过号)", ["no_current_ticket"], ""),
    "transfer": (
        "Send the counter's current ticket to another service's queue",
        ["no_current_ticket", "invalid_state"],
        "422 (field service) when the ticket is already in that service.",
    ),
    "reactivate": (
        "Put a recent no-show back in its queue (过号顺延)",
        ["invalid_state", "reactivation_window_passed"],
        "Managers may reactivate at any counter.",
    ),
    "open": ("Open the counter", ["invalid_state"], ""),
    "pause": ("Pause the counter, with a reason for the display", ["invalid_state", "counter_busy"], ""),
    "close": ("Close the counter", ["invalid_state", "counter_busy"], ""),
    "take": ("Take the counter: one member of staff works it at a time", ["counter_taken"], ""),
    "release": (
        "Release the counter taken before",
        ["counter_taken", "not_taken"],
        "Admins may release a counter whoever holds it.",
    ),
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
                "login",
                "Log in; returns a bearer token",
                returns(200, Login, "Logged in."),
                [*body_errors, 401, 422, 429, 503],
                body=LoginRequest,
                tag="accounts",
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
                "logout",
                "End the session: the token stops working; a staff member's counters are released",
                {"204": {"description": "Logged out."}},
                [401, 503],
                roles=list(Role),
                tag="accounts",
            )
        },
        "/api/pairing": {
            "post": operation(
                "requestPairing",
                "A display or kiosk asks to be paired: a code to show, a claim to keep",
                returns(201, PairingAsked, "Asked; valid 10 minutes."),
                [*body_errors, 404, 422, 429, 503],
                body=PairingRequest,
                tag="devices",
                description="Anonymous; at most 10 requests a minute per client address (429 rate_limited). "
                "Unknown branch: 404. See docs/api.md, Pairing a device.",
            )
        },
        "/api/pairing/claim": {
            "post": operation(
                "claimPairing",
                "The device polls with its claim: waiting, then once its token",
                {
                    **returns(
                        200,
                        PairingClaimed,
                        "Approved: the device's token (a display also gets the "
                        "HttpOnly nextup_device cookie). The request is gone afterwards.",
                    ),
                    **returns(202, PairingWaiting, "Not approved yet; ask again in 2 s."),
                },
                [*body_errors, 404, 422, 503],
                body=PairingClaim,
                tag="devices",
                description="Anonymous. 404 for an unknown, expired or already claimed request.",
            )
        },
        "/api/branches/{branch}/pairing": {
            "parameters": [p_branch],
            "post": operation(
                "approvePairing",
                "Approve a device's pairing code and name its account",
                returns(201, PairingApproved, "Approved; the device gets its token at its next claim."),
                [*body_errors, 401, 403, 404, 422, 503],
                roles=[Role.ADMIN],
                body=PairingApproval,
                tag="devices",
                conflicts=conflict(
                    ["exists", "account_disabled", "already_approved"],
                    "The name is another kind of account or a disabled one, or the code was approved already.",
                ),
                description="Creates a display or kiosk account of that name in the branch if new (with a "
                "random password nobody knows). A wrong, expired or other branch's code is 404.",
            ),
        },
        "/api/users": {
            "get": operation(
                "listUsers",
                "Every account",
                returns(200, Accounts, "The accounts, by username."),
                [401, 403, 503],
                roles=[Role.ADMIN],
                tag="accounts",
            ),
            "post": operation(
                "createUser",
                "Create an account",
                returns(201, User, "Created."),
                [*body_errors, 401, 403, 422, 503],
                roles=[Role.ADMIN],
                body=NewUser,
                tag="accounts",
                conflicts=conflict(["exists"], "An account with this username exists."),
            ),
        },
        "/api/branches/{branch}": {
            "parameters": [p_branch],
            "get": operation(
                "getBranch",
                "The branch's services and counters (for kiosks and displays)",
                returns(200, BranchInfo, "The branch."),
                [404],
                tag="branch",
            ),
        },
        "/api/branches/{branch}/state": {
            "parameters": [p_branch],
            "get": operation(
                "getBranchState",
                "Everything a display or dashboard shows now",
                returns(200, State, "The branch now."),
                [401, 403, 404, 503],
                roles=list(Role),
                tag="branch",
            ),
        },
        "/api/branches/{branch}/tickets": {
            "parameters": [p_branch],
            "post": operation(
                "issueTicket",
                "Issue a ticket (取号)",
                returns(201, Ticket, "Issued (or replayed)."),
                [*body_errors, 401, 403, 404, 422, 429, 503],
                roles=[Role.ADMIN, Role.MANAGER, Role.STAFF, Role.KIOSK],
                body=NewTicket,
                tag="tickets",
                parameters=[idempotency_key],
                conflicts=conflict(
                    ["closed", "stopped_issuing", "daily_cap_reached", "emergency"],
                    "The branch is closed, stops issuing before closing, the service's daily cap is "
                    "reached, or the branch is in an emergency state (state: its kind); message_zh has the "
                    "Chinese text for the kiosk.",
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
                "getTicket",
                "A ticket, with its place in line",
                returns(200, Ticket, "The ticket."),
                [404, 429, 503],
                tag="tickets",
                description="No token: the unguessable id is the key (the phone page of a ticket).",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}/cancel": {
            "parameters": [p_branch, p_ticket],
            "post": operation(
                "cancelTicket",
                "Cancel a waiting ticket (its holder gives up)",
                returns(200, Ticket, "Cancelled."),
                [*body_errors, 404, 429, 503],
                body=NoFields,
                body_required=False,
                tag="tickets",
                conflicts=conflict(["invalid_state"], "The ticket is not waiting."),
                description="No token: the unguessable id is the key.",
            ),
        },
        "/api/branches/{branch}/tickets/{ticket}/transfer": {
            "parameters": [p_branch, p_ticket],
            "post": operation(
                "transferTicket",
                "Move a waiting or called ticket to another service's queue",
                returns(200, Ticket, "Transferred; it waits in its new queue."),
                [*body_errors, 401, 403, 404, 422, 503],
                roles=staff_up,
                body=ServiceChoice,
                tag="tickets",
                conflicts=conflict(["invalid_state"], "The ticket is served, a no-show or cancelled."),
            ),
        },
        "/api/branches/{branch}/metrics": {
            "parameters": [p_branch],
            "get": operation(
                "getBranchMetrics",
                "Waiting and service figures of a range of days (docs/metrics.md)",
                {
                    "200": {
                        "description": "The report, as JSON or as CSV.",
                        "content": {_JSON: {"schema": {"type": "object"}}, "text/csv": {"schema": {"type": "string"}}},
                    }
                },
                [401, 403, 404, 422, 503],
                roles=[Role.ADMIN, Role.MANAGER],
                tag="branch",
                parameters=[
                    {
                        "name": "from",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "format": "date"},
                        "description": "First local day (default: `to`).",
                    },
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "format": "date"},
                        "description": "Last local day (default: today); at most 400 days after `from`.",
                    },
                    {
                        "name": "format",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["json", "csv"], "default": "json"},
                    },
                ],
            ),
        },
        "/healthz": {
            "get": operation("health", "Liveness and Redis reachability", returns(200, Health, "Up."), [503], tag="ops")
        },
        "/api/openapi.json": {
            "get": operation(
                "openapi",
                "This document",
                {"200": {"description": "The OpenAPI document.", "content": {_JSON: {"schema": {"type": "object"}}}}},
                [],
                tag="ops",
            )
        },
    }
    result.update(admin.paths(p_branch, p_counter))
    result.update(phone.paths(p_branch, p_ticket))
    for action, (summary, codes, extra) in COUNTER_ACTION_DOCS.items():
        body = COUNTER_ACTIONS[action]
        roles = [Role.ADMIN, Role.MANAGER, Role.STAFF] if action == "reactivate" else [Role.ADMIN, Role.STAFF]
        if action == "call-next":
            ok = {
                **returns(200, Ticket, "The ticket now called."),
                "204": {"description": "Nothing waits for this counter's services."},
            }
        elif action in ("open", "pause", "close"):
            ok = returns(200, CounterStatusResult, "The counter's new status.")
        elif action in ("take", "release"):
            ok = returns(200, CounterHolder, "Who has the counter now.")
        else:
            ok = returns(200, Ticket, "The ticket after the action.")
        errors = [*body_errors, 401, 403, 404, 503]
        if body is not NoFields:
            errors.append(422)
        result[f"/api/branches/{{branch}}/counters/{{counter}}/{action}"] = {
            "parameters": [p_branch, p_counter],
            "post": operation(
                f"counter{''.join(w.title() for w in action.split('-'))}",
                summary,
                ok,
                errors,
                roles=roles,
                body=body or NoFields,
                body_required=body is not None,
                tag="counters",
                conflicts=conflict(codes, "Not possible in the counter's or ticket's current state."),
                description=" ".join(
                    filter(None, [extra, "Staff only at the counters of their account; admins anywhere."])
                ),
            ),
        }
    return result
