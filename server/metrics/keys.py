"""The Redis keys of the metrics, in the layout of ``server/keys.py`` (to be merged there).

Every key carries the branch hash tag, as the event stream does, so the transaction that applies
events and records how far it got touches one Redis Cluster slot.
"""

from __future__ import annotations

from server.keys import branch_prefix

#: Consumer group every server process joins to follow a branch's event stream for the metrics.
GROUP = "metrics"

#: Days the raw figures of a day (its tallies and its wait and handling samples) are kept; older
#: days are folded into their rollup and the raw keys deleted.
RAW_RETENTION_DAYS = 90


def _metrics(branch: str) -> str:
    return f"{branch_prefix(branch)}metrics:"


def applied(branch: str) -> str:
    """String: the id of the last stream entry whose tallies are applied; later ids only apply."""
    return f"{_metrics(branch)}applied"


def day_tally(branch: str, day: str) -> str:
    """Hash: ``{measure}|{dimension}`` -> integer tally for one local day (YYYY-MM-DD).

    Dimensions are ``all``, ``service=A``, ``counter=1``, ``staff=alice`` and ``hour=09``.
    """
    return f"{_metrics(branch)}day:{day}"


def day_samples(branch: str, day: str) -> str:
    """List: one JSON object per wait or handling time measured that day, for exact percentiles."""
    return f"{_metrics(branch)}samples:{day}"


def rollup(branch: str, day: str) -> str:
    """String: a purged day's summary as JSON (tallies and duration statistics); kept for years."""
    return f"{_metrics(branch)}rollup:{day}"


def days(branch: str) -> str:
    """Sorted set: days (YYYY-MM-DD) that have raw figures, scored by their ordinal, for purging."""
    return f"{_metrics(branch)}days"


def counters(branch: str) -> str:
    """Hash: counter id -> JSON of what the metrics know of it now: open since, busy since, staff."""
    return f"{_metrics(branch)}counters"


def waiting(branch: str) -> str:
    """Sorted set: ticket ids waiting now, scored by when they started waiting (ms), for the longest wait."""
    return f"{_metrics(branch)}waiting"
