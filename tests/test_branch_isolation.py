"""Two branches on one Redis: an admin of one branch reaches nothing of the other.

The module runs two ``nextup serve`` processes on one Redis, once for all its tests: one serves the
demo branch ``main`` (no --config), the other a branch ``north`` from a TOML file. ``admin`` (the
first admin, of all branches: ``*``) creates ``north_admin`` (an admin of north) and accounts of
main. The conftest ``redis_client`` fixture must not be used here: it would empty the database
under both servers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server import keyring
from server.events import CloseCode
from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis

NORTH = """\
[branch]
id = "north"
name_zh = "北区营业厅"
name_en = "North"
timezone = "Asia/Shanghai"

[[services]]
id = "A"
name_zh = "个人业务"
name_en = "Personal"

[[counters]]
id = "1"
services = ["A"]
initial_status = "open"

[[counters]]
id = "2"
services = ["A"]
"""

PASSWORD = "a-long-password-1"


@dataclass
class Branches:
    main: ServerProcess
    north: ServerProcess
    star: Api  # the first admin (branch "*"), on main's process
    on_north: Api  # a client of north's process
    north_admin: str  # token of an admin of branch north
    ticket: str  # a waiting ticket of main
    complaint: str  # an open complaint of main

    def api(self, which: str) -> Api:
        return self.star if which == "main" else self.on_north

    def server(self, which: str) -> ServerProcess:
        return self.main if which == "main" else self.north


@pytest.fixture(scope="module")
def branches(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Branches]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    folder = tmp_path_factory.mktemp("branches")
    config = folder / "north.toml"
    config.write_text(NORTH, encoding="utf-8")
    # One installation: both processes sign with the same keys (NEXTUP_SECRET_KEY_FILE).
    shared_keys = folder / "secrets.json"
    keyring.create(shared_keys, keyring.Keyring.new())
    main = ServerProcess(folder / "main", redis_url, secret_key_file=shared_keys).start()
    north = ServerProcess(folder / "north", redis_url, config, secret_key_file=shared_keys).start()
    star, on_north = Api(main.url), Api(north.url)
    try:
        created = on_north.http.post("/api/users", headers=on_north.auth(on_north.admin()), json={
            "username": "north_admin", "password": PASSWORD, "role": "admin"})  # fmt: skip
        assert created.status_code == 201, created.text
        auth = star.auth(star.admin())
        for username, role, counters in (("main_staff", "staff", ["1"]), ("main_admin", "admin", [])):
            response = star.http.post("/api/users", headers=auth, json={
                "username": username, "password": PASSWORD, "role": role, "counters": counters})  # fmt: skip
            assert response.status_code == 201, response.text
        ticket = star.issue("A")["id"]
        filed = star.http.post(f"/api/branches/main/tickets/{ticket}/complaints", json={"text": "slow"})
        assert filed.status_code == 201, filed.text
        yield Branches(main, north, star, on_north, on_north.login("north_admin", PASSWORD), ticket,
                       filed.json()["id"])  # fmt: skip
    finally:
        star.close()
        on_north.close()
        north.stop()
        main.stop()
        client.close()


def main_at_rest(b: Branches) -> Any:
    """What a refused request must leave unchanged: main's state, configuration, audit and accounts."""
    auth = b.star.auth(b.star.admin())
    state = b.star.state()
    state.pop("now", None)
    config = b.star.http.get("/api/branches/main/config", headers=auth).json()
    audit = b.star.http.get("/api/branches/main/audit", headers=auth).json()
    users = b.star.http.get("/api/users", headers=auth).json()
    return state, config, audit, users


#: Every endpoint of branch main that needs a token: (method, path, body).
MAIN_ENDPOINTS = [
    ("GET", "/api/branches/main/state", None),
    ("GET", "/api/branches/main/config", None),
    ("PUT", "/api/branches/main/config/branch", {"name_en": "Taken"}),
    ("PUT", "/api/branches/main/config/hours", {"sun": "closed"}),
    ("PUT", "/api/branches/main/config/services/Z", {"name_zh": "z", "name_en": "Z", "counters": ["1"]}),
    ("DELETE", "/api/branches/main/config/services/C", None),
    ("PUT", "/api/branches/main/config/counters/1", {"name_en": "Taken"}),
    ("DELETE", "/api/branches/main/config/counters/4", None),
    ("GET", "/api/branches/main/audit", None),
    ("POST", "/api/branches/main/notice", {"text_en": "Closed", "text_zh": "关闭"}),
    ("POST", "/api/branches/main/tickets", {"service": "A"}),
    ("POST", "/api/branches/main/tickets/{ticket}/transfer", {"service": "B"}),
    *[("POST", f"/api/branches/main/counters/1/{action}", body) for action, body in (
        ("call-next", {}), ("call", {"number": "A001"}), ("recall", {}), ("finish", {}), ("no-show", {}),
        ("transfer", {"service": "B"}), ("reactivate", {"number": "A001"}), ("open", {}),
        ("pause", {"reason": "x"}), ("close", {}), ("take", {}), ("release", {}))],
    ("GET", "/api/branches/main/metrics", None),
    ("GET", "/api/branches/main/metrics?format=csv", None),
    ("GET", "/api/branches/main/devices", None),
    ("GET", "/api/branches/main/complaints", None),
    ("PATCH", "/api/branches/main/complaints/{complaint}", {"state": "closed"}),
    ("GET", "/api/branches/main/ratings", None),
]  # fmt: skip


@pytest.mark.parametrize(("process", "status"), [("main", 403), ("north", 404)])
@pytest.mark.parametrize(("method", "path", "body"), MAIN_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in MAIN_ENDPOINTS])
def test_a_north_admin_reaches_no_endpoint_of_main(
    branches: Branches, process: str, status: int, method: str, path: str, body: dict[str, Any] | None
) -> None:
    """On main's process every endpoint of main is 403 to a north admin; on north's, main is not served (404)."""
    b = branches
    before = main_at_rest(b)
    api = b.api(process)
    url = path.format(ticket=b.ticket, complaint=b.complaint)
    response = api.http.request(method, url, json=body, headers=api.auth(b.north_admin))
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == ("forbidden" if status == 403 else "not_found")
    assert main_at_rest(b) == before


@pytest.mark.parametrize("page", ["/admin", "/dashboard/main", "/complaints/main"])
def test_a_north_admin_opens_no_page_of_main(branches: Branches, page: str) -> None:
    """The managers' pages of main answer a north admin's session with the forbidden page."""
    response = httpx.get(branches.main.url + page, cookies={"nextup_session": branches.north_admin})
    assert response.status_code == 403


SOCKETS = ["display", "kiosk", "staff", "staff?counter=1"]


@pytest.mark.parametrize(("process", "code"), [("main", CloseCode.FORBIDDEN), ("north", CloseCode.NOT_FOUND)])
@pytest.mark.parametrize("kind", SOCKETS)
def test_a_north_admin_opens_no_socket_of_main(branches: Branches, process: str, code: int, kind: str) -> None:
    """Display, kiosk and staff sockets of main close a north admin's token with 4403 (4404 on north's process)."""
    server = branches.server(process)
    url = f"ws://127.0.0.1:{server.port}/ws/branches/main/{kind}"
    token = branches.north_admin
    if kind.startswith("staff"):
        headers = {"Origin": server.url, "Cookie": f"nextup_session={token}"}
    else:
        url += f"?token={token}"
        headers = {}
    with connect(url, additional_headers=headers, open_timeout=5) as ws, pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


# ---- Accounts ---------------------------------------------------------------------------------


def test_a_north_admin_lists_only_norths_accounts(branches: Branches) -> None:
    """On north's process a north admin sees north's accounts only; on main's the accounts are 403."""
    b = branches
    listed = b.on_north.http.get("/api/users", headers=b.on_north.auth(b.north_admin))
    assert listed.status_code == 200
    users = listed.json()["users"]
    assert users and {u["branch"] for u in users} == {"north"}
    assert b.star.http.get("/api/users", headers=b.star.auth(b.north_admin)).status_code == 403


@pytest.mark.parametrize(
    "account",
    [{"role": "admin", "branch": "*"}, {"role": "admin", "branch": "main"}, {"role": "staff", "branch": "main"}],
    ids=["all-branches-admin", "main-admin", "main-staff"],
)
def test_a_north_admin_creates_no_account_outside_north(branches: Branches, account: dict[str, str]) -> None:
    """Creating an admin of all branches or any account of main is 403 forbidden, saying who can."""
    b = branches
    before = main_at_rest(b)
    body = {"username": "intruder", "password": PASSWORD, **account}
    response = b.on_north.http.post("/api/users", json=body, headers=b.on_north.auth(b.north_admin))
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "forbidden" and "all branches" in error["message"]
    assert main_at_rest(b) == before
    assert "intruder" not in {u["username"] for u in before[3]["users"]}


@pytest.mark.parametrize("username", ["main_staff", "main_admin", "admin"])
@pytest.mark.parametrize("change", [{"password": "taken-over-123"}, {"disabled": True}, {"counters": ["2"]}])
def test_a_north_admin_changes_no_account_outside_north(
    branches: Branches, username: str, change: dict[str, Any]
) -> None:
    """Changing an account of main or an admin of all branches is 404, as if it did not exist."""
    b = branches
    before = main_at_rest(b)
    response = b.on_north.http.patch(f"/api/users/{username}", json=change,
                                     headers=b.on_north.auth(b.north_admin))  # fmt: skip
    assert response.status_code == 404, response.text
    assert main_at_rest(b) == before
    login = b.star.http.post("/api/login", json={"username": username, "password": "taken-over-123"})
    assert login.status_code == 401


def audit_entries(api: Api, branch: str) -> list[dict[str, Any]]:
    response = api.http.get(f"/api/branches/{branch}/audit", headers=api.auth(api.admin()))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


def entry_about(entries: list[dict[str, Any]], action: str, username: str) -> dict[str, Any]:
    found = [e for e in entries if e["action"] == action and e["details"].get("username") == username]
    assert found, f"no {action} of {username} in {entries}"
    return found[0]


def test_a_north_admin_manages_norths_accounts_and_each_change_is_in_norths_audit(branches: Branches) -> None:
    """Creating and changing a north account works for a north admin; both go to north's audit, no password."""
    b = branches
    auth = b.on_north.auth(b.north_admin)
    body = {"username": "north_clerk", "password": PASSWORD, "role": "staff", "counters": ["2"]}
    created = b.on_north.http.post("/api/users", json=body, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["branch"] == "north"
    for change in ({"password": "new-password-123"}, {"counters": ["1"]}, {"disabled": True}, {"disabled": False}):
        response = b.on_north.http.patch("/api/users/north_clerk", json=change, headers=auth)
        assert response.status_code == 200, response.text
    entries = audit_entries(b.on_north, "north")
    creation = entry_about(entries, "user_created", "north_clerk")
    assert creation["actor"] == "north_admin" and creation["role"] == "admin" and creation["source"] == "127.0.0.1"
    assert creation["details"] == {"username": "north_clerk", "role": "staff", "branch": "north", "counters": ["2"]}
    changes = [e for e in entries if e["action"] == "user_changed" and e["details"]["username"] == "north_clerk"]
    assert len(changes) == 4 and {e["actor"] for e in changes} == {"north_admin"}
    assert [e["details"]["disabled"] for e in changes] == [False, True, None, None]  # newest first
    assert PASSWORD not in json.dumps(entries) and "new-password-123" not in json.dumps(entries)
    assert "north_clerk" not in json.dumps(audit_entries(b.star, "main"))


def test_the_admin_of_all_branches_manages_every_account(branches: Branches) -> None:
    """An admin of all branches creates admins of all branches and of another branch, lists and changes them all."""
    b = branches
    # An account of north made through main's process: north's counters, north's audit.
    body = {"username": "north_lead", "password": PASSWORD, "role": "staff", "branch": "north", "counters": ["2"]}
    lead = b.star.http.post("/api/users", headers=b.star.auth(b.star.admin()), json=body)
    assert lead.status_code == 201, lead.text
    creation = entry_about(audit_entries(b.on_north, "north"), "user_created", "north_lead")
    assert creation["actor"] == "admin" and creation["details"]["counters"] == ["2"]
    auth = b.on_north.auth(b.on_north.admin())
    root = b.on_north.http.post("/api/users", headers=auth, json={
        "username": "root2", "password": PASSWORD, "role": "admin", "branch": "*"})  # fmt: skip
    assert root.status_code == 201, root.text
    # An account of all branches goes to the audit of the branch whose server made it.
    assert entry_about(audit_entries(b.on_north, "north"), "user_created", "root2")["source"] == "127.0.0.1"
    listed = {u["username"]: u["branch"] for u in b.on_north.http.get("/api/users", headers=auth).json()["users"]}
    assert listed["main_staff"] == "main" and listed["north_admin"] == "north" and listed["root2"] == "*"
    # Counters of a main account are main's, even when changed through north's process.
    changed = b.on_north.http.patch("/api/users/main_staff", json={"counters": ["4"]}, headers=auth)
    assert changed.status_code == 200, changed.text
    assert changed.json()["counters"] == ["4"]
    assert entry_about(audit_entries(b.star, "main"), "user_changed", "main_staff")["actor"] == "admin"
    assert b.on_north.http.patch("/api/users/root2", json={"disabled": True}, headers=auth).status_code == 200
