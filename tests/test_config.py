"""The branch TOML file: the documented example, `nextup check-config`, and the demo branch."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from server.config import WEEKDAYS, demo_branch, load_config, parse_config
from server.errors import ConfigError
from server.rules import CounterStatus
from tests.servers import ROOT

EXAMPLE = ROOT / "deploy" / "branch.example.toml"

#: A branch file with many mistakes; the comment on each faulty line names the key reported there.
BROKEN = """\
[branch]
id = "bad branch"                        # branch.id
name_zh = "坏网点"
name_en = "Bad"
timezone = "Mars/Olympus"                # branch.timezone
number_width = 9                         # branch.number_width
allow_priority = "yes"                   # branch.allow_priority
priority_cap = 0                         # branch.priority_cap

[hours]
mon = ["08:30-12:00", "12:00-25:00"]     # hours.mon
funday = "09:00-10:00"                   # hours.funday
closed_dates = ["2026-13-01"]            # hours.closed_dates

[[services]]
id = "A"
prefix = "A"
name_zh = "个人业务"
name_en = "Personal"

[[services]]
id = "B"                                 # services.1.id
prefix = "A"                             # services.1.prefix
name_zh = "对公业务"
name_en = "Business"
daily_cap = -1                           # services.1.daily_cap

[[services]]                             # services.2.name_en
id = "C"
prefix = "C"
name_zh = "咨询"

[[counters]]
id = "1"
services = ["A", "X", "C"]               # counters.0.services
initial_status = "paused"                # counters.0.initial_status

[[counters]]
id = "2"
services = "B"                           # counters.1.services
"""

_PROBLEM = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<key>[\w.]+): (?P<message>.+)$")


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "check-config", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def marked_lines(text: str) -> list[tuple[int, str]]:
    """(line, key) for every line of ``text`` whose trailing comment names a key."""
    marks = []
    for number, line in enumerate(text.splitlines(), start=1):
        _, sep, comment = line.partition("# ")
        if sep and re.fullmatch(r"[\w.]+", comment.strip()):
            marks.append((number, comment.strip()))
    return marks


def test_example_file_parses_with_every_setting() -> None:
    """deploy/branch.example.toml is valid and sets what its comments describe."""
    branch = load_config(EXAMPLE)
    assert branch.id == "sh-pudong-01"
    assert branch.timezone == "Asia/Shanghai"
    assert (branch.number_width, branch.priority_cap) == (3, 1)
    assert (branch.no_show_window_min, branch.no_show_places_back) == (30, 3)
    assert branch.allow_priority is True
    monday = WEEKDAYS.index("mon")
    assert branch.hours[monday] == ((8 * 60 + 30, 12 * 60), (13 * 60, 17 * 60 + 30))
    assert branch.hours[WEEKDAYS.index("sat")] == ((9 * 60, 16 * 60),)
    assert branch.hours[WEEKDAYS.index("sun")] == ()
    assert date(2026, 10, 1) in branch.closed_dates
    assert list(branch.services) == ["A", "B", "C", "V"]
    assert branch.services["V"].daily_cap == 40
    assert branch.services["B"].stop_issuing_before_close_min == 30
    assert branch.services["C"].average_handling_s == 180
    assert branch.counters["vip"].services == ("V",)
    assert branch.counters["1"].services == ("A", "C")
    assert branch.counters["1"].initial_status == "open"
    assert branch.counters["3"].initial_status == "closed"


def test_check_config_accepts_the_example() -> None:
    """`nextup check-config` on the example prints OK and exits 0."""
    result = check_config(EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    assert "sh-pudong-01" in result.stdout
    assert result.stderr == ""


def test_check_config_reports_every_error_with_its_line(tmp_path: Path) -> None:
    """Each mistake of a broken file is reported once, at the line that holds it, and it exits 1."""
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN, encoding="utf-8")
    result = check_config(path)
    assert result.returncode == 1
    *problems, summary = result.stderr.strip().splitlines()
    reported = []
    for problem in problems:
        match = _PROBLEM.match(problem)
        assert match, f"not 'file:line: key: message': {problem!r}"
        assert match["file"] == str(path)
        reported.append((int(match["line"]), match["key"]))
    expected = [
        (2, "branch.id"),
        (5, "branch.timezone"),
        (6, "branch.number_width"),
        (7, "branch.allow_priority"),
        (8, "branch.priority_cap"),
        (11, "hours.mon"),
        (12, "hours.funday"),
        (13, "hours.closed_dates"),
        (22, "services.1.id"),  # no counter serves B (counter 2's list is not a list)
        (23, "services.1.prefix"),
        (26, "services.1.daily_cap"),
        (28, "services.2.name_en"),  # missing: reported at its [[services]] header
        (35, "counters.0.services"),
        (36, "counters.0.initial_status"),
        (40, "counters.1.services"),
    ]
    assert sorted(reported) == expected
    # The comments in BROKEN name the same places, so the file and the expectation cannot drift.
    assert sorted(set(marked_lines(BROKEN))) == sorted(set(expected))
    assert summary == f"{len(expected)} problem(s) found"
    messages = "\n".join(problems)
    assert "unknown time zone 'Mars/Olympus'" in messages
    assert "'12:00-25:00' must start before it ends" in messages
    assert "prefix 'A' is already used" in messages
    assert "unknown service 'X'" in messages
    assert "no counter serves service 'B'" in messages


def test_check_config_reports_invalid_toml(tmp_path: Path) -> None:
    """A file that is not TOML is reported with the parser's line and column, exit 1."""
    path = tmp_path / "typo.toml"
    path.write_text('[branch]\nid = "main\nname_zh = "网点"\n', encoding="utf-8")
    result = check_config(path)
    assert result.returncode == 1
    assert f"{path}: not valid TOML" in result.stderr
    assert "line 2" in result.stderr


def test_check_config_reports_missing_file(tmp_path: Path) -> None:
    """A path that does not exist is one problem, not a traceback."""
    result = check_config(tmp_path / "nowhere.toml")
    assert result.returncode == 1
    assert "cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_parse_config_raises_config_error_listing_problems() -> None:
    """parse_config raises ConfigError whose problems are the reported lines."""
    with pytest.raises(ConfigError) as caught:
        parse_config(BROKEN, "broken.toml")
    assert len(caught.value.problems) == 15
    assert all(p.startswith("broken.toml:") for p in caught.value.problems)


def test_minimal_file_takes_documented_defaults() -> None:
    """Without [hours] the branch is open around the clock; unset numbers take their defaults."""
    branch = parse_config(
        '[branch]\nid = "x"\n[[services]]\nid = "A"\nname_zh = "甲"\nname_en = "A"\n'
        '[[counters]]\nid = "1"\nservices = ["A"]\n'
    )
    assert all(branch.hours[day] == ((0, 24 * 60),) for day in range(7))
    assert (branch.number_width, branch.priority_cap, branch.no_show_window_min) == (3, 1, 30)
    assert branch.services["A"].prefix == "A"
    assert branch.services["A"].stop_issuing_before_close_min == 15
    assert branch.counters["1"].initial_status == "closed"


def test_weekday_left_out_of_hours_is_closed() -> None:
    """With an [hours] table, a weekday it does not list has no opening interval."""
    branch = parse_config(
        '[branch]\nid = "x"\n[hours]\nmon = "09:00-17:00"\n[[services]]\nid = "A"\nname_zh = "甲"\n'
        'name_en = "A"\n[[counters]]\nid = "1"\nservices = ["A"]\n'
    )
    assert branch.hours[0] == ((9 * 60, 17 * 60),)
    assert all(branch.hours[day] == () for day in range(1, 7))


def test_demo_branch_is_consistent() -> None:
    """The built-in branch `main`: around the clock, A-C each served by an open counter, counters 1-4."""
    branch = demo_branch()
    assert branch.id == "main"
    assert list(branch.services) == ["A", "B", "C"]
    assert list(branch.counters) == ["1", "2", "3", "4"]
    assert all(service.id == key for key, service in branch.services.items())
    assert len({s.prefix for s in branch.services.values()}) == len(branch.services)
    assert all(counter.initial_status == CounterStatus.OPEN for counter in branch.counters.values())
    for service in branch.services:
        assert branch.counters_serving(service), f"no counter serves {service}"
    for counter in branch.counters.values():
        assert set(counter.services) <= set(branch.services)
    assert all(branch.hours[day] == ((0, 24 * 60),) for day in range(7))
    assert branch.closed_dates == frozenset()
    assert branch.zone.key == "Asia/Shanghai"
    assert (branch.priority_cap, branch.no_show_places_back, branch.no_show_window_min) == (1, 3, 30)
