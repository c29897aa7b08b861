"""``nextup watchdog`` against Debian's real chromium: a page that stops heartbeating is reloaded, a
hung page and a killed browser get a new browser.

The pages are served by the test (``tests.kiosk.pages.PageServer``) and keep ``window.nextupHeartbeat``
as NextUp's pages do; thresholds are short so that each test takes a few seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.browser import Screen
from kiosk.watchdog import Action, Look, PageRules, Watchdog, WatchdogSettings
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.kiosk.pages import PageServer
from tests.servers import free_port

pytestmark = pytest.mark.browser

#: Beats every 100 ms, as a NextUp page whose socket is open.
BEATING = (
    "<script>window.nextupHeartbeat = Date.now();"
    "setInterval(() => { window.nextupHeartbeat = Date.now(); }, 100);</script>"
)
#: Beats for half a second, then stops: its connection is gone and does not come back.
STOPS = (
    "<script>window.nextupHeartbeat = Date.now();"
    "const beat = setInterval(() => { window.nextupHeartbeat = Date.now(); }, 100);"
    "setTimeout(() => clearInterval(beat), 500);</script>"
)
#: Beats for half a second, then its main thread hangs for good.
HANGS = "<script>window.nextupHeartbeat = Date.now();setTimeout(() => { for (;;) {} }, 500);</script>"


def settings(url: str, profile: Path) -> WatchdogSettings:
    """Short thresholds: a check every 0.3 s, 1 s to answer, 2 unanswered checks, 1.5 s without a heartbeat."""
    return WatchdogSettings(
        screen=Screen.KIOSK, url=url, browser=str(CHROMIUM), profile_dir=profile, check_every_s=0.3,
        answer_within_s=1.0, unanswered_limit=2, stale_after_s=1.5, start_within_s=20,
        extra_flags=(*CHROMIUM_ARGS, "--headless=new"),
    )  # fmt: skip


@asynccontextmanager
async def watching(url: str, profile: Path) -> AsyncIterator[Watchdog]:
    watchdog = Watchdog(settings(url, profile))
    task = asyncio.create_task(watchdog.run())
    try:
        yield watchdog
    finally:
        task.cancel()
        async with asyncio.timeout(20):  # a watchdog that missed its cancellation would run on
            with pytest.raises(asyncio.CancelledError):
                await task
    assert watchdog.process is None  # the browser is stopped with it


async def until(check: Callable[[], object], within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, f"not within {within_s} s: {what}"
        await asyncio.sleep(0.05)


async def test_a_live_page_is_left_alone(tmp_path: Path) -> None:
    """A page that keeps its heartbeat is neither reloaded nor restarted, check after check."""
    with PageServer({"/": [BEATING]}) as pages:
        async with watching(pages.url("/"), tmp_path) as watchdog:
            await until(lambda: watchdog.checks >= 8, 20, "eight checks")
            assert watchdog.actions == [] and pages.loads["/"] == 1


async def test_a_page_whose_heartbeat_stops_is_reloaded(tmp_path: Path) -> None:
    """Its heartbeat stops: the page is reloaded (in the same browser) once it is silent 1.5 s."""
    with PageServer({"/": [STOPS, BEATING]}) as pages:
        async with watching(pages.url("/"), tmp_path) as watchdog:
            await until(lambda: pages.loads.get("/") == 1, 20, "the first load")
            assert watchdog.process is not None
            first_pid = watchdog.process.pid
            await until(lambda: pages.loads["/"] == 2, 10, "a reload")
            assert watchdog.actions == [Action.RELOAD] and watchdog.process.pid == first_pid


async def test_a_hung_page_gets_a_new_browser(tmp_path: Path) -> None:
    """A page whose main thread hangs stops answering: after two unanswered checks the browser is
    restarted (a reload would load the page into the same stuck renderer), and the page loaded anew."""
    with PageServer({"/": [HANGS, BEATING]}) as pages:
        async with watching(pages.url("/"), tmp_path) as watchdog:
            await until(lambda: pages.loads.get("/") == 1, 20, "the first load")
            assert watchdog.process is not None
            hung = watchdog.process.pid
            await until(lambda: pages.loads["/"] == 2, 20, "the page loaded by a new browser")
            assert watchdog.actions == [Action.RESTART]
            assert watchdog.process is not None and watchdog.process.pid != hung
            checks = watchdog.checks
            await until(lambda: watchdog.checks >= checks + 5, 20, "five checks of the new page")
            assert watchdog.actions == [Action.RESTART] and pages.loads["/"] == 2  # it answers: left alone


async def test_a_killed_browser_is_started_again(tmp_path: Path) -> None:
    """The browser process is killed: the watchdog starts a new one, which loads the page again."""
    with PageServer({"/": [BEATING]}) as pages:
        async with watching(pages.url("/"), tmp_path) as watchdog:
            await until(lambda: pages.loads.get("/") == 1, 20, "the first load")
            assert watchdog.process is not None
            killed = watchdog.process.pid
            os.kill(killed, signal.SIGKILL)
            await until(lambda: pages.loads["/"] == 2, 20, "the page loaded by a new browser")
            assert watchdog.actions == [Action.RESTART]
            assert watchdog.process is not None and watchdog.process.pid != killed


async def test_an_error_page_is_reloaded_once_the_server_answers(tmp_path: Path) -> None:
    """Booted before its server: Chromium's error page is kept while the server is down (a reload
    could not help), and reloaded once the server answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    async with watching(url, tmp_path) as watchdog:
        await until(lambda: watchdog.checks >= 10, 20, "ten checks with the server down")
        assert watchdog.actions == []
        with PageServer({"/": [BEATING]}, port) as pages:
            await until(lambda: pages.loads.get("/") == 1, 10, "the page loaded once the server is up")
            assert watchdog.actions == [Action.RELOAD]


def test_rules_reload_a_silent_page_only_when_its_server_answers() -> None:
    """Silent beyond the limit: reload if the server answers, else wait; a page with a fresh heartbeat,
    or one just loaded without a heartbeat yet: nothing."""
    rules = PageRules(settings("http://127.0.0.1:1/", Path("/nonexistent")))
    silent = Look(running=True, devtools=True, answered=True, page_age_s=30, heartbeat_age_s=2.0)
    assert rules.needs_server(silent, now=100)
    assert rules.decide(silent, now=100) is Action.NONE  # not asked: server_answers None
    assert rules.decide(replace(silent, server_answers=False), now=100) is Action.NONE
    assert rules.decide(replace(silent, server_answers=True), now=100) is Action.RELOAD
    fresh = Look(running=True, devtools=True, answered=True, page_age_s=30, heartbeat_age_s=0.1)
    assert not rules.needs_server(fresh, now=200) and rules.decide(fresh, now=200) is Action.NONE
    no_heartbeat_yet = Look(running=True, devtools=True, answered=True, page_age_s=0.5)
    assert not rules.needs_server(no_heartbeat_yet, now=200)


def test_rules_give_a_reloaded_page_time_to_show_its_heartbeat() -> None:
    """Right after a reload the old page may still be there, silent: no second reload until the
    silence limit has passed again."""
    rules = PageRules(settings("http://127.0.0.1:1/", Path("/nonexistent")))  # stale after 1.5 s
    silent = Look(running=True, devtools=True, answered=True, page_age_s=30, heartbeat_age_s=2.0, server_answers=True)
    assert rules.decide(silent, now=100) is Action.RELOAD
    assert rules.decide(silent, now=100.3) is Action.NONE and not rules.needs_server(silent, now=101)
    assert rules.decide(silent, now=101.6) is Action.RELOAD


def test_rules_restart_for_a_hung_page_or_a_gone_browser() -> None:
    """Two unanswered checks in a row: restart; an answer in between starts the count again; a
    browser gone or deaf to DevTools: restart at once."""
    rules = PageRules(settings("http://127.0.0.1:1/", Path("/nonexistent")))
    hung = Look(running=True, devtools=True, answered=False)
    live = Look(running=True, devtools=True, answered=True, page_age_s=5, heartbeat_age_s=0.1)
    decisions = [rules.decide(look, now=1) for look in (hung, live, hung, hung, hung)]
    assert decisions == [Action.NONE, Action.NONE, Action.NONE, Action.RESTART, Action.NONE]
    assert rules.decide(Look(running=False, devtools=False), now=1) is Action.RESTART
    assert rules.decide(Look(running=True, devtools=False), now=1) is Action.RESTART
