"""Browser and staff-page helpers: Debian's chromium through Playwright, logged-in pages, cookies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.conftest import Api
from tests.servers import ADMIN_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
#: Longest wait for something a page should show, in milliseconds.
EXPECT_TIMEOUT_MS = 10_000

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def password_of(username: str) -> str:
    """The password ``Api.user`` gives the accounts it creates."""
    return ADMIN_PASSWORD if username == "admin" else f"pw-{username}-123"


# Module scope: the sync driver keeps an event loop of its own, which must not outlive these
# modules into the asynchronous tests of others.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's chromium; a machine without it fails these tests (tests/run.sh installs it)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (tests/run.sh does)")
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[[], BrowserContext]]:
    """Factory of browser contexts (separate cookie jars, as separate computers), closed afterwards."""
    made: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
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
