"""``nextup watchdog``: run a kiosk or display PC's browser and look after it (``kiosk.watchdog``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.watchdog import Watchdog

#: Where the kiosk's touch page is served (``nextup kiosk``'s default --host and --port).
KIOSK_PAGE = "http://127.0.0.1:8080/"


def add_watchdog_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    w = commands.add_parser(
        "watchdog",
        help="run the kiosk's or display's browser full screen: reload the page if it stops answering, "
        "restart the browser if it dies (docs/devices.md)",
    )
    w.add_argument("--screen", choices=["kiosk", "display"], required=True,
                   help="kiosk: the touch page of nextup kiosk; display: a lobby display, with speech")  # fmt: skip
    w.add_argument("--url", help=f"the page (kiosk default {KIOSK_PAGE}; display: http://SERVER:8000/display/BRANCH)")
    w.add_argument("--browser", help="Chromium's command (default: chromium or chromium-browser, found on PATH)")
    w.add_argument("--profile-dir", type=Path,
                   help="the browser's profile; it keeps the display's pairing (default: per-user)")  # fmt: skip
    w.add_argument("--devtools-port", type=int, default=0,
                   help="loopback port of the browser's DevTools (default 0: one the browser chooses)")  # fmt: skip
    w.add_argument("--check-every", type=float, default=5.0, help="seconds between two checks (default 5)")
    w.add_argument("--answer-within", type=float, default=5.0, help="seconds the page has to answer (default 5)")
    w.add_argument("--unanswered-limit", type=int, default=3,
                   help="checks in a row left unanswered before a reload (default 3)")  # fmt: skip
    w.add_argument("--stale-after", type=float, default=60.0,
                   help="seconds without a heartbeat before a reload, if the server answers (default 60)")  # fmt: skip
    w.add_argument("--browser-flag", action="append", default=[], metavar="FLAG",
                   help="a flag added to the browser's, e.g. --browser-flag=--force-device-scale-factor=2")  # fmt: skip
    w.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import logging

    import platformdirs

    from kiosk.browser import Screen, find_browser
    from kiosk.watchdog import Watchdog, WatchdogSettings

    screen = Screen(args.screen)
    url = args.url or (KIOSK_PAGE if screen is Screen.KIOSK else None)
    if not url:
        print("nextup watchdog: a display needs --url http://SERVER:8000/display/BRANCH", flush=True)
        return 2
    browser = args.browser or find_browser()
    if not browser:
        print(
            "nextup watchdog: no chromium on PATH; install it (apt-get install chromium) or give --browser", flush=True
        )
        return 2
    settings = WatchdogSettings(
        screen=screen, url=url, browser=browser,
        profile_dir=args.profile_dir or platformdirs.user_data_path(f"nextup-{screen.value}-browser"),
        devtools_port=args.devtools_port, check_every_s=args.check_every, answer_within_s=args.answer_within,
        unanswered_limit=args.unanswered_limit, stale_after_s=args.stale_after, extra_flags=tuple(args.browser_flag),
    )  # fmt: skip
    # httpx logs every request at info: two lines a check.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    asyncio.run(_until_stopped(Watchdog(settings)))
    return 0


async def _until_stopped(watchdog: Watchdog) -> None:
    """Run the watchdog until SIGTERM (systemd, the end of the X session) or SIGINT; it stops its browser."""
    task = asyncio.create_task(watchdog.run())
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
