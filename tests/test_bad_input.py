"""Bad requests to every endpoint get the right status and error code, and change nothing.

One server serves the whole module, set up once as a branch in mid-morning: counter 1 serving a
ticket, counter 2 open and idle, counter 3 paused, counter 4 closed, tickets served, no-show and
waiting. Each test sends one bad request and compares the branch before and after: GET state, the
event stream's length and every key of the branch and of the accounts.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
import redis

from server import keyring, keys
from server.auth import Identity, Role, TokenSigner
from server.openapi import document
from tests.conftest import Api
from tests.servers import ServerProcess
from tests.test_openapi import conforms

BRANCH = "/api/branches/main"
pytestmark = pytest.mark.redis
DOC = document()
#: One past the body limit (Settings.max_body_bytes).
OVERSIZED = b'{"pad": "' + b"x" * (16 * 1024) + b'"}'


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    #: Path with {placeholders} for the world's ticket ids; the branch is "main", the counter "2".
    path: str
    #: The path as the OpenAPI document spells it.
    doc: str
    #: A body the endpoint would accept; None for GET.
    body: dict[str, Any] | None = None
    #: Whose token it is sent with by default; None sends none.
    auth: str | None = "admin"


COUNTER = "/api/branches/{branch}/counters/{counter}"
CONFIG = "/api/branches/{branch}/config"
ACTION_BODIES: dict[str, dict[str, Any]] = {
    "call-next": {},
    "call": {"number": "A004"},
    "recall": {},
    "finish": {},
    "no-show": {},
    "transfer": {"service": "B"},
    "reactivate": {"number": "A003"},
    "open": {},
    "pause": {"reason": "lunch"},
    "close": {},
    "take": {},
    "release": {},
}
ENDPOINTS: dict[str, Endpoint] = {
    e.name: e
    for e in [
        Endpoint("login", "POST", "/api/login", "/api/login", {"username": "nobody", "password": "secret"}, None),
        Endpoint("logout", "POST", "/api/logout", "/api/logout"),
        Endpoint("users", "POST", "/api/users", "/api/users",
                 {"username": "newcomer", "password": "long-enough", "role": "staff", "counters": ["2"]}),
        Endpoint("branch", "GET", BRANCH, "/api/branches/{branch}", auth=None),
        Endpoint("state", "GET", f"{BRANCH}/state", "/api/branches/{branch}/state"),
        Endpoint("metrics", "GET", f"{BRANCH}/metrics", "/api/branches/{branch}/metrics"),
        Endpoint("issue", "POST", f"{BRANCH}/tickets", "/api/branches/{branch}/tickets", {"service": "A"}),
        Endpoint("ticket", "GET", f"{BRANCH}/tickets/{{waiting}}", "/api/branches/{branch}/tickets/{ticket}",
                 auth=None),
        Endpoint("cancel", "POST", f"{BRANCH}/tickets/{{waiting}}/cancel",
                 "/api/branches/{branch}/tickets/{ticket}/cancel", {}, None),
        Endpoint("ticket-transfer", "POST", f"{BRANCH}/tickets/{{waiting}}/transfer",
                 "/api/branches/{branch}/tickets/{ticket}/transfer", {"service": "B"}),
        *[Endpoint(f"counter-{action}", "POST", f"{BRANCH}/counters/2/{action}", f"{COUNTER}/{action}", body)
          for action, body in ACTION_BODIES.items()],
        Endpoint("health", "GET", "/healthz", "/healthz", auth=None),
        Endpoint("openapi", "GET", "/api/openapi.json", "/api/openapi.json", auth=None),
        Endpoint("session", "GET", "/api/session", "/api/session"),
        Endpoint("users-list", "GET", "/api/users", "/api/users"),
        Endpoint("user-change", "PATCH", "/api/users/staff2", "/api/users/{username}", {"disabled": False}),
        Endpoint("config", "GET", f"{BRANCH}/config", f"{CONFIG}"),
        Endpoint("config-branch", "PUT", f"{BRANCH}/config/branch", f"{CONFIG}/branch", {"name_en": "Demo branch"}),
        Endpoint("config-hours", "PUT", f"{BRANCH}/config/hours", f"{CONFIG}/hours", {"closed_dates": []}),
        # Service C has no ticket and counter 4 is closed: only the token stands between these and success.
        Endpoint("config-service", "PUT", f"{BRANCH}/config/services/C", f"{CONFIG}/services/{{service}}",
                 {"name_en": "Enquiries"}),
        Endpoint("config-service-delete", "DELETE", f"{BRANCH}/config/services/C", f"{CONFIG}/services/{{service}}"),
        Endpoint("config-counter", "PUT", f"{BRANCH}/config/counters/4", f"{CONFIG}/counters/{{counter}}",
                 {"name_en": "Counter 4"}),
        Endpoint("config-counter-delete", "DELETE", f"{BRANCH}/config/counters/4", f"{CONFIG}/counters/{{counter}}"),
        Endpoint("notice", "POST", f"{BRANCH}/notice", "/api/branches/{branch}/notice", {"text_en": "Closing soon"}),
        Endpoint("emergency", "POST", f"{BRANCH}/emergency", "/api/branches/{branch}/emergency", {"kind": "closure"}),
        Endpoint("emergency-end", "DELETE", f"{BRANCH}/emergency", "/api/branches/{branch}/emergency"),
        Endpoint("audit", "GET", f"{BRANCH}/audit", "/api/branches/{branch}/audit"),
        Endpoint("devices", "GET", f"{BRANCH}/devices", "/api/branches/{branch}/devices"),
    ]
}  # fmt: skip
#: Endpoints that act on the token's own session, whatever branch it names.
SESSION_ONLY = ("logout", "session")
WITH_BODY = [e for e in ENDPOINTS.values() if e.body is not None]
WITH_TOKEN = [e for e in ENDPOINTS.values() if e.auth is not None]
IN_BRANCH = [e for e in ENDPOINTS.values() if e.path.startswith(BRANCH)]
COUNTER_ACTIONS = [e for e in ENDPOINTS.values() if e.name.startswith("counter-")]


@dataclass(frozen=True)
class Case:
    id: str
    endpoint: Endpoint
    status: int
    code: str
    #: Replaces the endpoint's path (same placeholders).
    path: str | None = None
    method: str | None = None
    #: Raw body; None sends the endpoint's valid body as JSON.
    content: bytes | None = None
    json: Any = None
    #: Send the body in chunks, without Content-Length.
    chunked: bool = False
    #: Whose authorization to send (a key of World.authorizations); None keeps the endpoint's.
    auth: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    #: 422: the field the error must name; 409: the state it must name.
    field: str | None = None
    state: str | None = None
    #: Whether the document describes the answer (not for undocumented paths and methods).
    documented: bool = True


#: Cases that fail because of a known bug in server/admin_api.py, reported with its fix; strict, so
#: a fixed bug turns its case red until the mark is removed.
KNOWN_BUGS: dict[str, str] = {}


def case(name: str, endpoint: Endpoint, status: int, code: str, **kwargs: Any) -> Any:
    case_id = f"{endpoint.name}-{name}"
    marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[case_id])] if case_id in KNOWN_BUGS else []
    return pytest.param(Case(name, endpoint, status, code, **kwargs), id=case_id, marks=marks)


@dataclass
class Snapshot:
    state: dict[str, Any]
    events: int
    stored: dict[bytes, object]


@dataclass
class World:
    api: Api
    redis: redis.Redis
    ids: dict[str, str]
    authorizations: dict[str, bytes | str | None]

    def snapshot(self) -> Snapshot:
        state = self.api.state()
        # Not the audit log (recording refused attempts there would be right) nor the metrics,
        # which a background consumer derives from the events at its own pace.
        derived = tuple(f"{keys.branch_prefix('main')}{name}".encode() for name in ("audit", "metrics:"))
        found = [
            key
            for pattern in (f"{keys.branch_prefix('main')}*", keys.user("*"), keys.users(), keys.signing_secret())
            for key in self.redis.scan_iter(match=pattern, count=1000)
            if not key.startswith(derived)
        ]
        return Snapshot(state, int(self.redis.xlen(keys.events("main"))), read(self.redis, found))

    def send(self, c: Case) -> httpx.Response:
        endpoint = c.endpoint
        headers: dict[str, Any] = dict(c.headers)
        authorization = self.authorizations[c.auth or endpoint.auth or "none"]
        if authorization is not None:
            headers["Authorization"] = authorization
        content: Any = None
        if c.content is not None:
            content = c.content
        elif c.json is not None:
            content = json.dumps(c.json).encode()
        elif endpoint.body is not None:
            content = json.dumps(endpoint.body).encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
            if c.chunked:
                content = iter([content[:1000], content[1000:]])
        path = (c.path or endpoint.path).format(**self.ids)
        return self.api.http.request(c.method or endpoint.method, path, content=content, headers=headers)


def read(client: redis.Redis, found: list[bytes]) -> dict[bytes, object]:
    """The keys' contents by type. Not DUMP: a hash's serialised field order changes as Redis rehashes."""
    with client.pipeline(transaction=False) as pipe:
        for key in found:
            pipe.type(key)
        kinds = pipe.execute()
    with client.pipeline(transaction=False) as pipe:
        for key, kind in zip(found, kinds, strict=True):
            if kind == b"hash":
                pipe.hgetall(key)
            elif kind == b"set":
                pipe.smembers(key)
            elif kind == b"zset":
                pipe.zrange(key, 0, -1, withscores=True)
            elif kind == b"list":
                pipe.lrange(key, 0, -1)
            elif kind == b"stream":
                pipe.xrange(key)
            else:
                pipe.get(key)
        return dict(zip(found, pipe.execute(), strict=True))


def make_token(signer: TokenSigner, username: str, role: Role, branch: str, expires_in: float) -> str:
    return signer.issue(Identity(username, role, branch, frozenset(), time.time() + expires_in))


def tampered(token: str) -> str:
    """The token with its payload rewritten to claim admin, its signature kept."""
    prefix, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(role="admin", branch="*")
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{prefix}.{forged}.{signature}"


@pytest.fixture(scope="module")
def world(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The module's server and branch (see the module docstring), built through the API.

    The conftest ``redis_client`` fixture must not be used in this module: it would empty the
    database under this server, accounts included.
    """
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    server = ServerProcess(tmp_path_factory.mktemp("bad-input"), redis_url).start()
    api = Api(server.url)
    try:
        tokens = {
            "admin": api.admin(),
            "manager": api.user("manager", "manager"),
            "staff1": api.user("staff1", "staff", ["1"]),
            "staff2": api.user("staff2", "staff", ["2"]),
            "staff12": api.user("staff12", "staff", ["1", "2"]),
            "kiosk": api.user("kiosk", "kiosk"),
            "display": api.user("display", "display"),
        }
        real = TokenSigner(keyring.read(server.secret_key_file).signing_key)
        # An admin of a branch this server does not serve (as that branch's own server stores it):
        # tokens are checked against their account, so "elsewhere" needs a real one to be a 403.
        client.hset(keys.user("far"), mapping={"role": "admin", "branch": "elsewhere", "disabled": "0"})
        authorizations: dict[str, bytes | str | None] = {name: f"Bearer {t}" for name, t in tokens.items()}
        authorizations.update(
            {
                "none": None,
                "basic": "Basic YWRtaW46dGVzdA==",
                "empty": "Bearer",
                "garbage": "Bearer garbage",
                "forged": f"Bearer {make_token(TokenSigner(b'not the secret'), 'admin', Role.ADMIN, '*', 3600)}",
                "expired": f"Bearer {make_token(real, 'admin', Role.ADMIN, '*', -60)}",
                "tampered": f"Bearer {tampered(tokens['staff1'])}",
                "non-ascii": b"Bearer nxt1.\xe9t\xe9.\xe9t\xe9",
                "elsewhere": f"Bearer {make_token(real, 'far', Role.ADMIN, 'elsewhere', 3600)}",
            }
        )
        ids = {}
        for name in ("served", "called", "no_show", "waiting", "waiting_b"):
            ticket = api.issue("B" if name == "waiting_b" else "A")
            ids[name] = ticket["id"]
        assert api.counter("1", "call-next").json()["id"] == ids["served"]
        assert api.counter("1", "finish").json()["status"] == "served"
        assert api.counter("1", "call-next").json()["id"] == ids["called"]
        assert api.counter("2", "call-next").json()["id"] == ids["no_show"]
        assert api.counter("2", "no-show").json()["status"] == "no_show"
        # Its no-show happened long ago, past the reactivation window.
        client.hset(keys.ticket("main", ids["no_show"]), "no_show_ms", 0)
        assert api.counter("3", "pause", {"reason": "lunch"}).status_code == 200
        assert api.counter("4", "close").status_code == 200
        taken = api.http.post(f"{BRANCH}/counters/1/take", headers=api.auth(tokens["staff1"]))
        assert taken.json()["holder"] == "staff1"
        counters = {c["id"]: (c["status"], c["current"] and c["current"]["number"]) for c in api.state()["counters"]}
        assert counters == {"1": ("open", "A002"), "2": ("open", None), "3": ("paused", None), "4": ("closed", None)}
        yield World(api, client, ids, authorizations)
    finally:
        api.close()
        server.stop()
        client.close()


def refused(world: World, c: Case) -> httpx.Response:
    """Send the case, check status, code, named field or state and the document; nothing changed."""
    before = world.snapshot()
    response = world.send(c)
    assert response.status_code == c.status, response.text
    error = response.json()["error"]
    assert error["code"] == c.code, error
    assert error["message"]
    if c.field is not None:
        assert error["field"] == c.field, error
    if c.state is not None:
        assert error["state"] == c.state, error
    if c.documented:
        conforms(response, c.endpoint.doc, c.method or c.endpoint.method)
    after = world.snapshot()
    assert after.state == before.state
    assert after.events == before.events
    assert after.stored == before.stored
    return response


MALFORMED = {
    "truncated": b'{"service": "A"',
    "missing-value": b'{"service": }',
    "single-quotes": b"{'service': 'A'}",
    "not-utf8": b'{"service": "\xff\xfe"}',
    "deeply-nested": b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "lone-surrogate": b'{"service": "A", "reason": "\\ud800", "number": "\\udc00"}',
    "array": b'[{"service": "A"}]',
    "string": b'"service"',
    "number": b"42",
    "null": b"null",
    "true": b"true",
}


@pytest.mark.parametrize(
    "c", [case(name, e, 400, "malformed", content=body) for e in WITH_BODY for name, body in MALFORMED.items()]
)
def test_body_that_is_not_a_json_object_is_400_malformed(world: World, c: Case) -> None:
    """A body that is not JSON, or JSON but not an object, is 400 malformed."""
    refused(world, c)


@pytest.mark.parametrize(
    "c",
    [case("declared", e, 413, "too_large", content=OVERSIZED) for e in WITH_BODY]
    + [case("chunked", e, 413, "too_large", content=OVERSIZED, chunked=True) for e in WITH_BODY],
)
def test_body_over_16_kib_is_413_too_large(world: World, c: Case) -> None:
    """A body past 16 KiB is 413 too_large, whether its length is declared or it comes in chunks."""
    refused(world, c)


def test_body_of_exactly_16_kib_is_read(world: World) -> None:
    """The limit is inclusive: a 16 KiB body is parsed (here: a login with a wrong password, 401)."""
    body = {"username": "admin", "password": "wrong", "pad": ""}
    body["pad"] = "x" * (16 * 1024 - len(json.dumps(body)))
    content = json.dumps(body).encode()
    assert len(content) == 16 * 1024
    refused(world, Case("exact", ENDPOINTS["login"], 401, "unauthorized", content=content))


def _wrong_fields() -> list[Any]:
    e = ENDPOINTS
    cases: list[tuple[Endpoint, str, str, dict[str, Any]]] = []

    def bad(endpoint: Endpoint, name: str, field_name: str, **values: Any) -> None:
        cases.append((endpoint, name, field_name, {**(endpoint.body or {}), **values}))

    def text(endpoint: Endpoint, name: str, max_length: int) -> None:
        for label, value in [("int", 7), ("null", None), ("list", ["A"]), ("object", {"a": 1}), ("bool", True),
                             ("empty", ""), ("blank", " \t\u3000"), ("too-long", "x" * (max_length + 1))]:
            bad(endpoint, f"{name}-{label}", name, **{name: value})
        cases.append((endpoint, f"{name}-missing", name,
                      {k: v for k, v in (endpoint.body or {}).items() if k != name}))  # fmt: skip

    text(e["login"], "username", 64)
    text(e["login"], "password", 1024)
    text(e["users"], "username", 64)
    bad(e["users"], "username-spaces-inside", "username", username="two words")
    text(e["users"], "password", 1024)
    bad(e["users"], "password-short", "password", password="  seven  ")
    text(e["users"], "role", 16)
    bad(e["users"], "role-unknown", "role", role="owner")
    bad(e["users"], "branch-int", "branch", branch=1)
    bad(e["users"], "branch-empty", "branch", branch="")
    bad(e["users"], "branch-other", "branch", branch="elsewhere")
    bad(e["users"], "branch-every-for-staff", "branch", branch="*")
    bad(e["users"], "counters-string", "counters", counters="2")
    bad(e["users"], "counters-ints", "counters", counters=[2])
    bad(e["users"], "counters-null", "counters", counters=None)
    bad(e["users"], "counters-unknown", "counters", counters=["2", "9"])
    for endpoint in (e["issue"], e["ticket-transfer"], e["counter-transfer"]):
        text(endpoint, "service", 32)
        bad(endpoint, "service-unknown", "service", service="Z")
        bad(endpoint, "service-lowercase", "service", service="a")
    for value_name, value in [("string", "yes"), ("int", 1), ("null", None)]:
        bad(e["issue"], f"priority-{value_name}", "priority", priority=value)
    for endpoint in (e["counter-call"], e["counter-reactivate"]):
        text(endpoint, "number", 8)
        for label, value in [("no-letter", "007"), ("no-digit", "A"), ("three-letters", "ABC1"),
                             ("seven-digits", "A1234567"), ("dash", "A-07")]:
            bad(endpoint, f"number-{label}", "number", number=value)
    text(e["counter-pause"], "reason", 200)
    # Already in that service: counter 1's ticket and the waiting ticket are in A.
    bad(e["ticket-transfer"], "service-same", "service", service="A")
    result = [case(name, endpoint, 422, "invalid_field", json=body, field=field_name)
              for endpoint, name, field_name, body in cases]  # fmt: skip
    bad(e["user-change"], "password-int", "password", password=8)
    bad(e["user-change"], "password-short", "password", password="short")
    bad(e["user-change"], "password-blank", "password", password="   ")
    bad(e["user-change"], "disabled-string", "disabled", disabled="yes")
    bad(e["user-change"], "disabled-null", "disabled", disabled=None)
    bad(e["user-change"], "counters-string", "counters", counters="1")
    bad(e["user-change"], "counters-unknown", "counters", counters=["9"])
    bad(e["user-change"], "unknown-field", "role", role="admin")
    for endpoint, values in [
        (e["config-branch"], [{"number_width": 9}, {"timezone": "Mars/Olympus"}, {"allow_priority": "yes"},
                              {"name_en": " "}]),
        (e["config-hours"], [{"mon": "25:00-26:00"}, {"tue": "17:00-08:30"}, {"closed_dates": ["someday"]}]),
        (e["config-service"], [{"prefix": "A"}, {"prefix": "c1"}, {"daily_cap": -1}, {"target_wait_min": "10"}]),
        (e["config-counter"], [{"services": []}, {"services": ["Z"]}, {"initial_status": "paused"}]),
    ]:
        for index, value in enumerate(values):
            cases.append((endpoint, f"config-{index}", "config", value))
    for endpoint, unknown in [(e["config-branch"], "id"), (e["config-hours"], "funday"),
                              (e["config-service"], "colour"), (e["config-counter"], "id")]:
        cases.append((endpoint, f"unknown-{unknown}", unknown, {unknown: "x"}))
    for name in ("text_zh", "text_en"):
        for label, value in [("int", 5), ("empty", ""), ("blank", " "), ("too-long", "x" * 501)]:
            bad(e["notice"], f"{name}-{label}", name, **{name: value})
    bad(e["notice"], "emergency-string", "emergency", emergency="yes")
    metrics = f"{BRANCH}/metrics"
    for name, query, field_name in [
        ("from-not-a-date", "from=yesterday", "from"),
        ("to-not-a-date", "to=2026-13-01", "to"),
        ("from-after-to", "from=2026-02-01&to=2026-01-01", "from"),
        ("range-too-long", "from=2020-01-01&to=2026-01-01", "to"),
        ("format", "format=xml", "format"),
    ]:
        result.append(case(name, e["metrics"], 422, "invalid_field", path=f"{metrics}?{query}", field=field_name))
    for name, count in [("zero", "0"), ("too-many", "1001"), ("word", "ten"), ("negative", "-1")]:
        result.append(case(f"count-{name}", e["audit"], 422, "invalid_field", path=f"{BRANCH}/audit?count={count}",
                           field="count"))  # fmt: skip
    self_disable = replace(e["user-change"], path="/api/users/admin")
    result.append(case("disable-self", self_disable, 422, "invalid_field", json={"disabled": True}, field="disabled"))
    result.append(case("idempotency-key", e["issue"], 422, "invalid_field", field="Idempotency-Key",
                       headers={"Idempotency-Key": "has spaces"}))  # fmt: skip
    result.append(case("idempotency-key-long", e["issue"], 422, "invalid_field", field="Idempotency-Key",
                       headers={"Idempotency-Key": "k" * 101}))  # fmt: skip
    return result


@pytest.mark.parametrize("c", _wrong_fields())
def test_wrong_or_missing_field_is_422_naming_the_field(world: World, c: Case) -> None:
    """A missing field, a wrong type, a blank or too long string or an unknown value is 422 with `field`."""
    refused(world, c)


def test_transfer_of_counter_ticket_to_its_own_service_is_422(world: World) -> None:
    """Transferring counter 1's current ticket (service A) to A is 422 invalid_field service."""
    endpoint = replace(ENDPOINTS["counter-transfer"], path=f"{BRANCH}/counters/1/transfer")
    refused(world, Case("same", endpoint, 422, "invalid_field", json={"service": "A"}, field="service"))


def _unknown_ids() -> list[Any]:
    cases = [case("branch", e, 404, "not_found", path=e.path.replace(BRANCH, "/api/branches/nope"))
             for e in IN_BRANCH]  # fmt: skip
    cases += [case("counter", e, 404, "not_found", path=e.path.replace("/counters/2/", "/counters/9/"))
              for e in COUNTER_ACTIONS]  # fmt: skip
    for e in (ENDPOINTS["ticket"], ENDPOINTS["cancel"], ENDPOINTS["ticket-transfer"]):
        cases.append(case("ticket", e, 404, "not_found", path=e.path.replace("{waiting}", "A" * 22)))
        cases.append(case("ticket-shape", e, 404, "not_found", path=e.path.replace("{waiting}", "not.an.id")))
    for e in (ENDPOINTS["counter-call"], ENDPOINTS["counter-reactivate"]):
        cases.append(case("number", e, 404, "not_found", json={"number": "A999"}))
        cases.append(case("number-other-service", e, 404, "not_found", json={"number": "C001"}))
    cases += [
        case("service", ENDPOINTS["config-service-delete"], 404, "not_found", path=f"{BRANCH}/config/services/Z"),
        case("counter", ENDPOINTS["config-counter-delete"], 404, "not_found", path=f"{BRANCH}/config/counters/9"),
        case("user", ENDPOINTS["user-change"], 404, "not_found", path="/api/users/nobody"),
        case("user-shape", ENDPOINTS["user-change"], 404, "not_found", path="/api/users/no%20body"),
    ]
    undocumented = {"documented": False}
    cases += [
        case("action", ENDPOINTS["counter-call-next"], 404, "not_found",
             path=f"{BRANCH}/counters/2/dance", **undocumented),
        case("path", ENDPOINTS["branch"], 404, "not_found", path="/api/nope", **undocumented),
        case("counters-list", ENDPOINTS["branch"], 404, "not_found", path=f"{BRANCH}/counters", **undocumented),
    ]  # fmt: skip
    return cases


@pytest.mark.parametrize("c", _unknown_ids())
def test_unknown_branch_counter_ticket_or_number_is_404(world: World, c: Case) -> None:
    """An unknown branch, counter, action, ticket or ticket number is 404 not_found."""
    refused(world, c)


BAD_TOKENS = ["none", "basic", "empty", "garbage", "forged", "expired", "tampered", "non-ascii"]


@pytest.mark.parametrize(
    "c", [case(f"token-{t}", e, 401, "unauthorized", auth=t) for e in WITH_TOKEN for t in BAD_TOKENS]
)
def test_missing_or_bad_token_is_401(world: World, c: Case) -> None:
    """No token, another scheme, or a garbage, forged, expired, tampered or non-ASCII token is 401."""
    response = refused(world, c)
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "c",
    [
        case("wrong-password", ENDPOINTS["login"], 401, "unauthorized",
             json={"username": "admin", "password": "not-the-password"}),
        case("unknown-user", ENDPOINTS["login"], 401, "unauthorized",
             json={"username": "nobody", "password": "whatever"}),
        case("username-shape", ENDPOINTS["login"], 401, "unauthorized",
             json={"username": "no such user!", "password": "whatever"}),
    ],
)  # fmt: skip
def test_wrong_login_is_401(world: World, c: Case) -> None:
    """A wrong password, an unknown user or an impossible username is 401, the same for each."""
    response = refused(world, c)
    assert response.json()["error"]["message"] == "Wrong username or password"


def _wrong_roles() -> list[Any]:
    cases = []
    for e in WITH_TOKEN:
        allowed = set(DOC["paths"][e.doc][e.method.lower()]["x-roles"])
        cases += [case(f"role-{r.value}", e, 403, "forbidden", auth=r.value if r != Role.STAFF else "staff1")
                  for r in Role if r.value not in allowed]  # fmt: skip
        if e.name not in SESSION_ONLY:
            cases.append(case("other-branch", e, 403, "forbidden", auth="elsewhere"))
    # Staff act only at their own counters: staff1 works at counter 1, these are at counter 2.
    cases += [case("staff-of-counter-1", e, 403, "forbidden", auth="staff1") for e in COUNTER_ACTIONS]
    cases += [case("staff", ENDPOINTS["users"], 403, "forbidden", auth="staff2")]
    return cases


@pytest.mark.parametrize("c", _wrong_roles())
def test_wrong_role_branch_or_counter_is_403(world: World, c: Case) -> None:
    """A role the operation does not allow (its x-roles), another branch, or another counter is 403."""
    refused(world, c)


def _at(action: str, counter: str, **kwargs: Any) -> Callable[[str, str, str], Any]:
    endpoint = ENDPOINTS[f"counter-{action}"]
    moved = replace(endpoint, path=endpoint.path.replace("/counters/2/", f"/counters/{counter}/"))

    def make(name: str, code: str, state: str) -> Any:
        return case(f"{name}-{counter}", moved, 409, code, state=state, **kwargs)

    return make


ILLEGAL_TRANSITIONS = [
    # Counter 2: open, no current ticket.
    _at("finish", "2")("nothing-to-finish", "no_current_ticket", "open"),
    _at("no-show", "2")("nothing-to-miss", "no_current_ticket", "open"),
    _at("recall", "2")("nothing-to-recall", "no_current_ticket", "open"),
    _at("transfer", "2")("nothing-to-transfer", "no_current_ticket", "open"),
    _at("open", "2")("already-open", "invalid_state", "open"),
    _at("call", "2", json={"number": "A001"})("served-ticket", "invalid_state", "served"),
    _at("call", "2", json={"number": "A002"})("called-ticket", "invalid_state", "called"),
    _at("call", "2", json={"number": "A003"})("no-show-ticket", "invalid_state", "no_show"),
    _at("call", "2", json={"number": "B001"})("not-served-here", "not_served_here", "waiting"),
    # Counter 1: serving A002.
    _at("call-next", "1")("busy", "counter_busy", "serving"),
    _at("call", "1", json={"number": "A004"})("busy", "counter_busy", "serving"),
    _at("pause", "1")("busy", "counter_busy", "serving"),
    _at("close", "1")("busy", "counter_busy", "serving"),
    # Counter 3: paused.
    _at("call-next", "3")("paused", "counter_not_open", "paused"),
    _at("call", "3", json={"number": "B001"})("paused", "counter_not_open", "paused"),
    _at("pause", "3")("already-paused", "invalid_state", "paused"),
    _at("recall", "3")("nothing-to-recall", "no_current_ticket", "paused"),
    # Counter 4: closed.
    _at("call-next", "4")("closed", "counter_not_open", "closed"),
    _at("close", "4")("already-closed", "invalid_state", "closed"),
    _at("finish", "4")("nothing-to-finish", "no_current_ticket", "closed"),
    # Reactivation is for recent no-shows only.
    _at("reactivate", "2", json={"number": "A004"})("waiting-ticket", "invalid_state", "waiting"),
    _at("reactivate", "2", json={"number": "A001"})("served-ticket", "invalid_state", "served"),
    _at("reactivate", "2", json={"number": "A002"})("called-ticket", "invalid_state", "called"),
    _at("reactivate", "2", json={"number": "A003"})("old-no-show", "reactivation_window_passed", "no_show"),
    # Staff12 works at counters 1 and 2; staff1 has taken counter 1, nobody counter 2.
    _at("take", "1", auth="staff12")("taken-by-another", "counter_taken", "taken"),
    _at("release", "1", auth="staff12")("taken-by-another", "counter_taken", "taken"),
    _at("release", "2", auth="staff12")("not-taken", "not_taken", "free"),
]
for _name, _ticket, _state in [("served", "served", "served"), ("called", "called", "called"),
                               ("no-show", "no_show", "no_show")]:  # fmt: skip
    ILLEGAL_TRANSITIONS.append(
        case(f"cancel-{_name}", ENDPOINTS["cancel"], 409, "invalid_state", state=_state,
             path=ENDPOINTS["cancel"].path.replace("{waiting}", f"{{{_ticket}}}"))
    )  # fmt: skip
    if _ticket != "called":
        ILLEGAL_TRANSITIONS.append(
            case(f"transfer-{_name}", ENDPOINTS["ticket-transfer"], 409, "invalid_state", state=_state,
                 path=ENDPOINTS["ticket-transfer"].path.replace("{waiting}", f"{{{_ticket}}}"))
        )  # fmt: skip


@pytest.mark.parametrize("c", ILLEGAL_TRANSITIONS)
def test_illegal_transition_is_409_naming_the_state(world: World, c: Case) -> None:
    """An action the counter's or ticket's current state does not allow is 409 naming that state."""
    refused(world, c)


def test_existing_username_is_409_exists(world: World) -> None:
    """Creating an account whose username is taken is 409 exists."""
    body = {"username": "staff1", "password": "long-enough", "role": "staff", "counters": ["2"]}
    refused(world, Case("exists", ENDPOINTS["users"], 409, "exists", json=body))


@pytest.mark.parametrize(
    "c",
    [case(f"method-{m}", e, 405, "method_not_allowed", method=m, documented=False)
     for e in ENDPOINTS.values() for m in ("GET", "POST", "PUT", "DELETE", "PATCH")
     if m.lower() not in DOC["paths"][e.doc] and not (e.method == "GET" and m == "HEAD")],
)  # fmt: skip
def test_unknown_method_is_405(world: World, c: Case) -> None:
    """A method an endpoint does not have is 405 method_not_allowed."""
    response = refused(world, c)
    # Only methods the path has. (Not always all of them: where two routes share a path, Starlette
    # names the first route's methods only.)
    allowed = {m.strip().lower() for m in response.headers["allow"].split(",")}
    assert allowed and allowed <= {*DOC["paths"][c.endpoint.doc], "head"}


@pytest.mark.parametrize(
    "c",
    [
        case("busy-service", ENDPOINTS["config-service-delete"], 409, "service_busy", state="waiting",
             path=f"{BRANCH}/config/services/A"),
        case("open-counter", ENDPOINTS["config-counter-delete"], 409, "counter_not_closed", state="open",
             path=f"{BRANCH}/config/counters/2"),
    ],
)  # fmt: skip
def test_removing_a_service_in_use_or_an_open_counter_is_409(world: World, c: Case) -> None:
    """Removing a service with waiting tickets or a counter that is not closed is 409 naming the state."""
    refused(world, c)


@pytest.mark.parametrize(
    "c",
    [
        case("cookie-without-csrf", ENDPOINTS["issue"], 403, "csrf", auth="none"),
        case("cookie-other-origin", ENDPOINTS["issue"], 403, "forbidden", auth="none",
             headers={"Origin": "https://evil.example"}),
    ],
)  # fmt: skip
def test_cookie_session_change_needs_csrf_token_and_own_origin(world: World, c: Case) -> None:
    """A change sent with the session cookie but no X-CSRF-Token, or from another site, is 403."""
    token = str(world.authorizations["admin"]).removeprefix("Bearer ")
    cookie = replace(c, headers={**c.headers, "Cookie": f"nextup_session={token}"})
    refused(world, cookie)


@pytest.mark.parametrize(
    "c",
    [
        case("busy-service-anonymous", ENDPOINTS["config-service-delete"], 401, "unauthorized", auth="none",
             path=f"{BRANCH}/config/services/A"),
        case("open-counter-anonymous", ENDPOINTS["config-counter-delete"], 401, "unauthorized", auth="none",
             path=f"{BRANCH}/config/counters/2"),
    ],
)  # fmt: skip
def test_configuration_removal_without_token_is_401_whatever_the_state(world: World, c: Case) -> None:
    """Without a token, removing a service or counter is 401 before anything about them is revealed."""
    refused(world, c)
