"""The phone page across a kill -9 of its server and a new server on the same port."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import Api
from tests.phone.conftest import EXPECT_MS, call_next, page_url, phone_state, wait_live
from tests.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def test_the_page_recovers_after_a_server_restart(
    api: Api, server: ServerProcess, open_phone: Callable[..., Page], restartable: list[ServerProcess]
) -> None:
    """kill -9 of the server, a new one on the same port: the page reconnects and shows the call."""
    mine = api.issue("A")
    page = open_phone(page_url(server.url, mine))
    wait_live(page)
    server.kill()
    expect(page.locator("body")).to_have_attribute("data-connection", "offline", timeout=EXPECT_MS)
    restarted = server.successor().start()
    restartable.append(restarted)
    call_next(api, "2")
    expect(page.locator("#go")).to_have_text("请到2号窗口办理", timeout=EXPECT_MS)
    wait_live(page)
    assert phone_state(page)["connects"] == 2
