"""deploy/devices/: the kiosk and display PC setup scripts, run here with ``--root`` (files only, under a
temporary folder): what they write, that a second run changes nothing, that the commands they put
in units and sessions are ones ``nextup`` accepts, and that bad options are refused."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from kiosk.browser import Screen
from kiosk.cli import config_from
from server.cli import parser
from tests.servers import ROOT

DEVICES = ROOT / "deploy" / "devices"
DISPLAY_SETUP = DEVICES / "setup-display-pc.sh"
KIOSK_SETUP = DEVICES / "setup-kiosk-pc.sh"


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script), *args], capture_output=True, text=True, timeout=60, check=False)


def files_under(root: Path) -> dict[str, tuple[str, int, int]]:
    """Each file written: its text, mode and modification time (ns)."""
    return {
        "/" + str(path.relative_to(root)): (path.read_text(), path.stat().st_mode & 0o777, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def environment(path: Path) -> dict[str, str]:
    """KEY=value lines of an environment file (a value may be in double quotes, as systemd reads it)."""
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return {key: value.strip('"') for key, value in (line.split("=", 1) for line in lines)}


def session_command(root: Path) -> list[str]:
    """The command the screen's session runs, with the values of screen.env put in as sh would."""
    session = (root / "usr/local/lib/nextup/screen-session").read_text()
    values = environment(root / "etc/nextup/screen.env")
    words: list[str] = []
    for word in shlex.split(next(line for line in session.splitlines() if line.startswith("exec ")))[1:]:
        if word.startswith("${") and word.endswith(":-}"):  # unquoted: split into words
            words += values.get(word[2:-3], "").split()
        elif word.startswith("$"):
            words.append(values[word[1:]])
        else:
            words.append(word)
    return words


def test_the_scripts_are_shellcheck_clean() -> None:
    """Every script of deploy/devices passes shellcheck (tests/run.sh installs it)."""
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is missing: apt-get install shellcheck (tests/run.sh does)"
    scripts = sorted(str(path) for path in DEVICES.glob("*.sh"))
    result = subprocess.run([shellcheck, "-x", *scripts], capture_output=True, text=True, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout


def test_a_display_pc_gets_its_screen_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    """The display's page with its filters, the session, the unit and the browser policy; run again, nothing moves."""
    options = ["--server", "http://10.0.0.2:8000/", "--branch", "main", "--lang", "zh", "--counters", "1,2"]
    first = run(DISPLAY_SETUP, *options, "--root", str(tmp_path))
    assert first.returncode == 0, first.stderr
    written = files_under(tmp_path)
    assert set(written) == {
        "/etc/nextup/screen.env",
        "/etc/systemd/system/nextup-screen.service",
        "/usr/local/lib/nextup/screen-session",
        "/etc/chromium/policies/managed/nextup.json",
    }
    screen = environment(tmp_path / "etc/nextup/screen.env")
    assert screen == {
        "NEXTUP_SCREEN": "display",
        "NEXTUP_SCREEN_URL": "http://10.0.0.2:8000/display/main?lang=zh&counters=1,2",
        "NEXTUP_WATCHDOG_OPTIONS": "",
    }
    assert written["/usr/local/lib/nextup/screen-session"][1] == 0o755

    second = run(DISPLAY_SETUP, *options, "--root", str(tmp_path))
    assert second.returncode == 0, second.stderr
    assert "nothing to change" in second.stdout
    assert files_under(tmp_path) == written


def test_the_screen_never_blanks_shows_no_cursor_and_no_browser_prompts(tmp_path: Path) -> None:
    """The X server runs without cursor, screen saver and DPMS; the policy turns off translate and
    the warning for the speech flag; the session's command is one nextup watchdog accepts, with the
    browser flags given to the setup."""
    options = [
        "--server",
        "http://10.0.0.2:8000",
        "--branch",
        "main",
        "--browser-flag",
        "--force-device-scale-factor=2",
    ]
    assert run(DISPLAY_SETUP, *options, "--root", str(tmp_path)).returncode == 0
    unit = (tmp_path / "etc/systemd/system/nextup-screen.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    server_options = shlex.split(exec_start.split(" -- ", 1)[1])
    assert {"-nocursor", "-dpms"} <= set(server_options) and server_options[server_options.index("-s") + 1] == "0"
    assert "Restart=always" in unit

    policy = json.loads((tmp_path / "etc/chromium/policies/managed/nextup.json").read_text())
    assert policy["TranslateEnabled"] is False and policy["CommandLineFlagSecurityWarningsEnabled"] is False

    command = session_command(tmp_path)
    assert command[0] == "/opt/nextup/bin/nextup"
    args = parser().parse_args(command[1:])
    assert (args.screen, args.url) == (Screen.DISPLAY.value, "http://10.0.0.2:8000/display/main")
    assert args.browser_flag == ["--force-device-scale-factor=2"]


def test_a_kiosk_pc_gets_its_agent_and_screen_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    """The kiosk's options in a drop-in of the shared unit (a command nextup kiosk accepts), a udev
    rule for its USB printer, the screen on the local page; run again, nothing moves."""
    options = ["--server", "http://10.0.0.2:8000", "--branch", "main", "--printer", "usb://04B8:0E15", "--paper", "58"]
    first = run(KIOSK_SETUP, *options, "--text-mode", "raster", "--root", str(tmp_path))
    assert first.returncode == 0, first.stderr
    written = files_under(tmp_path)
    assert written["/etc/systemd/system/nextup-kiosk.service"][0] == (ROOT / "deploy/nextup-kiosk.service").read_text()
    assert environment(tmp_path / "etc/nextup/screen.env")["NEXTUP_SCREEN_URL"] == "http://127.0.0.1:8080/"
    rule = written["/etc/udev/rules.d/70-nextup-printer.rules"][0]
    assert 'ATTRS{idVendor}=="04b8", ATTRS{idProduct}=="0e15"' in rule and 'GROUP="lp"' in rule

    drop_in = written["/etc/systemd/system/nextup-kiosk.service.d/setup.conf"][0]
    exec_starts = [line for line in drop_in.splitlines() if line.startswith("ExecStart=")]
    assert exec_starts[0] == "ExecStart="  # the shared unit's example command is replaced
    command = shlex.split(exec_starts[1].removeprefix("ExecStart="))
    assert command[0] == "/opt/nextup/bin/nextup"
    config = config_from(parser().parse_args(command[1:]))
    assert (config.server_url, config.branch, config.printer_url) == ("http://10.0.0.2:8000", "main", "usb://04B8:0E15")
    assert (config.paper_width_mm, config.text_mode, str(config.data_dir)) == (58, "raster", "/var/lib/nextup-kiosk")

    second = run(KIOSK_SETUP, *options, "--text-mode", "raster", "--root", str(tmp_path))
    assert second.returncode == 0 and "nothing to change" in second.stdout
    assert files_under(tmp_path) == written


@pytest.mark.parametrize(
    ("script", "options", "says"),
    [
        (DISPLAY_SETUP, ["--branch", "main"], "--server and --branch are needed"),
        (DISPLAY_SETUP, ["--server", "10.0.0.2:8000", "--branch", "main"], "must be an http:// or https:// address"),
        (DISPLAY_SETUP, ["--server", "http://a", "--branch", "main", "--lang", "fr"], "--lang is zh or en"),
        (DISPLAY_SETUP, ["--server", "http://a", "--branch", "a b"], "--branch is a branch id"),
        (KIOSK_SETUP, ["--server", "http://a", "--branch", "main"], "--printer are needed"),
        (KIOSK_SETUP, ["--server", "http://a", "--branch", "main", "--printer", "tcp://x y"], "not a printer address"),
        (
            KIOSK_SETUP,
            ["--server", "http://a", "--branch", "main", "--printer", "tcp://p", "--paper", "70"],
            "58 or 80",
        ),
        (KIOSK_SETUP, ["--server", "http://a/%h", "--branch", "main", "--printer", "tcp://p"], "plain addresses"),
        (DISPLAY_SETUP, ["--server", "http://a", "--branch", "main", "--browser-flag", "--x; rm"], "one Chromium flag"),
    ],
)
def test_bad_options_are_refused_with_a_sentence_and_nothing_written(
    tmp_path: Path, script: Path, options: list[str], says: str
) -> None:
    """A missing or malformed option: exit 2, a sentence saying what is wrong, no file written."""
    result = run(script, *options, "--root", str(tmp_path))
    assert result.returncode == 2 and says in result.stderr
    assert not any(tmp_path.iterdir())


def test_without_root_rights_a_real_setup_is_refused() -> None:
    """Not root and not --root: it says to run it as root, and does nothing."""
    if os.getuid() == 0:
        result = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "bash", str(DISPLAY_SETUP),
             "--server", "http://a", "--branch", "main"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    else:
        result = run(DISPLAY_SETUP, "--server", "http://a", "--branch", "main")
    assert result.returncode == 2 and "run it as root" in result.stderr
