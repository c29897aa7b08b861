"""How often a process records a connected display in the devices report: one record per account
and period, however many screens share the account (one per ``Context``, no module state)."""

from __future__ import annotations

import time

#: Seconds between two records of a connected display in the devices report (the report calls it
#: offline after ``devices.STALE_AFTER_S``).
DISPLAY_PRESENCE_S = 5.0


class PresenceThrottle:
    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        #: (branch, display account) -> when this process last recorded it (monotonic s).
        self._recorded: dict[tuple[str, str], float] = {}

    def due(self, branch: str, device: str) -> bool:
        """Whether to record the device now; if so, counts it as recorded."""
        now = time.monotonic()
        key = (branch, device)
        # A little early rather than late: timers of screens sharing an account drift.
        if now - self._recorded.get(key, -self.period_s) < self.period_s * 0.9:
            return False
        self._recorded[key] = now
        return True

    def forget(self, branch: str, device: str) -> None:
        self._recorded.pop((branch, device), None)
