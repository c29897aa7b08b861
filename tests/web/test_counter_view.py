"""The counter view's rules without I/O: the order call-next would take, and this counter's no-shows."""

from __future__ import annotations

import json

from server.web.counter_view import no_show_candidates, upcoming


def test_next_tickets_follow_call_next_with_the_priority_cap() -> None:
    """Priority tickets first, but at most ``cap`` in a row while regular tickets wait."""
    priority = [("p1", 5.0), ("p2", 6.0), ("p3", 7.0)]
    regular = [("r1", 1.0), ("r2", 2.0)]
    assert upcoming(priority, regular, streak=0, cap=1, count=10) == ["p1", "r1", "p2", "r2", "p3"]
    assert upcoming(priority, regular, streak=0, cap=2, count=4) == ["p1", "p2", "r1", "p3"]


def test_a_counter_at_its_priority_cap_takes_a_regular_ticket_first() -> None:
    """The streak the counter already has counts."""
    assert upcoming([("p1", 5.0)], [("r1", 1.0)], streak=1, cap=1, count=2) == ["r1", "p1"]


def test_queues_of_several_services_merge_by_place_in_line() -> None:
    """Within a class the longest-waiting ticket of any of the counter's services goes first."""
    regular = [("a2", 4.0), ("c1", 2.0), ("a1", 1.0), ("c2", 9.0)]
    assert upcoming([], regular, streak=0, cap=1, count=3) == ["a1", "c1", "a2"]
    assert upcoming([], [], streak=0, cap=1, count=3) == []


def entry(event_type: str, counter: str, ticket_id: str) -> tuple[str, dict[str, str]]:
    data = {"counter": counter, "ticket": {"id": ticket_id, "number": "A001"}}
    return "1-0", {"type": event_type, "data": json.dumps(data)}


def test_no_show_candidates_are_this_counters_newest_first_once_each() -> None:
    """Only ticket_no_show events of this counter count; a ticket seen twice is listed once."""
    entries = [entry("ticket_no_show", "1", "t2"), entry("ticket_called", "1", "t3"),
               entry("ticket_no_show", "2", "t4"), entry("ticket_no_show", "1", "t1"),
               entry("ticket_no_show", "1", "t2"), ("2-0", {"type": "ticket_no_show", "data": "not json"})]  # fmt: skip
    assert no_show_candidates(entries, "1") == ["t2", "t1"]
