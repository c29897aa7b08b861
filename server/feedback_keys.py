"""The Redis keys of customer feedback (ratings and complaints), in the layout of ``server/keys.py``.

To be merged into ``server/keys.py``. Every branch key carries the branch hash tag, so the scripts
that rate a ticket or file a complaint touch one Redis Cluster slot together with the ticket. The
scripts (``lua/rate_ticket.lua``, ``lua/file_complaint.lua``, ``lua/update_complaint.lua``,
``lua/phone_view.lua``) build the same names from the branch prefix; ``tests/phone`` checks both
agree.
"""

from __future__ import annotations

from server.keys import ROOT, branch_prefix

#: Complaints one ticket may file: enough for a follow-up, too few to flood the managers' list.
COMPLAINTS_PER_TICKET = 3


def rating(branch: str, ticket_id: str) -> str:
    """Hash: a ticket's rating (rating 1-5, comment, at, ms, number, service, counter, staff, day);
    its existence is what refuses a second rating."""
    return f"{branch_prefix(branch)}rating:{ticket_id}"


def ratings(branch: str) -> str:
    """Sorted set: rated ticket ids scored by the rating's time (ms), for the managers' list."""
    return f"{branch_prefix(branch)}ratings"


def complaint(branch: str, complaint_id: str) -> str:
    """Hash: one complaint (text, encrypted phone, state, times, answer, the ticket's number,
    service, counter and staff)."""
    return f"{branch_prefix(branch)}complaint:{complaint_id}"


def complaints(branch: str) -> str:
    """Sorted set: complaint ids scored by when they were filed (ms)."""
    return f"{branch_prefix(branch)}complaints"


def complaint_phones(branch: str) -> str:
    """Sorted set: ids of complaints still holding a phone number, scored by when they were filed
    (ms); the purge erases the numbers older than the retention and removes them from here."""
    return f"{branch_prefix(branch)}complaint_phones"


def ticket_complaints(branch: str, ticket_id: str) -> str:
    """Set: ids of the complaints filed from one ticket's page (at most COMPLAINTS_PER_TICKET)."""
    return f"{branch_prefix(branch)}ticket_complaints:{ticket_id}"


def feedback_secret() -> str:
    """String: the Fernet key complaint phone numbers are encrypted with, shared by every process
    (unless NEXTUP_FEEDBACK_KEY gives one)."""
    return f"{ROOT}:feedback_secret"
