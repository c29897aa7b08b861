"""The OpenAPI paths of sessions, accounts and the branch's administration: configuration,
notices, audit log and devices (``server.admin_api``, ``server.devices``).

Merged into the document's ``paths`` by ``server.openapi.paths``; built with ``server.openapi.parts``.
"""

from __future__ import annotations

import msgspec

from server.auth import Role
from server.openapi.parts import Schema, conflict, operation, path_parameter, returns
from server.shapes.accounts import Account, AccountChange, Session
from server.shapes.branch import Audit, EmergencyRequest, EmergencyState, Notice, NoticeRequest
from server.shapes.config import BranchConfig, BranchSettingsChange, CounterChange, HoursChange, ServiceChange
from server.shapes.devices import Devices
from server.shapes.fields import CONFIG_ID


def paths(p_branch: Schema, p_counter: Schema) -> dict[str, Schema]:
    body_errors = [400, 413]
    admin = [Role.ADMIN]
    managers = [Role.ADMIN, Role.MANAGER]
    config = returns(200, BranchConfig, "The whole configuration after the change.")
    config_conflict = "Another change was saved meanwhile, five times in a row; try again."
    p_service = path_parameter("service", {"type": "string", "pattern": CONFIG_ID}, "A service id.")
    p_username = path_parameter("username", {"type": "string"}, "An account's username.")

    def put(operation_id: str, summary: str, body: type[msgspec.Struct]) -> Schema:
        return operation(
            operation_id,
            summary,
            config,
            [*body_errors, 401, 403, 404, 422, 503],
            roles=admin,
            body=body,
            body_required=False,
            tag="configuration",
            conflicts=conflict(["config_changed"], config_conflict),
        )

    return {
        "/api/session": {
            "get": operation(
                "getSession",
                "Who is logged in, and the CSRF token of a cookie session",
                returns(200, Session, "The session."),
                [401],
                roles=list(Role),
                tag="accounts",
            )
        },
        "/api/users/{username}": {
            "parameters": [p_username],
            "patch": operation(
                "changeUser",
                "Reset a password, disable or enable an account, assign its counters",
                returns(200, Account, "The account after the change."),
                [*body_errors, 401, 403, 404, 422, 503],
                roles=admin,
                body=AccountChange,
                body_required=False,
                tag="accounts",
            ),
        },
        "/api/branches/{branch}/config": {
            "parameters": [p_branch],
            "get": operation(
                "getConfig",
                "The branch configuration, in the shape of its TOML file",
                returns(200, BranchConfig, "The configuration."),
                [401, 403, 404, 503],
                roles=managers,
                tag="configuration",
            ),
        },
        "/api/branches/{branch}/config/branch": {
            "parameters": [p_branch],
            "put": put("changeBranchSettings", "Change the branch's settings", BranchSettingsChange),
        },
        "/api/branches/{branch}/config/hours": {
            "parameters": [p_branch],
            "put": put("changeHours", "Change opening hours and closed dates", HoursChange),
        },
        "/api/branches/{branch}/config/services/{service}": {
            "parameters": [p_branch, p_service],
            "put": put("putService", "Add a service or change one", ServiceChange),
            "delete": operation(
                "deleteService",
                "Remove a service (and from every counter)",
                config,
                [401, 403, 404, 422, 503],
                roles=admin,
                tag="configuration",
                conflicts=conflict(
                    ["service_busy", "config_changed"],
                    "Tickets of the service are waiting (state waiting), or " + config_conflict,
                ),
            ),
        },
        "/api/branches/{branch}/config/counters/{counter}": {
            "parameters": [p_branch, {**p_counter, "schema": {"type": "string", "pattern": CONFIG_ID}}],
            "put": put("putCounter", "Add a counter or change one", CounterChange),
            "delete": operation(
                "deleteCounter",
                "Remove a closed counter",
                config,
                [401, 403, 404, 422, 503],
                roles=admin,
                tag="configuration",
                conflicts=conflict(
                    ["counter_not_closed", "config_changed"],
                    "The counter is not closed (state open), or " + config_conflict,
                ),
            ),
        },
        "/api/branches/{branch}/notice": {
            "parameters": [p_branch],
            "post": operation(
                "postNotice",
                "Set or clear the notices ticker of the displays",
                returns(200, Notice, "The notice now shown."),
                [*body_errors, 401, 403, 404, 422, 503],
                roles=managers,
                body=NoticeRequest,
                body_required=False,
                tag="branch",
            ),
        },
        "/api/branches/{branch}/emergency": {
            "parameters": [p_branch],
            "post": operation(
                "startEmergency",
                "Put the branch into an emergency state (or replace the one in force)",
                returns(200, EmergencyState, "The state now in force."),
                [*body_errors, 401, 403, 404, 422, 503],
                roles=managers,
                body=EmergencyRequest,
                tag="branch",
                description="Displays cover their screen with it and announce it, kiosks and the API issue no "
                "ticket (409 emergency), phones of waiting customers show it; audited.",
            ),
            "delete": operation(
                "endEmergency",
                "End the branch's emergency state",
                returns(200, EmergencyState, "emergency is null."),
                [401, 403, 404, 503],
                roles=managers,
                tag="branch",
                conflicts=conflict(["invalid_state"], "The branch is not in an emergency state (state normal)."),
            ),
        },
        "/api/branches/{branch}/audit": {
            "parameters": [p_branch],
            "get": operation(
                "getAudit",
                "Staff and admin actions, newest first",
                returns(200, Audit, "The entries."),
                [401, 403, 404, 422, 503],
                roles=admin,
                tag="branch",
                parameters=[
                    {
                        "name": "count",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "pattern": "^0*([1-9][0-9]{0,2}|1000)$", "default": "100"},
                        "description": "How many entries, 1 to 1000.",
                    }
                ],
            ),
        },
        "/api/branches/{branch}/devices": {
            "parameters": [p_branch],
            "get": operation(
                "getDevices",
                "Devices' heartbeats and printer status",
                returns(200, Devices, "The devices."),
                [401, 403, 404, 503],
                roles=managers,
                tag="branch",
            ),
        },
    }
