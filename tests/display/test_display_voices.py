"""A display reports whether it has a Chinese and an English voice, and the devices report says so.

The real display page in Debian's chromium against a real ``nextup serve``: headless, as the tests
run it, Chromium has no voice; with a fake voice list put in before the page's script runs it has
both (test_display_speech.py has real ones).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.browser import chromium
from tests.conftest import Api
from tests.display.conftest import voices_reported
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]

#: speechSynthesis.getVoices() of a browser with a Mandarin voice as espeak-ng tags it and an English one.
FAKE_VOICES = """
(() => {
  const voices = [
    {name: "Chinese (Mandarin)", lang: "cmn", voiceURI: "cmn", localService: true, default: false},
    {name: "English (Great Britain)", lang: "en-GB", voiceURI: "en-GB", localService: true, default: true},
  ];
  Object.defineProperty(window.speechSynthesis, "getVoices", {value: () => voices});
})();
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium("--autoplay-policy=no-user-gesture-required") as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 720}, bypass_csp=True)
    yield context.new_page()
    context.close()


def open_display(page: Page, server: ServerProcess, token: str, query: str = "") -> None:
    page.goto(f"{server.url}/display/main?token={token}{query}")
    page.wait_for_function("window.nextupDisplay && window.nextupDisplay.connected", timeout=10_000)


def test_a_display_without_voices_is_reported_as_chiming_only(page: Page, server: ServerProcess, api: Api) -> None:
    """Headless chromium has no voice: the devices report says no Chinese and no English voice, chime only."""
    open_display(page, server, api.user("tv1", "display"))
    record = voices_reported(api, "tv1")
    assert record["voices"] == {
        "zh": False, "en": False, "languages": ["zh", "en"], "missing": ["zh", "en"], "chime_only": True,
    }  # fmt: skip
    assert record["status"] == "chime_only" and record["online"] is True


def test_a_display_with_both_voices_misses_none(page: Page, server: ServerProcess, api: Api) -> None:
    """With a Mandarin voice tagged cmn (as espeak-ng tags it) and an English one, nothing is missing."""
    page.add_init_script(FAKE_VOICES)
    open_display(page, server, api.user("tv1", "display"))
    record = voices_reported(api, "tv1")
    assert record["voices"] == {"zh": True, "en": True, "languages": ["zh", "en"], "missing": [], "chime_only": False}
    assert record["status"] == "ok"


def test_a_chinese_only_screen_needs_only_the_chinese_voice(page: Page, server: ServerProcess, api: Api) -> None:
    """A screen showing ?lang=zh announces in Chinese only: without an English voice it misses nothing."""
    page.add_init_script(FAKE_VOICES.replace('lang: "en-GB"', 'lang: "fr-FR"'))
    open_display(page, server, api.user("tv1", "display"), "&lang=zh")
    record = voices_reported(api, "tv1")
    assert record["voices"]["languages"] == ["zh"] and record["voices"]["en"] is False
    assert record["voices"]["missing"] == [] and record["status"] == "ok"
