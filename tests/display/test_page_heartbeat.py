"""The heartbeat the device PCs' watchdog reads (``window.nextupHeartbeat``, kiosk/watchdog.py) on the
real pages, in Debian's chromium against a real ``nextup serve``: current while the page is connected,
left behind once its server is gone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import chromium
from tests.conftest import Api
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

#: The page's heartbeat is at most this old (ms): the page is live.
FRESH = "typeof window.nextupHeartbeat === 'number' && Date.now() - window.nextupHeartbeat < 500"
#: It has stopped: older than 1.5 s.
STALE = "typeof window.nextupHeartbeat === 'number' && Date.now() - window.nextupHeartbeat > 1500"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(bypass_csp=True)
    yield context.new_page()
    context.close()


def test_the_display_beats_while_connected_and_stops_when_its_server_goes(
    page: Page, server: ServerProcess, api: Api
) -> None:
    """The lobby display: current while its socket is open; the server stopped, it falls behind."""
    page.goto(f"{server.url}/display/main?token={api.user('tv1', 'display')}")
    page.wait_for_function("window.nextupDisplay && window.nextupDisplay.connected", timeout=10_000)
    page.wait_for_function(FRESH, timeout=5_000)
    server.stop()
    page.wait_for_function(STALE, timeout=15_000)


def test_the_pairing_screen_beats_while_the_server_answers(page: Page, server: ServerProcess) -> None:
    """A display not paired yet: the pairing screen's polls keep its heartbeat; without the server it stops."""
    page.goto(f"{server.url}/display/main")
    page.wait_for_function("window.nextupPairing && window.nextupPairing.state === 'waiting'", timeout=10_000)
    page.wait_for_function("Date.now() - window.nextupHeartbeat < 3000", timeout=5_000)
    server.stop()
    page.wait_for_function("Date.now() - window.nextupHeartbeat > 5000", timeout=15_000)


def test_the_kiosk_page_beats_while_connected_to_its_kiosk(page: Page, server: ServerProcess) -> None:
    """The kiosk's touch page (here the server's demo kiosk): current while its local socket is open."""
    page.goto(f"{server.url}/kiosk/main/")
    page.wait_for_function(FRESH, timeout=10_000)
    server.stop()
    page.wait_for_function(STALE, timeout=15_000)
