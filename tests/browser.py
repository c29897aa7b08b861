"""Debian's chromium for the browser tests, launched the same way by every module that needs one."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]


@contextlib.contextmanager
def chromium(*extra_args: str) -> Iterator[Browser]:
    """Chromium under Playwright's sync driver; a machine without it fails (tests/run.sh installs it).

    Use it from module-scoped fixtures: while the sync driver runs, the main thread counts as
    running an event loop, and pytest-asyncio could not run the asynchronous tests of other modules.
    """
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (tests/run.sh does)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args])
        try:
            yield browser
        finally:
            browser.close()


def covered_by(page: Page, selector: str, cover: str) -> bool:
    """Whether what is painted at the middle of ``selector``'s box belongs to ``cover`` (a tap there lands on it)."""
    covered: bool = page.eval_on_selector(
        selector,
        "(el, cover) => { const r = el.getBoundingClientRect();"
        " const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
        " return Boolean(top && top.closest(cover)); }",
        cover,
    )
    return covered
