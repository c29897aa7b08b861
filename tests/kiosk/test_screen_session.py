"""The screen's X session (deploy/devices/screen-session.sh) under Xvfb: its window manager and
``nextup watchdog`` show the page in a window that fills the screen (without a window manager
Chromium's kiosk window does not), as on a kiosk or display PC; only the X server differs (Xvfb
here, Xorg on tty7 there). Xvfb, x11-utils and matchbox-window-manager: tests/run.sh installs them."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kiosk.pages import PageServer
from tests.servers import ROOT

pytestmark = pytest.mark.browser

SESSION = ROOT / "deploy" / "devices" / "screen-session.sh"
WIDTH, HEIGHT = 1280, 720
PAGE = "<title>NextUp screen</title><script>window.nextupHeartbeat = Date.now();</script>"


def needed(program: str) -> str:
    found = shutil.which(program)
    assert found, f"{program} is missing: tests/run.sh installs it (xvfb, x11-utils, matchbox-window-manager)"
    return found


@pytest.fixture
def display() -> Iterator[str]:
    """A virtual X screen of WIDTH x HEIGHT; its name, e.g. ":5"."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        [needed("Xvfb"), "-displayfd", str(write), "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
        pass_fds=(write,), stderr=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(write)
    with os.fdopen(read) as numbers:
        number = numbers.readline().strip()
    try:
        assert number.isdigit(), "Xvfb did not start"
        yield f":{number}"
    finally:
        xvfb.terminate()
        xvfb.wait(10)


def windows(display: str) -> list[tuple[str, str]]:
    """(title, geometry) of every named window on the screen."""
    tree = subprocess.run(
        [needed("xwininfo"), "-root", "-tree"], capture_output=True, env={**os.environ, "DISPLAY": display},
        check=True, timeout=10,
    ).stdout.decode(errors="replace")  # fmt: skip
    return re.findall(r'"([^"]*)": \((?:"[^"]*"\s*)*\)\s+(\d+x\d+\+-?\d+\+-?\d+)', tree)


def test_the_session_shows_the_page_full_screen(display: str, tmp_path: Path) -> None:
    """The session's window manager and watchdog: the page loads and its window covers the whole screen."""
    needed("matchbox-window-manager")
    # The session as installed, but with this checkout's nextup instead of /opt/nextup's.
    session = tmp_path / "screen-session"
    nextup = Path(sys.executable).with_name("nextup")
    session.write_text(SESSION.read_text().replace("/opt/nextup/bin/nextup", str(nextup)))
    with PageServer({"/": [PAGE]}) as pages:
        env = {
            **os.environ, "DISPLAY": display, "HOME": str(tmp_path),
            "NEXTUP_SCREEN": "kiosk", "NEXTUP_SCREEN_URL": pages.url("/"),
            # Root here: Chromium needs --no-sandbox (a device PC runs it as nextup-screen, sandboxed).
            "NEXTUP_WATCHDOG_OPTIONS": f"--profile-dir={tmp_path / 'profile'} --browser-flag=--no-sandbox "
                                       "--browser-flag=--disable-gpu",
        }  # fmt: skip
        running = subprocess.Popen(["sh", str(session)], env=env, start_new_session=True, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not [geometry for title, geometry in windows(display) if title.startswith("NextUp screen")]:
                assert running.poll() is None, "the session ended"
                assert time.monotonic() < deadline, f"no page window within 30 s: {windows(display)}"
                time.sleep(0.1)
            deadline = time.monotonic() + 10
            while (shown := [g for t, g in windows(display) if t.startswith("NextUp screen")]) != [
                f"{WIDTH}x{HEIGHT}+0+0"
            ]:
                assert time.monotonic() < deadline, f"the page's window is {shown}, not the whole screen"
                time.sleep(0.1)
            assert pages.loads["/"] == 1
        finally:
            os.killpg(running.pid, signal.SIGTERM)  # the watchdog stops its browser; the window manager ends
            running.wait(15)
