"""A scripted day at the hall, with fixed times: every metric equals its hand-computed value.

The script (Shanghai time, Monday 2026-03-02); alice works counter 1 (A, B), bob counter 2 (B):

    09:00 both counters open; A001 issued      09:15 alice calls A002 (waited 13 min > 10: late)
    09:02 A002 issued                          09:16 alice: A002 no-show
    09:05 B001 issued                          09:20 alice calls A003 (waited 10 min: on target)
    09:06 alice calls A001 (waited 6 min)      09:25 alice transfers A003 to B
    09:08 bob calls B001 (waited 3 min)        09:26 bob calls A003 (a second call: no new wait)
    09:10 alice serves A001 (4 min); A003      09:36 bob serves A003 (10 min at his counter)
    09:14 bob serves B001 (6 min); A001's      09:40 B002 issued; 09:45 its holder cancels it
          holder rates it 5                    09:50 counter 1 closes
    10:05 A003's holder rates it 2 (B now)     10:30 A004 issued
    report at 10:45: counter 2 still open, A004 waiting for 15 min
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from server.clock import ManualClock
from tests.metrics.conftest import Hall, running_hall, shanghai
from tests.metrics.test_stats import textbook_counters_needed

pytestmark = pytest.mark.redis


def _open_both(hall: Hall) -> None:
    hall.at(9, 0).act(hall.alice, "1", "open")
    hall.act(hall.bob, "2", "open")


def _call(hall: Hall, at: tuple[int, int], who: str, counter: str, number: str) -> None:
    token = hall.alice if who == "alice" else hall.bob
    assert hall.at(*at).act(token, counter, "call-next").json()["number"] == number


def _cancel_b002(hall: Hall) -> None:
    b002 = hall.at(9, 40).issue("B")
    hall.at(9, 45).cancel(b002)


#: The day, one step at a time, so a test can stop the server between any two steps.
STEPS: list[Callable[[Hall], object]] = [
    _open_both,
    lambda h: h.issue("A"),
    lambda h: h.at(9, 2).issue("A"),
    lambda h: h.at(9, 5).issue("B"),
    lambda h: _call(h, (9, 6), "alice", "1", "A001"),
    lambda h: _call(h, (9, 8), "bob", "2", "B001"),
    lambda h: h.at(9, 10).act(h.alice, "1", "finish"),
    lambda h: h.issue("A"),
    lambda h: h.at(9, 14).act(h.bob, "2", "finish"),
    lambda h: h.rate("A001", 5),
    lambda h: _call(h, (9, 15), "alice", "1", "A002"),
    lambda h: h.at(9, 16).act(h.alice, "1", "no-show"),
    lambda h: _call(h, (9, 20), "alice", "1", "A003"),
    lambda h: h.at(9, 25).act(h.alice, "1", "transfer", {"service": "B"}),
    lambda h: _call(h, (9, 26), "bob", "2", "A003"),
    lambda h: h.at(9, 36).act(h.bob, "2", "finish"),
    _cancel_b002,
    lambda h: h.at(9, 50).act(h.alice, "1", "close"),
    lambda h: h.at(10, 5).rate("A003", 2),
    lambda h: h.at(10, 30).issue("A"),
    lambda h: h.at(10, 45),
]


def play_the_day(hall: Hall) -> None:
    for step in STEPS:
        step(hall)


def durations(
    count: int, mean: float | None, median: float | None, p90: float | None, top: float | None
) -> dict[str, Any]:
    return {"count": count, "mean_s": mean, "median_s": median, "p90_s": p90, "max_s": top}


NO_DURATIONS = durations(0, None, None, None, None)


def figures(**given: Any) -> dict[str, Any]:
    """A bucket of metrics: zeros and nulls except what is given."""
    bucket: dict[str, Any] = {
        "issued": 0, "called": 0, "calls": 0, "served": 0, "no_shows": 0, "cancelled": 0, "transferred": 0,
        "within_target": 0, "service_level": None, "wait": NO_DURATIONS, "handling": NO_DURATIONS,
        "busy_s": 0.0, "open_s": 0.0, "utilisation": None, "ratings": 0, "rating_mean": None,
    }  # fmt: skip
    bucket.update(given)
    return bucket


# Waits 360, 180, 780, 600 s; handling 240, 360 (B001), 600 (A003 at counter 2) s.
EXPECTED_TOTALS = figures(
    issued=6, called=4, calls=5, served=3, no_shows=1, cancelled=1, transferred=1, within_target=3, service_level=0.75,
    wait=durations(4, 480.0, 480.0, 780.0, 780.0), handling=durations(3, 400.0, 360.0, 600.0, 600.0),
    busy_s=1560.0, open_s=9300.0, utilisation=round(1560 / 9300, 4), ratings=2, rating_mean=3.5,
)  # fmt: skip
EXPECTED_BY_SERVICE = {
    "A": figures(issued=4, called=3, calls=3, served=1, no_shows=1, transferred=1, within_target=2,
                 service_level=round(2 / 3, 4), wait=durations(3, 580.0, 600.0, 780.0, 780.0),
                 handling=durations(1, 240.0, 240.0, 240.0, 240.0), ratings=1, rating_mean=5.0),
    "B": figures(issued=2, called=1, calls=2, served=2, cancelled=1, within_target=1, service_level=1.0,
                 wait=durations(1, 180.0, 180.0, 180.0, 180.0), handling=durations(2, 480.0, 480.0, 600.0, 600.0),
                 ratings=1, rating_mean=2.0),
}  # fmt: skip
EXPECTED_BY_COUNTER = {
    # Counter 1: busy 09:06-09:10, 09:15-09:16, 09:20-09:25; open 09:00-09:50.
    "1": figures(called=3, calls=3, served=1, no_shows=1, transferred=1, within_target=2, service_level=round(2 / 3, 4),
                 wait=durations(3, 580.0, 600.0, 780.0, 780.0), handling=durations(1, 240.0, 240.0, 240.0, 240.0),
                 busy_s=600.0, open_s=3000.0, utilisation=0.2, ratings=1, rating_mean=5.0),
    # Counter 2: busy 09:08-09:14, 09:26-09:36; open 09:00 until the report at 10:45.
    # A003's second call (after its transfer) is bob's work: 2 calls, 2 served.
    "2": figures(called=1, calls=2, served=2, within_target=1, service_level=1.0,
                 wait=durations(1, 180.0, 180.0, 180.0, 180.0), handling=durations(2, 480.0, 480.0, 600.0, 600.0),
                 busy_s=960.0, open_s=6300.0, utilisation=round(960 / 6300, 4), ratings=1, rating_mean=2.0),
}  # fmt: skip
EXPECTED_BY_STAFF = {"alice": EXPECTED_BY_COUNTER["1"], "bob": EXPECTED_BY_COUNTER["2"]}
EXPECTED_BY_HOUR = {
    "09": figures(
        issued=5, called=4, calls=5, served=3, no_shows=1, cancelled=1, transferred=1, within_target=3,
        service_level=0.75,
        wait=durations(4, 480.0, 480.0, 780.0, 780.0), handling=durations(3, 400.0, 360.0, 600.0, 600.0),
        busy_s=1560.0, open_s=6600.0, utilisation=round(1560 / 6600, 4), ratings=1, rating_mean=5.0,
    ),
    "10": figures(issued=1, open_s=2700.0, utilisation=0.0, ratings=1, rating_mean=2.0),
}  # fmt: skip


@pytest.fixture(scope="module")
def played(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hall]:
    """The day played once for the module's tests, which only read it (a server run costs seconds)."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    client.close()
    clock = ManualClock(shanghai(2026, 3, 2, 8, 0))
    with running_hall(redis_url, tmp_path_factory.mktemp("day"), clock) as hall:
        play_the_day(hall)
        yield hall


def test_every_metric_of_the_day_equals_its_hand_computed_value(played: Hall) -> None:
    """Totals and the breakdowns by service, counter, staff and hour are exactly as computed by hand."""
    response = played.metrics(**{"from": "2026-03-02", "to": "2026-03-02"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["applied_seq"] == report["stream_seq"]
    (day,) = report["days"]
    assert day["day"] == "2026-03-02"
    for summary in (day, report):
        assert summary["totals"] == EXPECTED_TOTALS
        assert summary["by_service"] == EXPECTED_BY_SERVICE
        assert summary["by_counter"] == EXPECTED_BY_COUNTER
        assert summary["by_staff"] == EXPECTED_BY_STAFF
        assert summary["by_hour"] == EXPECTED_BY_HOUR
    assert report["live"] == {
        "waiting": 1,
        "longest_wait_s": 900.0,
        "counters": {"1": {"open": False, "busy": False, "staff": None},
                     "2": {"open": True, "busy": False, "staff": "bob"}},
    }  # fmt: skip


def test_staffing_advice_is_erlang_c_of_the_days_hours(played: Hall) -> None:
    """Hour 09: 5 arrivals, 400 s handling, 500 s target (4 A at 600 s, 2 B at 300 s): Erlang C's counters."""
    report = played.metrics(**{"from": "2026-03-02", "to": "2026-03-02"}).json()
    advice = {(row["weekday"], row["hour"]): row for row in report["staffing"]}
    assert set(advice) == {(0, 9), (0, 10)}
    nine, ten = advice[(0, 9)], advice[(0, 10)]
    assert nine["arrivals_per_hour"] == 5
    assert nine["mean_handling_s"] == 400
    assert nine["target_wait_s"] == 500
    assert nine["open_counters"] == round(6600 / 3600, 3)
    assert nine["needed_counters"] == textbook_counters_needed(5, 400, 500, 0.8)
    # No one served at ten: the range's mean handling time stands in.
    assert (ten["arrivals_per_hour"], ten["mean_handling_s"], ten["open_counters"]) == (1, 400, 0.75)
    assert ten["needed_counters"] == textbook_counters_needed(1, 400, 500, 0.8)
    assert math.isclose(nine["service_level_goal"], 0.8)


def test_csv_export_has_one_row_per_day_and_dimension(played: Hall) -> None:
    """?format=csv returns the same figures as rows: day, dimension, key, then the measures."""
    response = played.metrics(**{"from": "2026-03-02", "to": "2026-03-02", "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="nextup-hall-2026-03-02-2026-03-02.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    keyed = {(row["day"], row["dimension"], row["key"]): row for row in rows}
    branch = keyed[("2026-03-02", "branch", "hall")]
    assert (branch["issued"], branch["served"], branch["service_level"]) == ("6", "3", "0.75")
    assert (branch["wait_median_s"], branch["wait_p90_s"], branch["handling_mean_s"]) == ("480.0", "780.0", "400.0")
    bob = keyed[("2026-03-02", "staff", "bob")]
    assert (bob["served"], bob["busy_s"], bob["open_s"]) == ("2", "960.0", "6300.0")
    assert keyed[("2026-03-02", "hour", "10")]["issued"] == "1"
    assert keyed[("2026-03-02", "service", "A")]["service_level"] == str(round(2 / 3, 4))
    assert keyed[("total", "branch", "hall")]["issued"] == "6"
    assert keyed[("2026-03-02", "counter", "2")]["handling_max_s"] == "600.0"
    # Every day and the range total list the branch, 2 services, 2 counters, 2 staff and 2 hours.
    assert len(rows) == 2 * (1 + 2 + 2 + 2 + 2)


def test_metrics_are_for_managers_and_admins_only(played: Hall) -> None:
    """Staff get 403, no token 401, a bad date 422."""
    api = played.api
    assert api.http.get("/api/branches/hall/metrics", headers=api.auth(played.alice)).status_code == 403
    assert api.http.get("/api/branches/hall/metrics").status_code == 401
    bad = played.metrics(**{"from": "yesterday"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "from"
    assert played.metrics(format="xml").status_code == 422
    assert api.http.get("/api/branches/hall/metrics", headers=api.auth(api.admin())).status_code == 200


def test_prometheus_exposes_queues_waits_and_lag(played: Hall) -> None:
    """/metrics shows the queue, the longest wait, the wait histogram and no processing lag."""
    assert played.metrics().status_code == 200  # the report applies every event first
    response = played.api.http.get("/metrics", headers=played.api.auth(played.api.admin()))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
    assert samples[("nextup_queue_length", (("branch", "hall"), ("service", "A")))] == 1
    assert samples[("nextup_queue_length", (("branch", "hall"), ("service", "B")))] == 0
    assert samples[("nextup_open_counters", (("branch", "hall"), ("service", "B")))] == 1
    assert samples[("nextup_longest_wait_seconds", (("branch", "hall"),))] == 900
    assert samples[("nextup_event_processing_lag_seconds", (("branch", "hall"),))] == 0
    assert samples[("nextup_websocket_clients", (("branch", "hall"),))] == 0
    # Waits of A: 360, 780, 600 s; of B: 180 s.
    a = (("branch", "hall"), ("service", "A"))
    assert samples[("nextup_wait_seconds_count", a)] == 3
    assert samples[("nextup_wait_seconds_sum", a)] == 1740
    assert samples[("nextup_wait_seconds_bucket", (*a[:1], ("le", "600.0"), *a[1:]))] == 2
