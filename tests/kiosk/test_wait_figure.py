"""One wait figure per service: the kiosk's buttons, the phone page and the printed ticket agree, and
say in words that no counter serves a service instead of inventing minutes."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis

from printer.emulator import PrinterEmulator
from printer.escpos_stream import iter_text
from printer.layout import NO_COUNTER_SERVING
from server.clock import ManualClock
from server.config import demo_branch
from server.settings import Settings
from tests.conftest import Api
from tests.kiosk.conftest import Message, issue_through_kiosk, kiosk_socket_url, socket
from tests.kiosk.processes import RunningKiosk
from tests.servers import ADMIN_PASSWORD, InProcessServer, ServerProcess

pytestmark = pytest.mark.redis


@pytest.fixture
def frozen(redis_url: str, redis_client: redis.Redis, tmp_path: Path) -> Iterator[tuple[InProcessServer, Api]]:
    """The demo branch in this process with a clock that stands still: estimates do not count down."""
    clock = ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))  # 10:00 in Shanghai, a Monday
    settings = Settings(redis_url=None, data_dir=tmp_path, admin_password=ADMIN_PASSWORD, public_url=None)
    with InProcessServer(settings, demo_branch(), redis_url, clock) as server:
        client = Api(server.url)
        yield server, client
        client.close()


def phone_data(api: Api, ticket: str) -> Message:
    """The message the ticket's phone page /t/{id} receives (its long-poll channel, answered at once)."""
    response = api.http.get(f"/api/branches/main/tickets/{ticket}/updates", params={"wait": 0})
    assert response.status_code == 200, response.text
    message: Message = response.json()
    return message


def service_in(message: Message, service: str) -> Message:
    found: Message = next(s for s in message["services"] if s["id"] == service)
    return found


def issue_message(service: str) -> Message:
    return {"type": "issue", "request_id": str(uuid.uuid4()), "service": service, "priority": False}


def pause_every_counter_serving_b(api: Api) -> None:
    """Counters 3 (B, A) and 4 (C, B) serve B in the demo branch: one paused, one closed."""
    assert api.counter("3", "pause", {"reason": "午休"}).status_code == 200
    assert api.counter("4", "close").status_code == 200


async def test_the_kiosk_figure_is_the_one_the_new_tickets_phone_page_shows(
    frozen: tuple[InProcessServer, Api],
) -> None:
    """The wait a kiosk button shows is the wait the ticket it issues is told, on its phone page too."""
    server, api = frozen
    for _ in range(5):
        api.issue("B")
    token = api.user("kiosk1", "kiosk")
    url = f"ws://127.0.0.1:{server.port}/ws/branches/main/kiosk?token={token}"
    async with socket(url) as kiosk:
        shown = service_in(await kiosk.until(lambda m: m["type"] == "services"), "B")
        request = issue_message("B")
        await kiosk.send(request)
        issued = await kiosk.until(lambda m: m.get("request_id") == request["request_id"])
    assert shown["waiting"] == 5 and shown["estimated_wait_s"] > 300  # two counters, five ahead
    assert issued["type"] == "issued"
    phone = phone_data(api, issued["ticket"]["id"])["ticket"]
    assert issued["ticket"]["estimated_wait_s"] == shown["estimated_wait_s"]
    assert phone["estimated_wait_s"] == shown["estimated_wait_s"]
    assert phone["ahead"] == 5


async def test_no_minutes_while_every_counter_serving_a_service_is_paused_or_closed(
    server: ServerProcess, api: Api
) -> None:
    """Kiosk and phone page both give no wait for B while nobody serves it; minutes return when one opens."""
    tickets = [api.issue("B") for _ in range(3)]
    api.issue("A")
    token = api.user("kiosk1", "kiosk")
    async with socket(kiosk_socket_url(server, token)) as kiosk:
        await kiosk.until(lambda m: m["type"] == "services")
        pause_every_counter_serving_b(api)
        paused = await kiosk.until(lambda m: m["type"] == "services" and service_in(m, "B")["estimated_wait_s"] is None)
        phone = phone_data(api, tickets[1]["id"])["ticket"]
        request = issue_message("B")
        await kiosk.send(request)
        issued = await kiosk.until(lambda m: m.get("request_id") == request["request_id"])

        assert service_in(paused, "B")["waiting"] == 3  # the people waiting are still shown
        assert isinstance(service_in(paused, "A")["estimated_wait_s"], int)  # counters 1 and 2 serve A
        assert (phone["status"], phone["ahead"], phone["estimated_wait_s"]) == ("waiting", 1, None)
        assert issued["type"] == "issued" and issued["ticket"]["estimated_wait_s"] is None
        assert api.http.get(f"/api/branches/main/tickets/{tickets[0]['id']}").json()["estimated_wait_s"] is None

        assert api.counter("4", "open").status_code == 200
        reopened = await kiosk.until(
            lambda m: m["type"] == "services" and service_in(m, "B")["estimated_wait_s"] is not None
        )
    assert service_in(reopened, "B")["waiting"] == 4 and service_in(reopened, "B")["estimated_wait_s"] > 0
    back = phone_data(api, tickets[1]["id"])["ticket"]
    # The modelled figure follows within a refresh of the estimator's snapshot (seconds): until then it
    # may still replay the counters of before the pause.
    deadline = time.monotonic() + 15
    while back["estimated_wait_s"] == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        back = phone_data(api, tickets[1]["id"])["ticket"]
    assert back["ahead"] == 1 and back["estimated_wait_s"] > 0


def test_a_ticket_printed_while_no_counter_serves_says_so(
    kiosk: RunningKiosk, emulator: PrinterEmulator, api: Api
) -> None:
    """The printed ticket says no counter serves the service, in both languages, with no minutes."""
    api.issue("B")
    pause_every_counter_serving_b(api)
    assert issue_through_kiosk(kiosk, str(uuid.uuid4()), "B")["type"] == "printed"
    [job] = emulator.wait_for_tickets(1)
    printed = " ".join(iter_text(job))
    zh, en = NO_COUNTER_SERVING
    assert zh in printed and en in printed
    assert "前面还有 1 人" in printed
    assert "预计等待" not in printed and "about" not in printed
