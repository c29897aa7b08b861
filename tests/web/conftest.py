"""Browser and staff-page helpers: Debian's chromium through Playwright, logged-in pages, cookies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser import chromium
from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD

#: Longest wait for something a page should show, in milliseconds.
EXPECT_TIMEOUT_MS = 10_000

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def password_of(username: str) -> str:
    """The password ``Api.user`` gives the accounts it creates."""
    return ADMIN_PASSWORD if username == "admin" else f"pw-{username}-123"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    """Factory of browser contexts (separate cookie jars, as separate computers), closed afterwards;
    its keyword arguments (``viewport``, ``timezone_id``...) go to Playwright's ``new_context``."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, "locale": "en-US", **options})
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


def log_in(page: Page, url: str, username: str, path: str = "/counter", lang: str = "en") -> None:
    """Log in through the login form and land on ``path``."""
    page.goto(f"{url}{path}?lang={lang}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password_of(username))
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}{path}")


def cookie_session(api: Api, username: str) -> httpx.Client:
    """An HTTP client holding the page session cookie of ``username``."""
    client = httpx.Client(base_url=api.url, timeout=10)
    response = client.post("/login", data={"username": username, "password": password_of(username)})
    assert response.status_code == 303, response.text
    return client
