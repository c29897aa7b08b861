"""``nextup watchdog``: the browser of a kiosk or display PC, started, watched, reloaded and restarted.

The watchdog starts Chromium itself, as its child (``kiosk.browser``), and every ``check_every_s``
looks at it through DevTools (``kiosk.devtools``) on loopback:

- it asks the page for ``PROBE``: the page's age and ``window.nextupHeartbeat``, which NextUp's
  pages keep (``live_socket.js``: now while their socket is open, else when it last was; the
  display's pairing screen: when the server last answered);
- **reload** (``Page.reload``) when its heartbeat is older than ``stale_after_s`` (no connection
  for that long, or not a NextUp page at all: Chromium's error page after a boot that was quicker
  than the server) **and** the page's server answers HTTP: while the server is down a reload would
  only swap the page's "reconnecting" for Chromium's error page;
- **restart** the browser when its process is gone, its DevTools endpoint does not answer, or the
  page has not answered ``unanswered_limit`` checks in a row (its main thread is hung, or its
  renderer crashed). A reload cannot help a hung page: Chromium fetches the page again but loads
  it into the same stuck renderer.

What to do is decided by ``PageRules`` (no I/O), from what one check saw (``Look``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

import httpx

from kiosk.browser import Screen, browser_command, devtools_port_of, prepare_profile
from kiosk.devtools import DevToolsError, DevToolsUnreachable, Json, NoAnswer, PageSession, first_page

log = logging.getLogger("nextup.watchdog")

#: What the watchdog asks the page: how old the page is and when it last knew it was live (ms).
PROBE = (
    "JSON.stringify({now: Date.now(), loaded_ms: performance.now(),"
    " heartbeat: typeof window.nextupHeartbeat === 'number' ? window.nextupHeartbeat : null})"
)
#: Seconds a browser that was asked to stop gets before it is killed.
STOP_GRACE_S = 5.0


class Action(str, Enum):
    #: The page is live, or it is not its turn yet.
    NONE = "none"
    #: Reload the page.
    RELOAD = "reload"
    #: Stop the browser (if it still runs) and start a new one.
    RESTART = "restart"


@dataclass(frozen=True)
class Look:
    """What one check saw."""

    #: The browser process is running.
    running: bool
    #: Its DevTools endpoint answered and has a page.
    devtools: bool
    #: The page evaluated ``PROBE`` in time.
    answered: bool = False
    #: Seconds since the page loaded (by the page's clock).
    page_age_s: float = 0.0
    #: Seconds since the page last knew it was live; None when it has no heartbeat at all.
    heartbeat_age_s: float | None = None
    #: The page's server answered HTTP; None when not asked (only a silent page needs it).
    server_answers: bool | None = None

    @property
    def silent_for_s(self) -> float:
        """How long the page has gone without a sign of life: a page without a heartbeat since it loaded."""
        return self.heartbeat_age_s if self.heartbeat_age_s is not None else self.page_age_s


@dataclass(frozen=True)
class WatchdogSettings:
    screen: Screen
    url: str
    browser: str
    profile_dir: Path
    #: 0: the port Chromium chooses, read from its profile.
    devtools_port: int = 0
    check_every_s: float = 5.0
    #: How long the page (and DevTools) may take to answer one check.
    answer_within_s: float = 5.0
    #: Checks in a row the page may leave unanswered before it is reloaded.
    unanswered_limit: int = 3
    #: Seconds without a heartbeat before the page is reloaded (if its server answers).
    stale_after_s: float = 60.0
    #: Seconds a new browser has to open its DevTools endpoint.
    start_within_s: float = 30.0
    #: Flags added to the browser's own (tests: headless, no sandbox).
    extra_flags: tuple[str, ...] = ()


class PageRules:
    """What to do after each check: the watchdog's decisions, without I/O."""

    def __init__(self, settings: WatchdogSettings) -> None:
        self.settings = settings
        #: Checks in a row the page left unanswered.
        self.unanswered = 0
        #: When (monotonic s) the page was last reloaded or the browser restarted.
        self.renewed_at: float | None = None

    def needs_server(self, look: Look, now: float) -> bool:
        """Whether the decision depends on the server answering: the page is silent too long, and
        was not renewed so lately that the new page could not have shown a heartbeat yet."""
        stale = self.settings.stale_after_s
        recent = self.renewed_at is not None and now - self.renewed_at < stale
        return look.answered and look.silent_for_s > stale and not recent

    def decide(self, look: Look, now: float) -> Action:
        """What to do after ``look``, seen at ``now`` (monotonic s)."""
        action = self._decide(look, now)
        if action is not Action.NONE:
            self.renewed_at = now
        return action

    def _decide(self, look: Look, now: float) -> Action:
        if not look.running or not look.devtools:
            self.unanswered = 0
            return Action.RESTART
        if not look.answered:
            self.unanswered += 1
            if self.unanswered < self.settings.unanswered_limit:
                return Action.NONE
            self.unanswered = 0
            return Action.RESTART
        self.unanswered = 0
        if self.needs_server(look, now) and look.server_answers:
            return Action.RELOAD
        return Action.NONE


class Watchdog:
    """Runs the screen's browser and looks after it until cancelled; then stops the browser."""

    def __init__(self, settings: WatchdogSettings) -> None:
        self.settings = settings
        self.rules = PageRules(settings)
        self.process: asyncio.subprocess.Process | None = None
        self._page: PageSession | None = None
        #: Every action taken, in order, and the number of checks made (for tests).
        self.actions: list[Action] = []
        self.checks = 0

    async def run(self) -> None:
        try:
            await self.start_browser()
            while True:
                await asyncio.sleep(self.settings.check_every_s)
                look = await self.look()
                if self.rules.needs_server(look, time.monotonic()):
                    look = replace(look, server_answers=await self.server_answers())
                action = self.rules.decide(look, time.monotonic())
                self.checks += 1
                if action is not Action.NONE:
                    await self.act(action, look)
        finally:
            await self.stop_browser()

    async def act(self, action: Action, look: Look) -> None:
        self.actions.append(action)
        if action is Action.RELOAD:
            log.warning("the page has been silent for %.0f s and its server answers: reloading it", look.silent_for_s)
            try:
                await self._session_call("Page.reload", {"ignoreCache": True})
            except DevToolsError as exc:
                log.warning("reloading failed (%s): restarting the browser", exc)
                await self.restart_browser()
            return
        if not look.running:
            why = "the browser has gone"
        elif not look.devtools:
            why = "the browser's DevTools do not answer"
        else:
            why = f"the page has not answered {self.settings.unanswered_limit} checks in a row"
        log.warning("%s: restarting the browser", why)
        await self.restart_browser()

    async def look(self) -> Look:
        process = self.process
        if process is None or process.returncode is not None:
            return Look(running=False, devtools=False)
        try:
            result = await self._session_call("Runtime.evaluate", {"expression": PROBE, "returnByValue": True})
        except NoAnswer:
            return Look(running=True, devtools=True, answered=False)
        except DevToolsUnreachable as exc:
            log.info("DevTools: %s", exc)
            return Look(running=process.returncode is None, devtools=False)
        except DevToolsError as exc:
            log.info("the page could not evaluate the probe: %s", exc)
            return Look(running=True, devtools=True, answered=False)
        try:
            seen = json.loads(result["result"]["value"])
            heartbeat = seen["heartbeat"]
            return Look(
                running=True, devtools=True, answered=True, page_age_s=max(0.0, seen["loaded_ms"] / 1000),
                heartbeat_age_s=None if heartbeat is None else max(0.0, (seen["now"] - heartbeat) / 1000),
            )  # fmt: skip
        except (KeyError, TypeError, ValueError):
            return Look(running=True, devtools=True, answered=False)

    async def server_answers(self) -> bool:
        """Whether the page's server answers HTTP at all (any status, to a HEAD): a reload can then load the page."""
        try:
            async with httpx.AsyncClient(timeout=self.settings.answer_within_s) as client:
                await client.head(self.settings.url)
        except httpx.HTTPError:
            return False
        return True

    async def _session_call(self, method: str, params: Json) -> Json:
        within = self.settings.answer_within_s
        if self._page is None or self._page.closed:
            port = self.devtools_port()
            if port is None:
                raise DevToolsUnreachable("the browser has not said which DevTools port it listens on")
            target = await first_page(port, within)
            self._page = await PageSession.open(str(target["webSocketDebuggerUrl"]), within)
        return await self._page.call(method, params, within)

    def devtools_port(self) -> int | None:
        return self.settings.devtools_port or devtools_port_of(self.settings.profile_dir)

    async def start_browser(self) -> None:
        settings = self.settings
        prepare_profile(settings.profile_dir)
        command = browser_command(
            settings.browser, settings.screen, settings.url, settings.profile_dir, settings.devtools_port,
            settings.extra_flags,
        )  # fmt: skip
        self.process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, start_new_session=True
        )
        log.info("started %s (pid %d) on %s", settings.browser, self.process.pid, settings.url)
        deadline = time.monotonic() + settings.start_within_s
        while time.monotonic() < deadline and self.process.returncode is None:
            port = self.devtools_port()
            if port is not None:
                with contextlib.suppress(DevToolsError):
                    await first_page(port, settings.answer_within_s)
                    return
            await asyncio.sleep(0.1)
        log.warning("the browser did not open DevTools within %.0f s", settings.start_within_s)

    async def stop_browser(self) -> None:
        if self._page is not None:
            await self._page.close()
            self._page = None
        process, self.process = self.process, None
        if process is None:
            return
        log.info("stopping the browser (pid %d)", process.pid)
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STOP_GRACE_S):
                    await process.wait()
        # Whatever is left of it (renderers of a browser that died, or one that would not stop).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        await process.wait()

    async def restart_browser(self) -> None:
        await self.stop_browser()
        await self.start_browser()
