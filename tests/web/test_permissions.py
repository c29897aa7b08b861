"""Who may do what: every role against every route of the app (HTTP and websockets), as a table.

The table below is the expected outcome of each request for each role; the test walks the app's
routes first, so a route added without a row here fails until someone decides who may use it.
Cells are HTTP statuses, ``open`` for a websocket that serves its first message, or the close code
a refused websocket gets (4401 not logged in, 4403 not allowed).

Each request is built so that only the role decides its outcome: before each one the admin puts
counter 1 in the state the action needs (a waiting ticket to call, a called ticket to finish...).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.routing import Mount, Route, WebSocketRoute
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.api import COUNTER_ACTIONS
from server.app import create_app
from server.config import demo_branch
from server.settings import Settings
from tests.conftest import Api
from tests.servers import ServerProcess
from tests.web.conftest import password_of

pytestmark = pytest.mark.redis

ROLES = ("anonymous", "staff1", "staff2", "manager", "admin", "kiosk", "display")
#: staff1 works at counter 1 (the counter every counter action uses), staff2 at counter 2.
ACCOUNTS = {"staff1": ("staff", ["1"]), "staff2": ("staff", ["2"]), "manager": ("manager", []),
            "kiosk": ("kiosk", []), "display": ("display", [])}  # fmt: skip

#                                                            anonymous staff1 staff2 manager admin kiosk display
EXPECTED = """
POST   /api/login                                            422  422  422  422  422  422  422
POST   /api/logout                                           401  204  204  204  204  204  204
GET    /api/session                                          401  200  200  200  200  200  200
POST   /api/users                                            401  403  403  403  201  403  403
GET    /api/users                                            401  403  403  403  200  403  403
PATCH  /api/users/{username}                                 401  403  403  403  200  403  403
GET    /api/branches/{branch}                                200  200  200  200  200  200  200
GET    /api/branches/{branch}/state                          401  200  200  200  200  200  200
POST   /api/branches/{branch}/tickets                        401  201  201  201  201  201  403
GET    /api/branches/{branch}/tickets/{ticket}               200  200  200  200  200  200  200
POST   /api/branches/{branch}/tickets/{ticket}/cancel        200  200  200  200  200  200  200
POST   /api/branches/{branch}/tickets/{ticket}/transfer      401  200  200  200  200  403  403
POST   /api/branches/{branch}/counters/{counter}/call-next   401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/call        401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/recall      401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/finish      401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/no-show     401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/transfer    401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/reactivate  401  200  403  200  200  403  403
POST   /api/branches/{branch}/counters/{counter}/open        401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/pause       401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/close       401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/take        401  200  403  403  200  403  403
POST   /api/branches/{branch}/counters/{counter}/release     401  409  403  403  200  403  403
GET    /healthz                                              200  200  200  200  200  200  200
GET    /api/branches/{branch}/config                         401  403  403  200  200  403  403
PUT    /api/branches/{branch}/config/branch                  401  403  403  403  200  403  403
PUT    /api/branches/{branch}/config/hours                   401  403  403  403  200  403  403
PUT    /api/branches/{branch}/config/services/{service}      401  403  403  403  200  403  403
DELETE /api/branches/{branch}/config/services/{service}      401  403  403  403  200  403  403
PUT    /api/branches/{branch}/config/counters/{counter}      401  403  403  403  200  403  403
DELETE /api/branches/{branch}/config/counters/{counter}      401  403  403  403  200  403  403
POST   /api/branches/{branch}/notice                         401  403  403  200  200  403  403
POST   /api/branches/{branch}/emergency                      401  403  403  200  200  403  403
DELETE /api/branches/{branch}/emergency                      401  403  403  200  200  403  403
GET    /api/branches/{branch}/audit                          401  403  403  403  200  403  403
GET    /api/branches/{branch}/devices                        401  403  403  200  200  403  403
GET    /api/branches/{branch}/metrics                        401  403  403  200  200  403  403
GET    /metrics                                              401  403  403  200  200  403  403
GET    /api/openapi.json                                     200  200  200  200  200  200  200
GET    /                                                     303  303  303  303  303  303  303
GET    /login                                                200  200  200  200  200  200  200
POST   /login                                                401  401  401  401  401  401  401
POST   /logout                                               303  303  303  303  303  303  303
GET    /counter                                              303  200  200  303  200  403  403
GET    /admin                                                303  303  303  200  200  403  403
GET    /dashboard                                            303  303  303  200  200  403  403
GET    /dashboard/{branch}                                   303  303  303  200  200  403  403
GET    /complaints                                           303  303  303  200  200  403  403
GET    /complaints/{branch}                                  303  303  303  200  200  403  403
GET    /display/{branch}                                     200  200  200  200  200  403  200
POST   /api/pairing                                          201  201  201  201  201  201  201
POST   /api/pairing/claim                                    404  404  404  404  404  404  404
POST   /api/branches/{branch}/pairing                        401  403  403  403  404  403  403
GET    /static/{path}                                        200  200  200  200  200  200  200
GET    /t/{ticket}                                           200  200  200  200  200  200  200
GET    /api/branches/{branch}/tickets/{ticket}/updates       200  200  200  200  200  200  200
POST   /api/branches/{branch}/tickets/{ticket}/rating        201  201  201  201  201  201  201
POST   /api/branches/{branch}/tickets/{ticket}/complaints    201  201  201  201  201  201  201
GET    /api/branches/{branch}/complaints                     401  403  403  200  200  403  403
PATCH  /api/branches/{branch}/complaints/{complaint}         401  403  403  200  200  403  403
GET    /api/branches/{branch}/ratings                        401  403  403  200  200  403  403
GET    /display/static/{path}                                200  200  200  200  200  200  200
WS     /ws/branches/{branch}/display                         4401 open open open open 4403 open
WS     /ws/branches/{branch}/kiosk                           4401 4403 4403 4403 open open 4403
WS     /ws/branches/{branch}/staff                           4401 4403 4403 open open 4403 4403
WS     /ws/branches/{branch}/staff?counter=1                 4401 open 4403 open open 4403 4403
WS     /ws/tickets/{ticket}                                  open open open open open open open
"""
# Notes on cells that are not simply "allowed / refused":
# - /api/login, POST /login: no token is involved; the bodies are wrong for everyone (422, 401).
# - tickets/{ticket}, its cancel, rating, complaints, updates, its phone page /t/{ticket} and its
#   websocket: the ticket id is the holder's key (on the ticket's QR code); no account needed.
# - release by staff1: allowed, but nobody holds the counter then (409 not_taken).
# - /metrics: the Prometheus scrape: a manager's or admin's token, or the scrape token of
#   NEXTUP_METRICS_TOKEN_FILE (tests/test_screen_boundaries.py).
# - /logout: the page form always goes back to the login page; it ends the session it can verify.
# - /counter sends managers to /admin; /admin, /dashboard and /complaints send staff to /counter (303);
#   devices get 403.
# - /display/{branch} and the display and kiosk websockets take the token in the query (or the
#   paired device's cookie / header); the staff websocket takes the page session cookie. Without a
#   credential the display page is the pairing screen (200); a kiosk token there is 403.
# - /api/pairing and its claim are a device's, before it has any account: anonymous by design
#   (rate limited per address). Approving a code needs an admin of the branch; 000000 is no code (404).

#: Order in which the roles run each request: the admin last, as its request may change things
#: (deleting the service or counter the others were refused).
RUN_ORDER = ("anonymous", "staff1", "staff2", "manager", "kiosk", "display", "admin")


def expected_table() -> dict[tuple[str, str], dict[str, str]]:
    table: dict[tuple[str, str], dict[str, str]] = {}
    for line in EXPECTED.strip().splitlines():
        method, path, *cells = line.split()
        assert len(cells) == len(ROLES), line
        table[(method, path)] = dict(zip(ROLES, cells, strict=True))
    return table


def app_routes(tmp_path: Path) -> set[tuple[str, str]]:
    """Every (method, path) the app serves, counter actions spelled out, HEAD left out (it is GET)."""
    settings = Settings(redis_url=None, data_dir=tmp_path, admin_password=None, public_url=None)
    app = create_app(settings, demo_branch(), "redis://127.0.0.1:1/0")
    routes: set[tuple[str, str]] = set()
    for route in app.routes:
        if isinstance(route, Route):
            paths = [route.path.replace("{action}", a) for a in COUNTER_ACTIONS] if "{action}" in route.path else [
                route.path
            ]
            routes |= {(m, p) for p in paths for m in (route.methods or set()) - {"HEAD"}}
        elif isinstance(route, Mount):
            routes.add(("GET", route.path + "/{path}"))
        elif isinstance(route, WebSocketRoute):
            routes.add(("WS", route.path))
        else:
            raise AssertionError(f"a route of unknown kind: {route!r}")
    return routes


@dataclass
class Request:
    """What one row sends: its body, path parameters, and the admin's preparation before each role."""

    body: Any = None
    params: dict[str, str] = field(default_factory=dict)
    form: dict[str, str] | None = None
    #: Runs as the admin before each role's request; returns path parameters or a body to use.
    prepare: Callable[[Api], dict[str, Any]] | None = None
    #: The request ends the session: each role sends it with a token of its own.
    ends_session: bool = False
    #: Runs as the admin after each role's request: undoes what would change the rows after it.
    cleanup: Callable[[Api], None] | None = None


def reset_counter(api: Api) -> None:
    """Counter 1 open, free, serving nobody."""
    counter = api.state()["counters"][0]
    if counter["holder"]:
        assert api.counter("1", "release").status_code == 200
    if counter["current"]:
        assert api.counter("1", "finish").status_code == 200
    if counter["status"] != "open":
        assert api.counter("1", "open").status_code == 200


def called(api: Api) -> dict[str, Any]:
    api.issue("A")
    response = api.counter("1", "call-next")
    assert response.status_code == 200, response.text
    ticket: dict[str, Any] = response.json()
    return ticket


def a_waiting_ticket(api: Api) -> dict[str, Any]:
    return {"params": {"ticket": api.issue("A")["id"]}}


def a_number_to_call(api: Api) -> dict[str, Any]:
    return {"body": {"number": api.issue("A")["number"]}}


def a_no_show(api: Api) -> dict[str, Any]:
    ticket = called(api)
    assert api.counter("1", "no-show").status_code == 200
    return {"body": {"number": ticket["number"]}}


def a_paused_counter(api: Api) -> dict[str, Any]:
    assert api.counter("1", "pause", {"reason": "setup"}).status_code == 200
    return {}


def a_served_ticket(api: Api) -> dict[str, Any]:
    reset_counter(api)
    ticket = api.issue("A")
    assert api.counter("1", "call", {"number": ticket["number"]}).status_code == 200
    assert api.counter("1", "finish").status_code == 200
    return {"params": {"ticket": ticket["id"]}}


def an_emergency(api: Api) -> dict[str, Any]:
    response = api.http.post("/api/branches/main/emergency", json={"kind": "closure"}, headers=api.auth(api.admin()))
    assert response.status_code == 200, response.text
    return {}


def no_emergency(api: Api) -> None:
    """The branch back in normal service (the rows after issue tickets)."""
    api.http.delete("/api/branches/main/emergency", headers=api.auth(api.admin()))
    assert api.state()["emergency"] is None


def a_complaint(api: Api) -> dict[str, Any]:
    ticket = api.issue("A")
    response = api.http.post(f"/api/branches/main/tickets/{ticket['id']}/complaints", json={"text": "Too slow"})
    assert response.status_code == 201, response.text
    return {"params": {"complaint": response.json()["id"]}}


def a_spare_service(api: Api) -> dict[str, Any]:
    """Service Z at counter 4, nothing waiting: deletable."""
    response = api.http.put("/api/branches/main/config/services/Z", headers=api.auth(api.admin()),
                            json={"prefix": "Z", "name_zh": "备用", "name_en": "Spare", "counters": ["4"]})  # fmt: skip
    assert response.status_code == 200, response.text
    return {"params": {"service": "Z"}}


def a_spare_counter(api: Api) -> dict[str, Any]:
    """Counter 9, closed: deletable."""
    response = api.http.put("/api/branches/main/config/counters/9", headers=api.auth(api.admin()),
                            json={"services": ["B"], "initial_status": "closed"})  # fmt: skip
    assert response.status_code == 200, response.text
    return {"params": {"counter": "9"}}


def at_counter(prepare: Callable[[Api], dict[str, Any]] | None = None) -> Callable[[Api], dict[str, Any]]:
    def run(api: Api) -> dict[str, Any]:
        reset_counter(api)
        return prepare(api) if prepare else {}

    return run


def issue_one(api: Api) -> dict[str, Any]:
    api.issue("A")
    return {}


REQUESTS: dict[tuple[str, str], Request] = {
    ("POST", "/api/logout"): Request(ends_session=True),
    ("POST", "/api/users"): Request(body={"username": "newcomer", "password": "newcomer-pw-1", "role": "staff"}),
    ("PATCH", "/api/users/{username}"): Request(body={"disabled": False}, params={"username": "victim"}),
    ("POST", "/api/branches/{branch}/tickets"): Request(body={"service": "A"}),
    ("GET", "/api/branches/{branch}/tickets/{ticket}"): Request(prepare=a_waiting_ticket),
    ("POST", "/api/branches/{branch}/tickets/{ticket}/cancel"): Request(prepare=a_waiting_ticket),
    ("POST", "/api/branches/{branch}/tickets/{ticket}/transfer"): Request(body={"service": "B"},
                                                                          prepare=a_waiting_ticket),
    ("PUT", "/api/branches/{branch}/config/branch"): Request(body={"name_en": "Demo branch"}),
    ("PUT", "/api/branches/{branch}/config/hours"): Request(body={"closed_dates": []}),
    ("PUT", "/api/branches/{branch}/config/services/{service}"): Request(body={"name_en": "Personal services"},
                                                                         params={"service": "A"}),
    ("DELETE", "/api/branches/{branch}/config/services/{service}"): Request(prepare=a_spare_service),
    ("PUT", "/api/branches/{branch}/config/counters/{counter}"): Request(body={"name_en": "Counter 1"}),
    ("DELETE", "/api/branches/{branch}/config/counters/{counter}"): Request(prepare=a_spare_counter),
    ("POST", "/api/branches/{branch}/notice"): Request(body={"text_zh": "通知", "text_en": "Notice"}),
    ("POST", "/api/branches/{branch}/emergency"): Request(body={"kind": "closure"}, cleanup=no_emergency),
    ("DELETE", "/api/branches/{branch}/emergency"): Request(prepare=an_emergency, cleanup=no_emergency),
    ("POST", "/login"): Request(form={"password": "wrong-password"}),
    ("POST", "/logout"): Request(ends_session=True),
    ("GET", "/static/{path}"): Request(params={"path": "staff.css"}),
    ("GET", "/t/{ticket}"): Request(prepare=a_waiting_ticket),
    ("GET", "/api/branches/{branch}/tickets/{ticket}/updates"): Request(prepare=a_waiting_ticket),
    ("POST", "/api/branches/{branch}/tickets/{ticket}/rating"): Request(body={"rating": 5}, prepare=a_served_ticket),
    ("POST", "/api/branches/{branch}/tickets/{ticket}/complaints"): Request(body={"text": "Too slow"},
                                                                            prepare=a_waiting_ticket),
    ("PATCH", "/api/branches/{branch}/complaints/{complaint}"): Request(body={"answer": "Sorry"},
                                                                        prepare=a_complaint),
    ("WS", "/ws/tickets/{ticket}"): Request(prepare=a_waiting_ticket),
    ("GET", "/display/static/{path}"): Request(params={"path": "display.css"}),
    ("POST", "/api/pairing"): Request(body={"kind": "display", "branch": "main"}),
    ("POST", "/api/pairing/claim"): Request(body={"claim": "not-a-claim-of-any-request"}),
    ("POST", "/api/branches/{branch}/pairing"): Request(body={"code": "000000", "name": "tv-matrix"}),
}
_ACTION_PREPARATION: dict[str, Callable[[Api], dict[str, Any]] | None] = {
    "call-next": issue_one,
    "call": a_number_to_call,
    "recall": lambda api: (called(api), {})[1],
    "finish": lambda api: (called(api), {})[1],
    "no-show": lambda api: (called(api), {})[1],
    "transfer": lambda api: (called(api), {"body": {"service": "B"}})[1],
    "reactivate": a_no_show,
    "open": a_paused_counter,
    "pause": lambda api: {"body": {"reason": "break"}},
}
for _action in COUNTER_ACTIONS:
    REQUESTS[("POST", f"/api/branches/{{branch}}/counters/{{counter}}/{_action}")] = Request(
        prepare=at_counter(_ACTION_PREPARATION.get(_action))
    )


class Roles:
    """Tokens of every role, and fresh ones for requests that end their session."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.tokens = {"admin": api.admin()}
        for name, (role, counters) in ACCOUNTS.items():
            self.tokens[name] = api.user(name, role, counters)
        api.user("victim", "staff", ["3"])

    def token(self, role: str, fresh: bool = False) -> str | None:
        if role == "anonymous":
            return None
        return self.api.login(role, password_of(role)) if fresh else self.tokens[role]


def http_outcome(api: Api, roles: Roles, method: str, path: str, request: Request, role: str) -> str:
    prepared = request.prepare(api) if request.prepare else {}
    params = {"branch": "main", "counter": "1", **request.params, **prepared.get("params", {})}
    body = prepared.get("body", request.body)
    url = path.format(**params)
    token = roles.token(role, fresh=request.ends_session)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    query: dict[str, str] = {}
    if path == "/display/{branch}":
        headers, query = {}, ({"token": token} if token else {})
    if request.form is not None:
        form = {**request.form, "username": f"matrix-{role}"}
        response = api.http.request(method, url, data=form, headers=headers, params=query)
    else:
        response = api.http.request(method, url, json=body, headers=headers, params=query)
    return str(response.status_code)


def websocket_outcome(server: ServerProcess, api: Api, roles: Roles, path: str, request: Request, role: str) -> str:
    prepared = request.prepare(api) if request.prepare else {}
    token = roles.token(role)
    target, _, query = path.partition("?")
    url = f"ws://127.0.0.1:{server.port}{target.format(branch='main', **prepared.get('params', {}))}"
    headers: dict[str, str] = {}
    if target.endswith("/staff"):
        # The staff pages' socket: the session cookie, sent from this server's own page.
        headers["Origin"] = server.url
        if token:
            headers["Cookie"] = f"nextup_session={token}"
        url += f"?{query}" if query else ""
    else:
        url += "?" + "&".join(part for part in (query, f"token={token}" if token else "") if part)
    with connect(url, additional_headers=headers, open_timeout=5) as ws:
        try:
            message = json.loads(ws.recv(timeout=5))
        except ConnectionClosed as closed:
            return str(closed.rcvd.code if closed.rcvd else "closed without a code")
        assert message.get("type") not in (None, "error"), message
        return "open"


def test_every_route_has_a_row_in_the_table(tmp_path: Path) -> None:
    """The expected table covers exactly the app's routes (and every counter action)."""
    table = {(method, path.partition("?")[0]) for method, path in expected_table()}
    assert app_routes(tmp_path) == table


def test_every_role_gets_exactly_the_expected_status_everywhere(server: ServerProcess, api: Api) -> None:
    """Each role against each HTTP route and websocket gets what the table says, nothing more."""
    roles = Roles(api)
    table = expected_table()
    mismatches = []
    for (method, path), expected in table.items():
        request = REQUESTS.get((method, path), Request())
        for role in RUN_ORDER:
            if method == "WS":
                got = websocket_outcome(server, api, roles, path, request, role)
            else:
                got = http_outcome(api, roles, method, path, request, role)
            if request.cleanup:
                request.cleanup(api)
            if got != expected[role]:
                mismatches.append(f"{method} {path} as {role}: expected {expected[role]}, got {got}")
    assert not mismatches, "\n".join(mismatches)


def test_a_cross_site_page_cannot_open_the_staff_socket_with_the_cookie(server: ServerProcess, api: Api) -> None:
    """A websocket from another origin, or with no Origin at all, is refused even with a valid cookie."""
    token = api.admin()
    url = f"ws://127.0.0.1:{server.port}/ws/branches/main/staff"
    for origin in ({"Origin": "http://evil.example"}, {}):
        with connect(url, additional_headers={**origin, "Cookie": f"nextup_session={token}"}) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


def test_staff_api_with_a_cookie_needs_the_csrf_token_on_every_counter_action(api: Api) -> None:
    """Every counter action through the page cookie is refused without the session's CSRF token."""
    api.user("staff1", "staff", ["1"])
    client = httpx.Client(base_url=api.url, timeout=10)
    assert client.post("/login", data={"username": "staff1", "password": password_of("staff1")}).status_code == 303
    for action in COUNTER_ACTIONS:
        response = client.post(f"/api/branches/main/counters/1/{action}", json={})
        assert response.status_code == 403 and response.json()["error"]["code"] == "csrf", action
