"""Starting and ending the branch's emergency state (应急预案) through the API, as a manager does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Api

EMERGENCY = "/api/branches/main/emergency"
#: The manager who starts and ends emergencies in the screens' tests.
MANAGER = "boss"


def start(api: Api, token: str, **body: str) -> httpx.Response:
    return api.http.post(EMERGENCY, json=body, headers=api.auth(token))


def end(api: Api, token: str) -> httpx.Response:
    return api.http.delete(EMERGENCY, headers=api.auth(token))


def start_emergency(api: Api, kind: str, **texts: str) -> dict[str, Any]:
    """Put the demo branch into an emergency state as its manager; the state in force."""
    response = start(api, api.user(MANAGER, "manager"), kind=kind, **texts)
    assert response.status_code == 200, response.text
    emergency: dict[str, Any] = response.json()["emergency"]
    return emergency


def end_emergency(api: Api) -> None:
    response = end(api, api.user(MANAGER, "manager"))
    assert response.status_code == 200, response.text
