"""The OpenAPI document is served, covers exactly the app's routes, and real responses match it."""

from __future__ import annotations

import contextlib
import copy
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from starlette.routing import Route
from websockets.sync.client import connect as connect_sync

from server import rules
from server.api import COUNTER_ACTIONS
from server.app import create_app
from server.config import demo_branch
from server.openapi import document
from server.openapi.paths import COUNTER_ACTION_DOCS
from server.settings import Settings
from server.shapes.fields import SPACE
from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
DOC_URI = "urn:nextup:openapi"

FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_offset_datetime(value: object) -> bool:
    # jsonschema checks date-time only with an optional package; the API promises ISO 8601 with an offset.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def _strict(node: Any) -> Any:
    """The document with undeclared properties refused wherever it leaves them open by default.

    Clients are told to ignore unknown fields, but this test wants every field the server sends
    to be documented.
    """
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {key: _strict(value) for key, value in node.items()}
    if result.get("type") == "object" and "properties" in result and "additionalProperties" not in result:
        result["additionalProperties"] = False
    return result


def _registry(doc: dict[str, Any]) -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(_strict(copy.deepcopy(doc)), default_specification=DRAFT202012)
    return Registry().with_resource(DOC_URI, resource)


DOC = document()
REGISTRY = _registry(DOC)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def conforms(response: httpx.Response, path: str, method: str, doc: dict[str, Any] = DOC) -> None:
    """Assert the response's status is declared for the operation and its body matches the schema."""
    operation = doc["paths"][path][method.lower()]
    status = str(response.status_code)
    assert status in operation["responses"], f"{method.upper()} {path} answered undeclared {status}: {response.text}"
    declared = operation["responses"][status]
    where = ("paths", path, method.lower(), "responses", status)
    if "$ref" in declared:
        name = declared["$ref"].rsplit("/", 1)[1]
        declared = doc["components"]["responses"][name]
        where = ("components", "responses", name)
    for header, spec in declared.get("headers", {}).items():
        if spec.get("required"):
            assert header.lower() in response.headers, f"{status} lacks header {header}"
    if "content" not in declared:
        assert response.content == b"", f"{status} should have no body"
        return
    media_type = response.headers["content-type"].split(";")[0].strip()
    assert media_type in declared["content"], f"{status} answered undeclared {media_type}"
    if media_type != "application/json":
        return
    pointer = _pointer(*where, "content", media_type, "schema")
    validator = Draft202012Validator({"$ref": f"{DOC_URI}#/{pointer}"}, registry=REGISTRY, format_checker=FORMATS)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(response.json())]
    assert not errors, f"{method.upper()} {path} {status} does not match the document: {errors}"


@dataclass
class Served:
    api: Api
    #: GET state before anything happened in the branch (its seq is null).
    untouched_state: httpx.Response


@pytest.fixture(scope="module")
def served(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module, started on an emptied database (a process per test costs ~1 s).

    The conftest ``redis_client`` fixture must not be used here: it would empty the database
    under this server, accounts included.
    """
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    server = ServerProcess(tmp_path_factory.mktemp("openapi"), redis_url).start()
    api = Api(server.url)
    try:
        yield Served(api, api.http.get("/api/branches/main/state", headers=api.auth(api.admin())))
    finally:
        api.close()
        server.stop()


@pytest.fixture
def api(served: Served) -> Api:
    """The module's server with its branch settled through the API: every counter open and idle,
    nothing waiting. Earlier tests' tickets stay served or no-show."""
    api = served.api
    counters = list(demo_branch().counters)
    for counter_id in counters:
        post(api, f"/api/branches/main/counters/{counter_id}/finish")
        post(api, f"/api/branches/main/counters/{counter_id}/open")
    for counter_id in counters:
        while post(api, f"/api/branches/main/counters/{counter_id}/call-next").status_code == 200:
            post(api, f"/api/branches/main/counters/{counter_id}/finish")
    state = api.state()
    assert all(c["status"] == "open" and c["current"] is None for c in state["counters"])
    assert all(s["waiting"] == 0 for s in state["services"])
    return api


COUNTER = "/api/branches/{branch}/counters/{counter}"


def post(api: Api, path: str, body: dict[str, Any] | None = None, token: str | None = None) -> httpx.Response:
    headers = api.auth(token or api.admin())
    return api.http.post(path, json=body if body is not None else {}, headers=headers)


def counter(api: Api, number: str, action: str, body: dict[str, Any] | None = None) -> httpx.Response:
    response = post(api, f"/api/branches/main/counters/{number}/{action}", body)
    conforms(response, f"{COUNTER}/{action}", "post")
    return response


def issue(api: Api, service: str = "A", priority: bool = False, key: str | None = None) -> httpx.Response:
    headers = api.auth(api.admin()) | ({"Idempotency-Key": key} if key else {})
    response = api.http.post(
        "/api/branches/main/tickets", json={"service": service, "priority": priority}, headers=headers
    )
    conforms(response, "/api/branches/{branch}/tickets", "post")
    return response


def test_document_is_served_at_api_openapi_json(api: Api) -> None:
    """GET /api/openapi.json returns the OpenAPI 3.1 document, generic or narrowed to the branch."""
    response = api.http.get("/api/openapi.json")
    assert response.status_code == 200
    conforms(response, "/api/openapi.json", "get")
    served = response.json()
    assert served["openapi"] == "3.1.0"
    assert served in (json.loads(json.dumps(document())), json.loads(json.dumps(document(demo_branch()))))


def test_every_route_is_documented_and_every_documented_operation_is_routed(tmp_path: Path) -> None:
    """The document's (path, method) pairs are exactly the app's JSON routes, counter actions spelled out.

    The JSON API is everything under /api/ plus /healthz; HTML pages, static files and websockets
    are not described by OpenAPI.
    """
    settings = Settings(redis_url=None, data_dir=tmp_path, admin_password=None, public_url=None)
    app = create_app(settings, demo_branch(), "redis://127.0.0.1:1/0")
    routed: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, Route) or not (route.path.startswith("/api/") or route.path == "/healthz"):
            continue
        path = route.path
        methods = {m.lower() for m in route.methods or ()} - {"head"}
        expanded = [path.replace("{action}", a) for a in COUNTER_ACTIONS] if "{action}" in path else [path]
        routed |= {(p, m) for p in expanded for m in methods}
    documented = {(p, m) for p, item in DOC["paths"].items() for m in item if m in HTTP_METHODS}
    assert routed == documented
    assert set(COUNTER_ACTION_DOCS) == set(COUNTER_ACTIONS)


def test_document_is_well_formed() -> None:
    """Every schema is valid JSON Schema 2020-12, every $ref resolves, every operation id is unique."""
    for schema in DOC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    refs: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(DOC)
    resolver = REGISTRY.resolver(DOC_URI)
    for target in refs:
        assert resolver.lookup(target).contents is not None, target
    ids = [op["operationId"] for item in DOC["paths"].values() for m, op in item.items() if m in HTTP_METHODS]
    assert len(ids) == len(set(ids))
    assert all(DOC["paths"][p][m]["responses"] for p in DOC["paths"] for m in DOC["paths"][p] if m in HTTP_METHODS)


def test_space_class_is_exactly_what_python_strips() -> None:
    """The whitespace the patterns allow around a value is the set str.strip() removes."""
    import re

    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    stripped = {c for c in every_character if c.isspace()}
    assert set(re.findall(SPACE, every_character)) == stripped


def test_branch_narrowed_document_names_the_branch_ids() -> None:
    """Given the branch, path parameters and service fields are narrowed to its ids."""
    narrowed = document(demo_branch())
    params = narrowed["paths"]["/api/branches/{branch}/counters/{counter}/call"]["parameters"]
    assert {p["name"]: p["schema"].get("enum") for p in params} == {"branch": ["main"], "counter": ["1", "2", "3", "4"]}
    service = Draft202012Validator(narrowed["components"]["schemas"]["NewTicket"])
    assert service.is_valid({"service": " B "})
    assert not service.is_valid({"service": "Z"})


def test_login_and_account_responses_match(api: Api) -> None:
    """Login (200, 401, 422) and account creation (201, 403, 409) match the document."""
    ok = api.http.post("/api/login", json={"username": "admin", "password": "test-admin-password"})
    assert ok.status_code == 200
    conforms(ok, "/api/login", "post")
    wrong = api.http.post("/api/login", json={"username": "admin", "password": "not-it"})
    assert wrong.status_code == 401
    conforms(wrong, "/api/login", "post")
    missing = api.http.post("/api/login", json={"username": "admin"})
    assert missing.status_code == 422
    conforms(missing, "/api/login", "post")

    body = {"username": "doc-staff", "password": "long-enough", "role": "staff", "counters": ["2"]}
    created = api.http.post("/api/users", json=body, headers=api.auth(api.admin()))
    assert created.status_code in (201, 409)  # the module's server keeps accounts between tests
    conforms(created, "/api/users", "post")
    again = api.http.post("/api/users", json=body, headers=api.auth(api.admin()))
    assert again.status_code == 409
    conforms(again, "/api/users", "post")
    staff = api.login("doc-staff", "long-enough")
    refused = api.http.post("/api/users", json={**body, "username": "other"}, headers=api.auth(staff))
    assert refused.status_code == 403
    conforms(refused, "/api/users", "post")


def test_untouched_state_matches_and_seq_may_be_null(served: Served) -> None:
    """The state of a branch before any call matches the document, as it would with seq null.

    (Seeding the configuration at start writes the first event, so a served seq is never null.)
    """
    untouched = served.untouched_state
    assert untouched.status_code == 200
    assert untouched.json()["recent_calls"] == []
    assert untouched.json()["notice"] is None
    conforms(untouched, "/api/branches/{branch}/state", "get")
    validator = Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/State"}, registry=REGISTRY)
    validator.validate({**untouched.json(), "seq": None})


def test_branch_info_health_and_state_match(api: Api) -> None:
    """Branch info, health and the branch state match the document."""
    info = api.http.get("/api/branches/main")
    assert info.status_code == 200
    conforms(info, "/api/branches/{branch}", "get")
    unknown = api.http.get("/api/branches/elsewhere")
    assert unknown.status_code == 404
    conforms(unknown, "/api/branches/{branch}", "get")
    health = api.http.get("/healthz")
    assert health.status_code == 200
    conforms(health, "/healthz", "get")
    state = api.http.get("/api/branches/main/state", headers=api.auth(api.admin()))
    assert state.status_code == 200
    conforms(state, "/api/branches/{branch}/state", "get")
    anonymous = api.http.get("/api/branches/main/state")
    assert anonymous.status_code == 401
    conforms(anonymous, "/api/branches/{branch}/state", "get")


def test_issued_ticket_and_its_view_match_with_ahead_and_wait(api: Api) -> None:
    """Issue (201, idempotent replay) and get (200) match; ahead and the estimate follow the rules."""
    first = issue(api, "A")
    second = issue(api, "A", key="kiosk-1:42")
    replay = issue(api, "A", key="kiosk-1:42")
    assert first.status_code == second.status_code == replay.status_code == 201
    assert replay.json()["id"] == second.json()["id"]
    priority = issue(api, "A", priority=True)
    view = api.http.get(f"/api/branches/main/tickets/{second.json()['id']}")
    assert view.status_code == 200
    conforms(view, "/api/branches/{branch}/tickets/{ticket}", "get")
    ticket = view.json()
    # One regular ticket before it, one priority ticket that may pass it; counters 1, 2, 3 serve A.
    ahead = rules.tickets_ahead(False, 1, 1, demo_branch().priority_cap)
    assert ticket["ahead"] == ahead == 2
    # Three idle counters serve A: the model has them call it at once.
    assert ticket["estimated_wait_s"] == 0
    assert priority.json()["priority"] is True
    missing = api.http.get("/api/branches/main/tickets/no-such-ticket")
    assert missing.status_code == 404
    conforms(missing, "/api/branches/{branch}/tickets/{ticket}", "get")


def test_call_next_recall_finish_and_empty_queue_match(api: Api) -> None:
    """call-next (200, then 204), recall and finish match the document."""
    issue(api, "A")
    called = counter(api, "2", "call-next")
    assert called.status_code == 200 and called.json()["status"] == "called"
    busy = counter(api, "2", "call-next")
    assert busy.status_code == 409
    recalled = counter(api, "2", "recall")
    assert recalled.status_code == 200 and recalled.json()["calls"] == 2
    finished = counter(api, "2", "finish")
    assert finished.status_code == 200 and finished.json()["status"] == "served"
    empty = counter(api, "2", "call-next")
    assert empty.status_code == 204
    again = counter(api, "2", "finish")
    assert again.status_code == 409 and again.json()["error"]["state"] == "open"


def test_no_show_and_reactivate_match(api: Api) -> None:
    """no-show and reactivate (by a manager) match the document."""
    number = issue(api, "A").json()["number"]
    counter(api, "2", "call-next")
    missed = counter(api, "2", "no-show")
    assert missed.status_code == 200 and missed.json()["status"] == "no_show"
    manager = api.user("doc-manager", "manager")
    back = api.http.post(
        "/api/branches/main/counters/3/reactivate", json={"number": number}, headers=api.auth(manager)
    )
    assert back.status_code == 200 and back.json()["status"] == "waiting"
    conforms(back, "/api/branches/{branch}/counters/{counter}/reactivate", "post")
    twice = counter(api, "2", "reactivate", {"number": number})
    assert twice.status_code == 409 and twice.json()["error"]["state"] == "waiting"


def test_transfers_and_call_by_number_match(api: Api) -> None:
    """Counter transfer, ticket transfer and call by number match the document."""
    ticket = issue(api, "A").json()
    counter(api, "2", "call-next")
    moved = counter(api, "2", "transfer", {"service": "B"})
    assert moved.status_code == 200 and moved.json()["service"] == "B"
    direct = post(api, f"/api/branches/main/tickets/{ticket['id']}/transfer", {"service": "C"})
    assert direct.status_code == 200 and direct.json()["service"] == "C"
    conforms(direct, "/api/branches/{branch}/tickets/{ticket}/transfer", "post")
    same = post(api, f"/api/branches/main/tickets/{ticket['id']}/transfer", {"service": "C"})
    assert same.status_code == 422
    conforms(same, "/api/branches/{branch}/tickets/{ticket}/transfer", "post")
    called = counter(api, "4", "call", {"number": ticket["number"]})
    assert called.status_code == 200 and called.json()["counter"] == "4"
    unknown = counter(api, "1", "call", {"number": "A999"})
    assert unknown.status_code == 404


def test_counter_status_changes_match(api: Api) -> None:
    """pause, open and close answer the counter's new status as documented."""
    paused = counter(api, "3", "pause", {"reason": "lunch"})
    assert paused.json() == {"counter": "3", "status": "paused", "reason": "lunch"}
    refused = counter(api, "3", "call-next")
    assert refused.status_code == 409 and refused.json()["error"]["state"] == "paused"
    opened = counter(api, "3", "open")
    assert opened.json() == {"counter": "3", "status": "open", "reason": None}
    closed = counter(api, "3", "close")
    assert closed.json() == {"counter": "3", "status": "closed", "reason": None}


def test_busy_state_with_recent_calls_and_cancel_match(api: Api) -> None:
    """The state of a busy branch (current tickets, recent calls) and cancel match the document."""
    waiting = issue(api, "C").json()
    issue(api, "A", priority=True)
    called = counter(api, "1", "call-next").json()
    counter(api, "1", "recall")
    counter(api, "3", "pause", {"reason": "system fault"})
    state = api.http.get("/api/branches/main/state", headers=api.auth(api.admin()))
    conforms(state, "/api/branches/{branch}/state", "get")
    body = state.json()
    assert body["seq"] is not None
    assert [c["ticket"] for c in body["recent_calls"][:2]] == [called["id"], called["id"]]
    assert body["counters"][0]["current"]["id"] == called["id"]
    cancelled = api.http.post(f"/api/branches/main/tickets/{waiting['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    conforms(cancelled, "/api/branches/{branch}/tickets/{ticket}/cancel", "post")
    again = api.http.post(f"/api/branches/main/tickets/{waiting['id']}/cancel")
    assert again.status_code == 409 and again.json()["error"]["state"] == "cancelled"
    conforms(again, "/api/branches/{branch}/tickets/{ticket}/cancel", "post")


def test_error_bodies_match(api: Api) -> None:
    """400, 401, 403, 404, 413 and 422 refusals of ticket issue match the document."""
    path = "/api/branches/main/tickets"
    admin = api.auth(api.admin())
    display = api.user("doc-display", "display")
    answers = {
        400: api.http.post(path, content=b"{", headers=admin),
        401: api.http.post(path, json={"service": "A"}),
        403: api.http.post(path, json={"service": "A"}, headers=api.auth(display)),
        404: api.http.post("/api/branches/elsewhere/tickets", json={"service": "A"}, headers=admin),
        413: api.http.post(path, content=b" " * (16 * 1024 + 1), headers=admin),
        422: api.http.post(path, json={"service": "Z"}, headers=admin),
    }
    for status, response in answers.items():
        assert response.status_code == status, response.text
        conforms(response, "/api/branches/{branch}/tickets", "post")


def test_take_release_metrics_and_logout_match(api: Api) -> None:
    """take and release (200, 409), metrics (JSON and CSV) and logout (204, then 401) match the document."""
    staff = api.user("doc-taker", "staff", ["2"])
    path = "/api/branches/main/counters/2/{}"
    taken = post(api, path.format("take"), token=staff)
    assert taken.status_code == 200 and taken.json()["holder"] == "doc-taker"
    conforms(taken, f"{COUNTER}/take", "post")
    clash = counter(api, "2", "take")
    assert clash.status_code == 409 and clash.json()["error"]["state"] == "taken"
    released = post(api, path.format("release"), token=staff)
    assert released.status_code == 200 and released.json()["holder"] is None
    conforms(released, f"{COUNTER}/release", "post")
    free = post(api, path.format("release"), token=staff)
    assert free.status_code == 409 and free.json()["error"]["state"] == "free"
    conforms(free, f"{COUNTER}/release", "post")

    for output in ("json", "csv"):
        report = api.http.get(f"/api/branches/main/metrics?format={output}", headers=api.auth(api.admin()))
        assert report.status_code == 200, report.text
        conforms(report, "/api/branches/{branch}/metrics", "get")

    session = api.login("doc-taker", "pw-doc-taker-123")
    ended = api.http.post("/api/logout", headers=api.auth(session))
    assert ended.status_code == 204
    conforms(ended, "/api/logout", "post")
    after = api.http.get("/api/branches/main/state", headers=api.auth(session))
    assert after.status_code == 401
    conforms(after, "/api/branches/{branch}/state", "get")


def test_session_accounts_notice_audit_and_devices_match(api: Api) -> None:
    """Session, account list and change, notices, audit log and devices match the document."""
    admin = api.auth(api.admin())
    session = api.http.get("/api/session", headers=admin)
    assert session.status_code == 200
    conforms(session, "/api/session", "get")
    listed = api.http.get("/api/users", headers=admin)
    assert listed.status_code == 200
    conforms(listed, "/api/users", "get")
    api.user("doc-patched", "staff", ["1"])
    for body, status in [({"counters": ["1", "2"]}, 200), ({"password": "short"}, 422), ({"role": "admin"}, 422)]:
        changed = api.http.patch("/api/users/doc-patched", json=body, headers=admin)
        assert changed.status_code == status, changed.text
        conforms(changed, "/api/users/{username}", "patch")
    missing = api.http.patch("/api/users/nobody-here", json={"disabled": True}, headers=admin)
    assert missing.status_code == 404
    conforms(missing, "/api/users/{username}", "patch")

    body = {"text_zh": "系统维护", "text_en": "Maintenance", "emergency": True}
    notice = post(api, "/api/branches/main/notice", body)
    assert notice.status_code == 200
    conforms(notice, "/api/branches/{branch}/notice", "post")
    state = api.http.get("/api/branches/main/state", headers=admin)
    assert state.json()["notice"]["text_en"] == "Maintenance"
    conforms(state, "/api/branches/{branch}/state", "get")
    cleared = post(api, "/api/branches/main/notice", {})
    assert cleared.status_code == 200
    conforms(cleared, "/api/branches/{branch}/notice", "post")
    assert api.state()["notice"] is None

    audit = api.http.get("/api/branches/main/audit?count=5", headers=admin)
    assert audit.status_code == 200 and len(audit.json()["entries"]) == 5
    conforms(audit, "/api/branches/{branch}/audit", "get")
    devices = api.http.get("/api/branches/main/devices", headers=admin)
    assert devices.status_code == 200
    conforms(devices, "/api/branches/{branch}/devices", "get")


def test_a_displays_voices_in_the_devices_report_match(api: Api) -> None:
    """Connected displays, one without an English voice, one with no voice at all, match the document."""
    admin = api.auth(api.admin())
    base = str(api.http.base_url).rstrip("/").replace("http://", "ws://", 1)
    with contextlib.ExitStack() as screens:
        for name, voices in (("tv-doc-1", {"zh": True, "en": False}), ("tv-doc-2", {"zh": False, "en": False})):
            screen = screens.enter_context(
                connect_sync(f"{base}/ws/branches/main/display?token={api.user(name, 'display')}")
            )
            screen.recv()  # the snapshot
            screen.send(json.dumps({"type": "health", "voices": voices}))
        deadline = time.monotonic() + 10
        while sum(1 for d in listed(api, admin) if d["device"].startswith("tv-doc-") and d["voices"]) < 2:
            assert time.monotonic() < deadline, "no voices reported"
            time.sleep(0.05)
        devices = api.http.get("/api/branches/main/devices", headers=admin)
    statuses = {d["device"]: d["status"] for d in devices.json()["devices"]}
    assert (statuses["tv-doc-1"], statuses["tv-doc-2"]) == ("ok", "chime_only")
    conforms(devices, "/api/branches/{branch}/devices", "get")


def listed(api: Api, headers: dict[str, str]) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = api.http.get("/api/branches/main/devices", headers=headers).json()["devices"]
    return devices


def test_configuration_changes_match(api: Api) -> None:
    """Reading and changing the configuration (200, 404, 409, 422) match the document; changes are undone."""
    admin = api.auth(api.admin())
    base = "/api/branches/main/config"
    read = api.http.get(base, headers=admin)
    assert read.status_code == 200
    conforms(read, "/api/branches/{branch}/config", "get")
    name = read.json()["branch"]["name_en"]
    service, counter = "/config/services/{service}", "/config/counters/{counter}"
    answers = [
        ("put", f"{base}/branch", {"name_en": "Doc branch"}, 200, "/config/branch"),
        ("put", f"{base}/branch", {"name_en": name}, 200, "/config/branch"),
        ("put", f"{base}/branch", {"number_width": 9}, 422, "/config/branch"),
        ("put", f"{base}/hours", {"closed_dates": []}, 200, "/config/hours"),
        ("put", f"{base}/services/D", {"name_zh": "外汇", "name_en": "Foreign exchange"}, 422, service),
        ("put", f"{base}/counters/5", {"services": ["A"], "initial_status": "closed"}, 200, counter),
        ("delete", f"{base}/counters/5", None, 200, counter),
        ("delete", f"{base}/counters/2", None, 409, counter),
        ("delete", f"{base}/services/Z", None, 404, service),
    ]
    issue(api, "A")
    answers.append(("delete", f"{base}/services/A", None, 409, service))
    for method, path, body, status, template in answers:
        response = api.http.request(method.upper(), path, json=body, headers=admin)
        assert response.status_code == status, (path, response.text)
        conforms(response, f"/api/branches/{{branch}}{template}", method)
    assert [c["id"] for c in api.http.get(base, headers=admin).json()["counters"]] == ["1", "2", "3", "4"]
