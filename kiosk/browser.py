"""How a kiosk or display PC starts Chromium: the command line, and the profile fixed up before each start.

``nextup watchdog`` (``kiosk.watchdog``) starts the browser with ``browser_command`` and restarts it
when it dies. The flags make a screen nobody has to touch: full screen with no browser interface,
no first-run, crash-restore, translate or password prompts, sound without a click (the display's
chime and speech), and DevTools on loopback only, for the watchdog. Policies that flags cannot
set are in the policy file the setup scripts install (``deploy/devices/chromium-policy.json``).
"""

from __future__ import annotations

import json
import os
import shutil
from enum import Enum
from pathlib import Path

#: What every device screen runs with.
SCREEN_FLAGS = (
    "--kiosk",
    "--noerrdialogs",
    "--no-first-run",
    "--no-default-browser-check",
    # The "Chromium didn't shut down correctly: Restore?" bubble after a power cut or a restart.
    "--hide-crash-restore-bubble",
    "--disable-session-crashed-bubble",
    "--disable-features=Translate,TranslateUI",
    "--disable-pinch",
    "--overscroll-history-navigation=0",
    # No "Chromium is out of date" bubble on a PC that is upgraded by apt, when it is.
    "--check-for-update-interval=31536000",
    # No prompt to unlock a keyring at boot.
    "--password-store=basic",
    # The display's chime and spoken call, and the kiosk's sounds, without a click first.
    "--autoplay-policy=no-user-gesture-required",
    "--lang=zh-CN",
)

#: Chromium on Linux speaks only through speech-dispatcher, and only with this flag: without it
#: speechSynthesis has no voice at all (Debian's chromium included; its policy file silences the
#: warning Chromium shows for the flag).
SPEECH_FLAGS = ("--enable-speech-dispatcher",)


class Screen(str, Enum):
    #: The ticket kiosk's touch screen, the page `nextup kiosk` serves on loopback.
    KIOSK = "kiosk"
    #: A lobby display (TV): /display/{branch} of the server, which speaks the calls.
    DISPLAY = "display"


#: The browser's name on Debian, then on Raspberry Pi OS before it took Debian's.
BROWSER_NAMES = ("chromium", "chromium-browser")


def find_browser() -> str | None:
    """The Chromium on this PC's PATH, or None."""
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def browser_command(
    browser: str, screen: Screen, url: str, profile_dir: Path, devtools_port: int, extra_flags: tuple[str, ...] = ()
) -> list[str]:
    """The command line of the screen's browser. ``devtools_port`` 0 lets Chromium choose a free port,
    which it writes to ``profile_dir/DevToolsActivePort`` (``devtools_port_of``)."""
    speech = SPEECH_FLAGS if screen is Screen.DISPLAY else ()
    return [
        browser,
        *SCREEN_FLAGS,
        *speech,
        f"--user-data-dir={profile_dir}",
        f"--remote-debugging-port={devtools_port}",
        "--remote-debugging-address=127.0.0.1",
        *extra_flags,
        url,
    ]


def devtools_port_of(profile_dir: Path) -> int | None:
    """The DevTools port the browser of ``profile_dir`` listens on, once it has written it."""
    try:
        first_line = (profile_dir / "DevToolsActivePort").read_text().splitlines()[0]
        return int(first_line)
    except (OSError, IndexError, ValueError):
        return None


def prepare_profile(profile_dir: Path) -> None:
    """Before each start: the profile private to this user, no stale DevTools port, and the last
    session marked as ended cleanly, so a browser that was killed or lost power does not offer to
    restore it."""
    profile_dir.mkdir(parents=True, exist_ok=True)
    profile_dir.chmod(0o700)  # it holds the display's device cookie
    (profile_dir / "DevToolsActivePort").unlink(missing_ok=True)
    preferences = profile_dir / "Default" / "Preferences"
    try:
        data = json.loads(preferences.read_text("utf-8"))
    except (OSError, ValueError):
        return  # a first start, or a file Chromium will write anew
    if not isinstance(data, dict):
        return
    profile = data.setdefault("profile", {})
    if not isinstance(profile, dict) or (profile.get("exit_type") == "Normal" and profile.get("exited_cleanly")):
        return
    profile["exit_type"] = "Normal"
    profile["exited_cleanly"] = True
    written = preferences.with_name("Preferences.nextup")
    written.write_text(json.dumps(data), "utf-8")
    os.replace(written, preferences)
