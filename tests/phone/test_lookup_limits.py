"""Guessing ticket ids gets nowhere: unknown ids are 404, then rate-limited per address; known ids keep working."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.errors import ConfigError
from server.lookup_limit import LookupLimiter, looked_up_ticket
from server.settings import PhoneSettings, load_phone_settings
from tests.conftest import Api
from tests.phone.conftest import random_id
from tests.servers import ServerProcess

LIMIT = 5


@pytest.fixture(scope="module")
def strict_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server allowing 5 lookups of unknown ids per minute and address, for this module."""
    flushed = redis.Redis.from_url(redis_url)
    flushed.flushdb()
    flushed.close()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NEXTUP_PHONE_LOOKUPS_PER_MIN", str(LIMIT))
        server = ServerProcess(tmp_path_factory.mktemp("strict"), redis_url).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def strict_api(strict_server: ServerProcess) -> Iterator[Api]:
    client = Api(strict_server.url)
    yield client
    client.close()


@pytest.mark.redis
def test_guessing_ids_gets_404_then_429_while_known_tickets_keep_working(
    strict_server: ServerProcess, strict_api: Api
) -> None:
    """After any number of known lookups, five made-up ids are 404; the sixth is 429 on the API, page and socket."""
    api = strict_api
    mine = api.issue("A")
    paths = ["/api/branches/main/tickets/{}", "/t/{}", "/api/branches/main/tickets/{}/updates?wait=0"]
    for _ in range(LIMIT * 3):  # looking at one's own ticket costs nothing
        assert api.http.get(f"/api/branches/main/tickets/{mine['id']}").status_code == 200
    for n in range(LIMIT):
        assert api.http.get(paths[n % len(paths)].format(random_id())).status_code == 404
    refused = api.http.get(f"/api/branches/main/tickets/{random_id()}")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["retry-after"]) >= 1
    page = api.http.get(f"/t/{random_id()}", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 429 and "查询过于频繁" in page.text
    assert api.http.post(f"/api/branches/main/tickets/{random_id()}/cancel").status_code == 429
    with connect(f"ws://127.0.0.1:{strict_server.port}/ws/tickets/{random_id()}") as ws, pytest.raises(
        ConnectionClosed
    ) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429

    assert api.http.get(f"/api/branches/main/tickets/{mine['id']}").status_code == 200
    assert api.http.get(f"/t/{mine['id']}").status_code == 200
    with connect(f"ws://127.0.0.1:{strict_server.port}/ws/tickets/{mine['id']}") as ws:
        assert '"ticket"' in str(ws.recv(timeout=5))


def test_the_bucket_refills_at_its_rate() -> None:
    """60 a minute: empty after 60 misses, one more lookup a second later; addresses are separate."""
    now = [1000.0]
    limiter = LookupLimiter(60, clock=lambda: now[0])
    for _ in range(60):
        assert not limiter.exhausted("10.0.0.1")
        limiter.charge("10.0.0.1")
    assert limiter.exhausted("10.0.0.1") and not limiter.exhausted("10.0.0.2")
    assert limiter.retry_after_s("10.0.0.1") == 1
    now[0] += 1.0
    assert not limiter.exhausted("10.0.0.1")
    limiter.charge("10.0.0.1")
    assert limiter.exhausted("10.0.0.1")


def test_a_limit_of_zero_turns_the_limit_off() -> None:
    """0 lookups a minute means no limit."""
    limiter = LookupLimiter(0)
    for _ in range(100):
        limiter.charge("10.0.0.1")
    assert not limiter.exhausted("10.0.0.1")


def test_only_ticket_lookups_are_guarded() -> None:
    """The page, the socket and the ticket endpoints name a ticket; issuing or the state do not."""
    def lookup(kind: str, path: str) -> str | None:
        return looked_up_ticket({"type": kind, "path": path})

    assert lookup("http", "/t/abc") == "abc"
    assert lookup("http", "/api/branches/main/tickets/abc") == "abc"
    assert lookup("http", "/api/branches/main/tickets/abc/rating") == "abc"
    assert lookup("websocket", "/ws/tickets/abc") == "abc"
    assert lookup("http", "/api/branches/main/tickets") is None
    assert lookup("http", "/api/branches/main/tickets/abc/transfer") is None
    assert lookup("http", "/api/branches/main/state") is None


def test_settings_come_from_the_environment() -> None:
    """Defaults without variables; every bad value is named."""
    assert load_phone_settings({}) == PhoneSettings()
    chosen = load_phone_settings({"NEXTUP_PHONE_PAGE_TTL_S": "60", "NEXTUP_COMPLAINT_ANSWER_TARGET_H": "8"})
    assert (chosen.finished_page_ttl_s, chosen.complaint_answer_target_h) == (60, 8.0)
    with pytest.raises(ConfigError) as bad:
        load_phone_settings({"NEXTUP_PHONE_LOOKUPS_PER_MIN": "many", "NEXTUP_COMPLAINT_PHONE_DAYS": "-1"})
    assert len(bad.value.problems) == 2

