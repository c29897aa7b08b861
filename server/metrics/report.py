"""Reports: a day's or a date range's metrics from the tallies and samples, as JSON or CSV.

A day with raw figures is summarised from its tally hash and its samples; a purged day from its
rollup, which holds the same summary and the day's tallies (so ranges still add up; only the
range-wide median and p90 need every day's samples, and are null when some day has been purged).
Today's report adds the open and busy intervals still running now.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from server import keys
from server.config import Branch
from server.metrics import stats
from server.metrics.tally import CounterState, Sample, Tally

Json = dict[str, Any]

#: Dimension groups of a summary, in the order they are listed and exported.
GROUPS = (("by_service", "service"), ("by_counter", "counter"), ("by_staff", "staff"), ("by_hour", "hour"))

#: Longest range one report covers, in days.
MAX_RANGE_DAYS = 400


def _tally(tallies: Mapping[str, int], measure: str, dim: str) -> int:
    return int(tallies.get(f"{measure}|{dim}", 0))


def _durations(samples: Sequence[int] | None, count: int, total_ms: int) -> Json:
    if samples is not None:
        return stats.duration_stats(samples)
    # Only tallies left (a purged day in a range): the mean still adds up, percentiles do not.
    mean = round(total_ms / count / 1000, 3) if count else None
    return {"count": count, "mean_s": mean, "median_s": None, "p90_s": None, "max_s": None}


def bucket(tallies: Mapping[str, int], dim: str, samples: Sequence[Sample] | None) -> Json:
    """The metrics of one dimension (``all``, ``service=A``, ``hour=09`` ...)."""
    called, within = _tally(tallies, "called", dim), _tally(tallies, "within_target", dim)
    served = _tally(tallies, "served", dim)
    busy, opened = _tally(tallies, "busy_ms", dim), _tally(tallies, "open_ms", dim)
    ratings = _tally(tallies, "ratings", dim)
    chosen = None if samples is None else [s for s in samples if _matches(s, dim)]
    return {
        "issued": _tally(tallies, "issued", dim),
        "called": called,
        "calls": _tally(tallies, "calls", dim),
        "served": served,
        "no_shows": _tally(tallies, "no_shows", dim),
        "cancelled": _tally(tallies, "cancelled", dim),
        "transferred": _tally(tallies, "transferred", dim),
        "within_target": within,
        "service_level": stats.service_level(within, called),
        "wait": _durations(
            None if chosen is None else [s.ms for s in chosen if s.kind == "wait"], called,
            _tally(tallies, "wait_ms", dim),
        ),
        "handling": _durations(
            None if chosen is None else [s.ms for s in chosen if s.kind == "handling"], served,
            _tally(tallies, "handling_ms", dim),
        ),
        "busy_s": busy / 1000,
        "open_s": opened / 1000,
        "utilisation": stats.utilisation(busy, opened),
        "ratings": ratings,
        "rating_mean": round(_tally(tallies, "rating_sum", dim) / ratings, 2) if ratings else None,
    }


def _matches(sample: Sample, dim: str) -> bool:
    if dim == "all":
        return True
    kind, _, value = dim.partition("=")
    return bool(getattr(sample, kind, None) == value)


def summarise(branch: Branch, tallies: Mapping[str, int], samples: Sequence[Sample] | None) -> Json:
    """Totals and a breakdown by service, counter, staff member and hour of the day."""
    seen: dict[str, set[str]] = {kind: set() for _, kind in GROUPS}
    seen["service"].update(branch.services)
    seen["counter"].update(branch.counters)
    for field in tallies:
        kind, _, value = field.partition("|")[2].partition("=")
        if kind in seen:
            seen[kind].add(value)
    summary: Json = {"totals": bucket(tallies, "all", samples)}
    for group, kind in GROUPS:
        summary[group] = {value: bucket(tallies, f"{kind}={value}", samples) for value in sorted(seen[kind])}
    return summary


def rollup_from_raw(branch: Branch, day: str, raw_tallies: Mapping[str, str], raw_samples: Iterable[str]) -> str:
    """The rollup kept for a purged day: its summary, and its tallies so ranges still add up."""
    tallies = {name: int(value) for name, value in raw_tallies.items()}
    samples = [Sample.from_json(text) for text in raw_samples]
    return json.dumps(
        {"day": day, "summary": summarise(branch, tallies, samples), "tallies": tallies},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def _with_maxima(summary: Json, days: Sequence[Json]) -> None:
    """Fill a range summary's maxima from its days' when not every day kept its samples."""
    def fill(target: Json, sources: list[Json]) -> None:
        for kind in ("wait", "handling"):
            maxima = [s[kind]["max_s"] for s in sources if s[kind]["max_s"] is not None]
            if target[kind]["max_s"] is None and maxima:
                target[kind]["max_s"] = max(maxima)

    fill(summary["totals"], [d["totals"] for d in days])
    for group, _ in GROUPS:
        for value, target in summary[group].items():
            fill(target, [d[group][value] for d in days if value in d[group]])


def staffing(branch: Branch, day_tallies: Mapping[str, Mapping[str, int]]) -> list[Json]:
    """For each weekday and hour with arrivals or open counters: counters needed (Erlang C) and open.

    Arrivals per hour and handling time are averaged over the days of that weekday that have
    figures; the target wait is the services' targets weighted by their arrivals in the range.
    """
    total: Counter[str] = Counter()
    for tallies in day_tallies.values():
        total.update(tallies)
    issued = {sid: total[f"issued|service={sid}"] for sid in branch.services}
    weight = sum(issued.values())
    if weight:
        target_s = sum(branch.services[sid].target_wait_min * 60 * n for sid, n in issued.items()) / weight
    else:
        target_s = min((s.target_wait_min for s in branch.services.values()), default=15) * 60
    fallback_handling = (
        total["handling_ms|all"] / total["served|all"] / 1000
        if total["served|all"]
        else sum(s.average_handling_s for s in branch.services.values()) / max(len(branch.services), 1)
    )
    by_weekday: dict[int, list[Mapping[str, int]]] = {}
    for day, tallies in day_tallies.items():
        if tallies:
            by_weekday.setdefault(date.fromisoformat(day).weekday(), []).append(tallies)
    advice: list[Json] = []
    for weekday in sorted(by_weekday):
        days = by_weekday[weekday]
        for hour in range(24):
            dim = f"hour={hour:02d}"
            arrivals = sum(_tally(t, "issued", dim) for t in days) / len(days)
            opened = sum(_tally(t, "open_ms", dim) for t in days) / len(days) / 3_600_000
            if not arrivals and not opened:
                continue
            served = sum(_tally(t, "served", dim) for t in days)
            handling = sum(_tally(t, "handling_ms", dim) for t in days) / served / 1000 if served else fallback_handling
            advice.append({
                "weekday": weekday,
                "hour": hour,
                "days": len(days),
                "arrivals_per_hour": round(arrivals, 3),
                "mean_handling_s": round(handling, 3),
                "target_wait_s": round(target_s, 3),
                "service_level_goal": stats.SERVICE_LEVEL_GOAL,
                "open_counters": round(opened, 3),
                "needed_counters": stats.counters_needed(arrivals, handling, target_s),
            })  # fmt: skip
    return advice


async def build_report(redis: Redis, branch: Branch, first: date, last: date, now: datetime) -> Json:
    """The metrics of the days ``first`` to ``last`` (local, inclusive), as of ``now``."""
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    b = branch.id
    async with redis.pipeline(transaction=False) as pipe:
        for day in days:
            pipe.get(keys.metrics_rollup(b, day))
            pipe.hgetall(keys.metrics_day_tally(b, day))
            pipe.lrange(keys.metrics_day_samples(b, day), 0, -1)
        pipe.hgetall(keys.metrics_counters(b))
        pipe.zrange(keys.metrics_waiting(b), 0, 0, withscores=True)
        pipe.zcard(keys.metrics_waiting(b))
        pipe.get(keys.metrics_applied(b))
        pipe.xrevrange(keys.events(b), count=1)
        replies = await pipe.execute()
    raw_counters, oldest, waiting, applied, newest = replies[3 * len(days):]
    now_ms = int(now.timestamp() * 1000)
    # Intervals still running count up to now, on the days they cover.
    ongoing = Tally(branch, {cid: CounterState.from_json(text) for cid, text in raw_counters.items()})
    ongoing.add_ongoing(now_ms)

    day_reports: list[Json] = []
    day_tallies: dict[str, dict[str, int]] = {}
    all_samples: list[Sample] | None = []
    for index, day in enumerate(days):
        rolled, raw_tallies, raw_samples = replies[3 * index: 3 * index + 3]
        if rolled and not raw_tallies:
            stored = json.loads(rolled)
            tallies = {k: int(v) for k, v in stored["tallies"].items()}
            summary = stored["summary"]
            all_samples = None
        else:
            tallies = {k: int(v) for k, v in raw_tallies.items()}
            tallies.update({k: tallies.get(k, 0) + v for k, v in ongoing.increments.get(day, {}).items()})
            samples = [Sample.from_json(text) for text in raw_samples]
            if all_samples is not None:
                all_samples.extend(samples)
            summary = summarise(branch, tallies, samples)
        day_tallies[day] = tallies
        day_reports.append({"day": day, **summary})

    combined: Counter[str] = Counter()
    for tallies in day_tallies.values():
        combined.update(tallies)
    range_summary = summarise(branch, combined, all_samples)
    if all_samples is None:
        _with_maxima(range_summary, day_reports)
    today = now.astimezone(branch.zone).date().isoformat()
    report: Json = {
        "branch": b,
        "timezone": branch.timezone,
        "from": days[0],
        "to": days[-1],
        "generated_at": now.astimezone(branch.zone).isoformat(timespec="seconds"),
        "applied_seq": applied,
        "stream_seq": str(newest[0][0]) if newest else None,
        **range_summary,
        "days": day_reports,
        "staffing": staffing(branch, day_tallies),
    }
    if today in days:
        report["live"] = {
            "waiting": int(waiting),
            "longest_wait_s": round((now_ms - int(oldest[0][1])) / 1000, 3) if oldest else None,
            "counters": {
                cid: {"open": state.open_since is not None, "busy": state.busy_since is not None,
                      "staff": state.staff or state.opened_by or None}
                for cid, state in sorted(ongoing.counters.items())
            },
        }  # fmt: skip
    return report


CSV_COLUMNS = (
    "day", "dimension", "key", "issued", "called", "served", "no_shows", "cancelled", "transferred",
    "within_target", "service_level", "wait_mean_s", "wait_median_s", "wait_p90_s", "wait_max_s",
    "handling_mean_s", "handling_median_s", "handling_p90_s", "handling_max_s", "busy_s", "open_s", "utilisation",
    "ratings", "rating_mean", "calls",
)  # fmt: skip


def _csv_row(day: str, dimension: str, key: str, metrics: Json) -> list[Any]:
    row: list[Any] = [day, dimension, key]
    for name in CSV_COLUMNS[3:]:
        kind, _, stat = name.partition("_")
        value = metrics[kind][stat] if kind in ("wait", "handling") else metrics[name]
        row.append("" if value is None else value)
    return row


def to_csv(report: Json) -> str:
    """One row per day and dimension, then the range's totals under day ``total``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for day, summary in [*((d["day"], d) for d in report["days"]), ("total", report)]:
        writer.writerow(_csv_row(day, "branch", report["branch"], summary["totals"]))
        for group, kind in GROUPS:
            for key, metrics in summary[group].items():
                writer.writerow(_csv_row(day, kind, key, metrics))
    return out.getvalue()
