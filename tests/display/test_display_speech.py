"""The voices a display PC has: Chromium with speech-dispatcher and espeak-ng (what
deploy/devices/setup-display-pc.sh installs; tests/run.sh installs them here), started with the speech
flag of ``nextup watchdog --role display``, against a real ``nextup serve``."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from kiosk.browser import SPEECH_FLAGS
from tests.browser import chromium
from tests.conftest import Api
from tests.display.conftest import voices_reported
from tests.servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.browser]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(*SPEECH_FLAGS) as launched:
        yield launched


def test_the_display_pcs_speech_dispatcher_gives_both_voices(browser: Browser, server: ServerProcess, api: Api) -> None:
    """espeak-ng's Mandarin (tagged cmn) and English voices reach the page: the display reports both."""
    context = browser.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/display/main?token={api.user('tv1', 'display')}")
        # The voices load after the page starts; it reports again when they do (voiceschanged).
        page.wait_for_function("window.nextupVoices.zh && window.nextupVoices.en", timeout=15_000)
        deadline = time.monotonic() + 10
        while (record := voices_reported(api, "tv1"))["voices"]["missing"]:
            assert time.monotonic() < deadline, f"still missing: {record['voices']}"
            time.sleep(0.05)
    finally:
        context.close()
    assert record["voices"]["zh"] is True and record["voices"]["en"] is True and record["status"] == "ok"
