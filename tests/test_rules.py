"""The queue rules of ``server.rules`` as plain functions: no Redis, no HTTP."""

from __future__ import annotations

from collections import deque
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.config import Branch, demo_branch, parse_config
from server.rules import (
    business_day,
    choose_priority,
    estimated_wait_s,
    format_number,
    issue_refusal,
    tickets_ahead,
)

SHANGHAI = "Asia/Shanghai"

#: Weekdays 08:30-12:00 and 13:00-17:30, Saturday mornings, Sundays closed, one holiday.
HOURS_BRANCH = """
[branch]
id = "hours"
name_zh = "营业厅"
name_en = "Hall"
timezone = "Asia/Shanghai"

[hours]
mon = ["08:30-12:00", "13:00-17:30"]
tue = ["08:30-12:00", "13:00-17:30"]
wed = ["08:30-12:00", "13:00-17:30"]
thu = ["08:30-12:00", "13:00-17:30"]
fri = ["08:30-12:00", "13:00-17:30"]
sat = "09:00-12:00"
sun = "closed"
closed_dates = ["2026-10-01"]

[[services]]
id = "A"
prefix = "A"
name_zh = "个人业务"
name_en = "Personal services"
stop_issuing_before_close_min = 15

[[services]]
id = "Z"
prefix = "Z"
name_zh = "咨询"
name_en = "Enquiries"
stop_issuing_before_close_min = 0

[[counters]]
id = "1"
services = ["A", "Z"]
"""


def hours_branch() -> Branch:
    return parse_config(HOURS_BRANCH)


def around_the_clock(closed_dates: str = "[]", sunday: str = '"00:00-24:00"') -> Branch:
    """A branch open 00:00-24:00 every day (Sunday as given), service A stopping 15 min before close."""
    days = "\n".join(f'{d} = "00:00-24:00"' for d in ("mon", "tue", "wed", "thu", "fri", "sat"))
    return parse_config(
        f"""
[branch]
id = "always"
timezone = "Asia/Shanghai"
[hours]
{days}
sun = {sunday}
closed_dates = {closed_dates}
[[services]]
id = "A"
name_zh = "个人业务"
name_en = "Personal services"
stop_issuing_before_close_min = 15
[[counters]]
id = "1"
services = ["A"]
"""
    )


def local(branch: Branch, *args: int) -> datetime:
    """A moment given in the branch's local time, returned in UTC as the server's clock gives it."""
    return datetime(*args, tzinfo=branch.zone).astimezone(UTC)


# 2026-03-02 is a Monday; 2026-03-07 a Saturday, 2026-03-08 a Sunday; 2026-10-01 a Thursday.
MONDAY = (2026, 3, 2)


# --- numbering ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "number", "width", "expected"),
    [
        ("A", 1, 3, "A001"),
        ("A", 42, 3, "A042"),
        ("A", 999, 3, "A999"),
        ("B", 7, 4, "B0007"),
        ("VB", 12, 2, "VB12"),
        # Past its width a number grows rather than wrapping: a busy day never repeats a number.
        ("A", 1000, 3, "A1000"),
    ],
)
def test_format_number_pads_to_width(prefix: str, number: int, width: int, expected: str) -> None:
    """A ticket number is the prefix and the day's sequence zero-padded to the configured width."""
    assert format_number(prefix, number, width) == expected


# --- business day ------------------------------------------------------------------------------


def test_business_day_follows_branch_time_zone_not_utc() -> None:
    """At 16:00 UTC it is already the next day in Shanghai (UTC+8)."""
    branch = demo_branch()
    assert business_day(branch, datetime(2026, 3, 2, 15, 59, 59, tzinfo=UTC)) == date(2026, 3, 2)
    assert business_day(branch, datetime(2026, 3, 2, 16, 0, tzinfo=UTC)) == date(2026, 3, 3)
    assert business_day(branch, datetime(2026, 3, 2, 23, 59, tzinfo=UTC)) == date(2026, 3, 3)


def test_business_day_west_of_utc_lags_behind() -> None:
    """West of Greenwich the business day is still yesterday early in the UTC morning."""
    branch = parse_config(HOURS_BRANCH.replace(SHANGHAI, "America/New_York"))
    assert business_day(branch, datetime(2026, 3, 3, 3, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert business_day(branch, datetime(2026, 3, 3, 5, 0, tzinfo=UTC)) == date(2026, 3, 3)


def test_business_day_across_daylight_saving_change() -> None:
    """Local midnight moves with daylight saving time (Berlin: UTC+1 in winter, UTC+2 in summer)."""
    branch = parse_config(HOURS_BRANCH.replace(SHANGHAI, "Europe/Berlin"))
    assert business_day(branch, datetime(2026, 1, 15, 23, 0, tzinfo=UTC)) == date(2026, 1, 16)
    assert business_day(branch, datetime(2026, 7, 15, 22, 0, tzinfo=UTC)) == date(2026, 7, 16)
    assert business_day(branch, datetime(2026, 7, 15, 21, 59, tzinfo=UTC)) == date(2026, 7, 15)


# --- choosing priority or regular ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("streak", "cap", "priority_waiting", "regular_waiting", "expected"),
    [
        (0, 1, True, True, True),  # priority first
        (1, 1, True, True, False),  # cap reached: a regular ticket's turn
        (1, 1, True, False, True),  # only priority waits: no reason to hold it back
        (5, 1, True, False, True),
        (1, 2, True, True, True),  # cap 2 lets a second priority through
        (2, 2, True, True, False),
        (0, 1, False, True, False),
        (3, 1, False, True, False),
        (0, 1, False, False, None),  # nothing waits
        (4, 2, False, False, None),
    ],
)
def test_choose_priority_table(
    streak: int, cap: int, priority_waiting: bool, regular_waiting: bool, expected: bool | None
) -> None:
    """Priority goes first, but after `cap` in a row a waiting regular ticket is taken."""
    assert choose_priority(streak, cap, priority_waiting, regular_waiting) is expected


@given(
    cap=st.integers(min_value=1, max_value=4),
    steps=st.lists(st.sampled_from(["issue_priority", "issue_regular", "call"]), max_size=200),
)
def test_choose_priority_never_starves_regular(cap: int, steps: list[str]) -> None:
    """Over any sequence of arrivals and calls, at most `cap` priority calls in a row while regular waits."""
    priority, regular = 0, 0
    streak = 0
    for step in steps:
        if step == "issue_priority":
            priority += 1
        elif step == "issue_regular":
            regular += 1
        else:
            chosen = choose_priority(streak, cap, priority > 0, regular > 0)
            if chosen is None:
                assert priority == regular == 0
                continue
            if chosen:
                assert priority > 0
                # A priority call past the cap is allowed only when no regular ticket waits.
                assert streak < cap or regular == 0
                priority -= 1
                streak += 1
            else:
                assert regular > 0
                # A regular ticket is taken over a waiting priority one only once the cap is reached.
                assert priority == 0 or streak >= cap
                regular -= 1
                streak = 0


# --- tickets ahead and the wait estimate ----------------------------------------------------------


def simulate_calls_before(priority: bool, same_class_ahead: int, other_class_waiting: int, cap: int) -> int:
    """Calls one counter makes, from a fresh streak, before it reaches the ticket described."""
    queues = {
        priority: deque(["ahead"] * same_class_ahead + ["me"]),
        not priority: deque(["other"] * other_class_waiting),
    }
    streak, calls = 0, 0
    while True:
        chosen = choose_priority(streak, cap, bool(queues[True]), bool(queues[False]))
        assert chosen is not None
        if queues[chosen].popleft() == "me":
            return calls
        streak = streak + 1 if chosen else 0
        calls += 1


@pytest.mark.parametrize(
    ("priority", "same", "other", "cap", "expected"),
    [
        (False, 0, 0, 1, 0),
        (False, 2, 0, 1, 2),
        (False, 0, 3, 1, 1),  # one priority ticket goes before a regular one
        (False, 2, 5, 1, 5),  # P R P R P me
        (False, 2, 5, 2, 7),  # P P R P P R P me: the cap lets two through each time
        (True, 0, 9, 1, 0),
        (True, 3, 9, 1, 6),  # P R P R P R me
        (True, 3, 1, 1, 4),  # only one regular to interleave
        (True, 3, 9, 2, 4),  # P P R P me
    ],
)
def test_tickets_ahead_examples(priority: bool, same: int, other: int, cap: int, expected: int) -> None:
    """`ahead` counts the tickets call-next takes first, interleaving the classes with the cap."""
    assert tickets_ahead(priority, same, other, cap) == expected


@given(
    priority=st.booleans(),
    same=st.integers(min_value=0, max_value=30),
    other=st.integers(min_value=0, max_value=30),
    cap=st.integers(min_value=1, max_value=5),
)
def test_tickets_ahead_matches_simulated_calls(priority: bool, same: int, other: int, cap: int) -> None:
    """`tickets_ahead` equals the number of calls a counter really makes first (fresh streak)."""
    assert tickets_ahead(priority, same, other, cap) == simulate_calls_before(priority, same, other, cap)


@pytest.mark.parametrize(
    ("ahead", "handling", "counters", "expected"),
    [
        (0, 300, 2, 0),
        (3, 300, 1, 900),
        (3, 300, 2, 450),
        (5, 180, 3, 300),
        (1, 100, 3, 33),  # rounded to whole seconds
        (2, 100, 3, 67),
        (4, 300, 0, 1200),  # no counter open: assume one will open
    ],
)
def test_estimated_wait_is_ahead_times_handling_over_open_counters(
    ahead: int, handling: int, counters: int, expected: int
) -> None:
    """The simple estimate: people ahead x handling time / open counters serving the service."""
    assert estimated_wait_s(ahead, handling, counters) == expected


# --- when tickets are issued ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "service"),
    [
        ((*MONDAY, 8, 30), "A"),  # opening minute
        ((*MONDAY, 11, 44), "A"),  # last minute before the lunch-break margin
        ((*MONDAY, 13, 0), "A"),
        ((*MONDAY, 17, 14), "A"),
        ((*MONDAY, 17, 29), "Z"),  # a zero margin issues up to the closing minute
        ((2026, 3, 7, 10, 0), "A"),  # Saturday morning
    ],
)
def test_issue_allowed_while_open(moment: tuple[int, ...], service: str) -> None:
    """Inside an opening interval and before the service's margin, tickets are issued."""
    branch = hours_branch()
    assert issue_refusal(branch, service, local(branch, *moment)) is None


@pytest.mark.parametrize(
    "moment",
    [
        (*MONDAY, 8, 29),  # before opening
        (*MONDAY, 12, 0),  # lunch break (the end of an interval is exclusive)
        (*MONDAY, 12, 59),
        (*MONDAY, 17, 30),  # closing time
        (*MONDAY, 23, 0),
        (2026, 3, 7, 12, 0),  # Saturday afternoon
    ],
)
def test_issue_refused_outside_hours(moment: tuple[int, ...]) -> None:
    """Outside the opening intervals the refusal is "closed", in English and Chinese."""
    branch = hours_branch()
    refusal = issue_refusal(branch, "A", local(branch, *moment))
    assert refusal is not None
    assert refusal.code == "closed"
    assert refusal.message == "The branch is closed now."
    assert refusal.message_zh == "网点当前不在营业时间。"


def test_issue_refused_on_closed_weekday() -> None:
    """A weekday marked "closed" refuses all day."""
    branch = hours_branch()
    for hour in (0, 9, 14, 23):
        refusal = issue_refusal(branch, "A", local(branch, 2026, 3, 8, hour, 0))
        assert refusal is not None and refusal.code == "closed"


def test_issue_refused_on_closed_date_saying_today() -> None:
    """A closed date (holiday) refuses even in the weekday's hours, and says so for the whole day."""
    branch = hours_branch()
    refusal = issue_refusal(branch, "A", local(branch, 2026, 10, 1, 10, 0))
    assert refusal is not None
    assert refusal.code == "closed"
    assert refusal.message == "The branch is closed today."
    assert refusal.message_zh == "本网点今日不营业。"
    # The Thursday after is a normal day.
    assert issue_refusal(branch, "A", local(branch, 2026, 10, 8, 10, 0)) is None


def test_closed_date_is_a_local_date() -> None:
    """The closed date starts at local midnight: 16:00 UTC on 30 September is already 1 October."""
    branch = around_the_clock(closed_dates='["2026-10-01"]')
    refusal = issue_refusal(branch, "A", datetime(2026, 9, 30, 16, 0, tzinfo=UTC))
    assert refusal is not None and refusal.code == "closed"
    assert issue_refusal(branch, "A", datetime(2026, 9, 30, 15, 0, tzinfo=UTC)) is None


@pytest.mark.parametrize("moment", [(*MONDAY, 17, 15), (*MONDAY, 17, 29), (*MONDAY, 11, 45)])
def test_issue_stops_within_the_service_margin(moment: tuple[int, ...]) -> None:
    """Within stop_issuing_before_close_min of a closing time the refusal is "stopped_issuing"."""
    branch = hours_branch()
    refusal = issue_refusal(branch, "A", local(branch, *moment))
    assert refusal is not None
    assert refusal.code == "stopped_issuing"
    assert "Personal services" in refusal.message
    assert refusal.message_zh.startswith("个人业务今日已停止取号")


def test_hours_are_read_in_branch_time_zone() -> None:
    """08:30 in Shanghai is 00:30 UTC: the UTC clock of the server is converted first."""
    branch = hours_branch()
    assert issue_refusal(branch, "A", datetime(2026, 3, 2, 0, 30, tzinfo=UTC)) is None
    refusal = issue_refusal(branch, "A", datetime(2026, 3, 2, 0, 29, tzinfo=UTC))
    assert refusal is not None and refusal.code == "closed"


@pytest.mark.parametrize(("hour", "minute"), [(23, 45), (23, 50), (23, 59), (0, 0), (0, 5)])
def test_around_the_clock_never_stops_issuing_at_midnight(hour: int, minute: int) -> None:
    """00:00-24:00 followed by 00:00-24:00 is one opening: no "stopped_issuing" before midnight."""
    branch = around_the_clock()
    assert issue_refusal(branch, "A", local(branch, *MONDAY, hour, minute)) is None


def test_around_the_clock_stops_before_a_closed_next_day() -> None:
    """Midnight is a real closing time when the next day is closed, so the margin applies again."""
    branch = around_the_clock(sunday='"closed"')
    saturday = (2026, 3, 7)
    refusal = issue_refusal(branch, "A", local(branch, *saturday, 23, 50))
    assert refusal is not None and refusal.code == "stopped_issuing"
    assert issue_refusal(branch, "A", local(branch, *saturday, 23, 44)) is None
    holiday_eve = around_the_clock(closed_dates='["2026-03-03"]')
    refusal = issue_refusal(holiday_eve, "A", local(holiday_eve, *MONDAY, 23, 50))
    assert refusal is not None and refusal.code == "stopped_issuing"


@given(moment=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_demo_branch_always_issues(moment: datetime) -> None:
    """The demo branch is open around the clock: no moment refuses any of its services."""
    branch = demo_branch()
    for service in branch.services:
        assert issue_refusal(branch, service, moment) is None


@given(minute_of_week=st.integers(min_value=0, max_value=7 * 24 * 60 - 1))
def test_refusal_agrees_with_the_hours(minute_of_week: int) -> None:
    """Issuing is allowed exactly inside an interval and before the service's margin."""
    branch = hours_branch()
    moment = local(branch, *MONDAY, 0, 0) + timedelta(minutes=minute_of_week)
    local_moment = moment.astimezone(branch.zone)
    minute = local_moment.hour * 60 + local_moment.minute
    inside = [(s, e) for s, e in branch.hours[local_moment.weekday()] if s <= minute < e]
    refusal = issue_refusal(branch, "A", moment)
    if not inside:
        assert refusal is not None and refusal.code == "closed"
    elif minute < inside[0][1] - branch.services["A"].stop_issuing_before_close_min:
        assert refusal is None
    else:
        assert refusal is not None and refusal.code == "stopped_issuing"
