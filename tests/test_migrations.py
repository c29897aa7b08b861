"""The data-format version and ``nextup migrate``, from the previous release's data.

tests/fixtures/release-2026-11-28.nextup is the data of release ae1f6f3 (2026-11-28): that release's
server ran a simulated busy stretch, a rating, a complaint with a phone number, a notice and a staff
account, and its Redis was saved with ``nextup backup``; the keys that release kept in Redis
(``nextup:signing_secret``, ``nextup:feedback_secret``) were left out of the file, as no key belongs
in the repository. tests/fixtures/release-2026-11-28.json holds what that release's API answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from server import keys, migrations
from server.migrations import _summary_with_calls, _with_calls
from tests.servers import ROOT, ServerProcess, free_port

FIXTURE = ROOT / "tests" / "fixtures" / "release-2026-11-28.nextup"
EXPECTED: dict[str, Any] = json.loads((ROOT / "tests" / "fixtures" / "release-2026-11-28.json").read_text())


def test_past_days_get_as_many_calls_as_first_calls() -> None:
    tallies = {"called|all": "4", "called|service=A": "3", "served|all": "4", "calls|counter=2": "9"}
    assert _with_calls(tallies) == {**tallies, "calls|all": "4", "calls|service=A": "3"}
    summary = {"totals": {"called": 4, "served": 4}, "by_counter": {"2": {"called": 2, "calls": 3}}}
    assert _summary_with_calls(summary) == {
        "totals": {"called": 4, "served": 4, "calls": 4},
        "by_counter": {"2": {"called": 2, "calls": 3}},
    }


def nextup(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "server", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def environment(redis_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEXTUP_")}
    env.update(NEXTUP_REDIS_URL=redis_url, NEXTUP_SECRET_KEY_FILE=str(tmp_path / "secrets.json"))
    return env


def serve_refuses(env: dict[str, str], tmp_path: Path) -> str:
    """Run ``nextup serve`` expecting it to stop at once; its error output."""
    served = nextup("serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "data"), env=env)
    assert served.returncode == 1, served.stdout + served.stderr
    assert "Traceback" not in served.stderr
    return served.stderr


@pytest.mark.redis
def test_the_previous_release_s_data_is_migrated_once_and_then_served(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = environment(redis_url, tmp_path)
    assert nextup("secrets", "init", env=env).returncode == 0
    restored = nextup("restore", str(FIXTURE), env=env)
    assert restored.returncode == 0, restored.stderr

    # The new release does not serve the old data before it is migrated, and says what to do.
    refused = serve_refuses(env, tmp_path)
    assert "format version 0" in refused and "nextup migrate" in refused

    migrated = nextup("migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "Format version 0 -> 1" in migrated.stdout and "Done: the data is of format version 1." in migrated.stdout
    assert redis_client.get(keys.data_version()) == str(migrations.CURRENT)
    assert not redis_client.exists(keys.migration_lock())
    again = nextup("migrate", env=env)
    assert again.returncode == 0 and "nothing to do" in again.stdout

    # Tickets of the fixture's day stay (no retention pass may remove them while the test runs).
    monkeypatch.setenv("NEXTUP_TICKET_RETENTION_DAYS", "0")
    server = ServerProcess(tmp_path / "server", redis_url, secret_key_file=tmp_path / "secrets.json",
                           admin_password=None).start()  # fmt: skip
    http = httpx.Client(base_url=server.url, timeout=10)
    try:
        # The accounts of the old release log in with their passwords (argon2 hashes carried over).
        login = http.post("/api/login", json={"username": "admin", "password": EXPECTED["admin_password"]})
        assert login.status_code == 200, login.text
        admin = {"Authorization": f"Bearer {login.json()['token']}"}
        staff = EXPECTED["staff"]
        assert http.post("/api/login", json=staff).status_code == 200

        for ticket_id in EXPECTED["tickets"]:
            ticket = http.get(f"/api/branches/main/tickets/{ticket_id}")
            assert ticket.status_code == 200 and ticket.json()["business_day"] == EXPECTED["business_day"]

        day = EXPECTED["business_day"]
        report = http.get(f"/api/branches/main/metrics?from={day}&to={day}", headers=admin).json()
        totals = report["totals"]
        assert {k: totals[k] for k in EXPECTED["metrics_totals"]} == EXPECTED["metrics_totals"]
        assert {k: v["issued"] for k, v in report["by_service"].items()} == EXPECTED["by_service_issued"]
        # The measure this release added is filled in for the old day, so the figures stay possible.
        assert totals["calls"] == totals["called"] >= totals["served"]
        for group in ("by_service", "by_counter", "by_staff"):
            for figures in report[group].values():
                assert figures["calls"] >= figures["served"], (group, figures)

        complaints = http.get("/api/branches/main/complaints", headers=admin)
        assert complaints.status_code == 200 and len(complaints.json()["complaints"]) == 1

        state = http.get("/api/branches/main/state", headers=admin).json()
        assert {c["id"]: c["status"] for c in state["counters"]} == EXPECTED["counters"]
        assert state["notice"]["text_en"] == EXPECTED["notice"]
        # And the hall goes on: a new ticket, a call.
        issued = http.post("/api/branches/main/tickets", json={"service": "C"}, headers=admin)
        assert issued.status_code == 201, issued.text
    finally:
        http.close()
        server.stop()


@pytest.mark.redis
def test_an_empty_redis_is_stamped_and_newer_data_is_refused(
    redis_url: str, redis_client: redis.Redis, tmp_path: Path
) -> None:
    env = environment(redis_url, tmp_path)
    assert nextup("secrets", "init", env=env).returncode == 0
    server = ServerProcess(tmp_path / "server", redis_url, secret_key_file=tmp_path / "secrets.json").start()
    server.stop()
    assert redis_client.get(keys.data_version()) == str(migrations.CURRENT)

    redis_client.set(keys.data_version(), migrations.CURRENT + 1)
    refused = serve_refuses(env, tmp_path)
    assert f"format version {migrations.CURRENT + 1}" in refused and "newer NextUp" in refused
    migrate = nextup("migrate", env=env)
    assert migrate.returncode == 1 and "newer" in migrate.stderr and "Traceback" not in migrate.stderr
    assert redis_client.get(keys.data_version()) == str(migrations.CURRENT + 1)
