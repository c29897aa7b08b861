"""Following a complaint on the ticket's page: how long the page stays readable, what its holder sees.

A finished ticket's page stops working ``PhoneSettings.finished_page_ttl_s`` after it finished (2 h).
A complaint is answered within ``complaint_answer_target_h`` (24 h), sometimes later, and the
customer reads the answer on that same page (the QR code of their ticket is the only key they
hold), so a finished ticket with complaints keeps its page readable:

- while one of its complaints is open (waiting for its answer), whatever its age;
- then until ``complaint_page_days`` after the latest filing or answer of its complaints (7 days),
  and never less than the finished page's own time.

Only reading is extended: rating and filing complaints still end with the finished page's time
(``lua/rate_ticket.lua``, ``lua/file_complaint.lua``), so the page's ``feedback.accepting`` turns
false then. Retention is unchanged: the ticket's records, and its page with them, go after
``Retention.ticket_days`` whatever the complaints (``server.retention``).

The holder sees of each of their complaints its state, their own text, when it was filed, when the
answer is due, the answer and when it came; never the phone number (it stays encrypted; only
managers' listings decrypt it) nor who answered. No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.settings import PhoneSettings

Json = dict[str, Any]

#: Fields of a stored complaint (``keys.complaint``) that the ticket's page reads, in this order.
STORED_FIELDS = ("state", "text", "filed_at", "filed_ms", "answer", "answered_at", "answered_ms")


def answer_due_ms(filed_ms: int, settings: PhoneSettings) -> int:
    """When a complaint filed at ``filed_ms`` is due its answer (ms since the epoch)."""
    return filed_ms + int(settings.complaint_answer_target_h * 3_600_000)


def _ms(value: Any) -> int:
    return int(value) if value not in (None, "") else 0


def page_expires_ms(ended_ms: int | None, complaints: list[Json], settings: PhoneSettings) -> int | None:
    """When the page of a ticket that ended at ``ended_ms`` stops working; None while it does not.

    ``complaints`` are the ticket's stored complaints (``STORED_FIELDS``).
    """
    ttl_ms = settings.finished_page_ttl_s * 1000
    if ended_ms is None or ttl_ms <= 0:
        return None
    finished_until = ended_ms + ttl_ms
    if not complaints:
        return finished_until
    if any(c.get("state") == "open" for c in complaints) or settings.complaint_page_days <= 0:
        return None
    latest = max(max(_ms(c.get("filed_ms")), _ms(c.get("answered_ms"))) for c in complaints)
    return max(finished_until, latest + int(settings.complaint_page_days * 86_400_000))


def accepting(ended_ms: int | None, now_ms: int, settings: PhoneSettings) -> bool:
    """Whether the page still takes a rating or a complaint: as the scripts that store them decide."""
    ttl_ms = settings.finished_page_ttl_s * 1000
    return ended_ms is None or ttl_ms <= 0 or now_ms <= ended_ms + ttl_ms


def holder_complaints(complaints: list[Json], settings: PhoneSettings, iso: Callable[[int], str]) -> list[Json]:
    """The ticket's complaints as its holder sees them, oldest first; ``iso`` writes a time in the branch's zone."""
    seen = sorted(complaints, key=lambda c: _ms(c.get("filed_ms")))
    return [
        {
            "state": c.get("state") or "open",
            "text": c.get("text") or "",
            "filed_at": iso(_ms(c.get("filed_ms"))),
            "answer_due_at": iso(answer_due_ms(_ms(c.get("filed_ms")), settings)),
            "answer": c.get("answer") or None,
            "answered_at": iso(_ms(c.get("answered_ms"))) if c.get("answer") and c.get("answered_ms") else None,
        }
        for c in seen
    ]
