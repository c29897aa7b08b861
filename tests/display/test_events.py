"""The event schema: stream entries as websocket messages, and what public screens may see."""

from __future__ import annotations

import json
import re
from importlib import resources

from msgspec.structs import replace

from server import events
from server.events import EventType
from server.rules import CounterStatus, TicketStatus
from server.shapes.branch import CounterState, RecentCall, State
from server.shapes.tickets import Ticket


def test_a_stream_entry_becomes_type_seq_and_its_data() -> None:
    """An entry (id, {type, data}) becomes {"type", "seq", ...data}, type and seq first."""
    data = {"type": "ticket_called", "counter": "3", "ticket": {"number": "A001"}, "at": "t", "ts": 1}
    message = events.message_from_entry("17-0", {"type": "ticket_called", "data": json.dumps(data)})
    assert list(message)[:2] == ["type", "seq"]
    assert message == {"type": "ticket_called", "seq": "17-0", "counter": "3", "ticket": {"number": "A001"},
                       "at": "t", "ts": 1}  # fmt: skip


def test_an_entry_with_broken_data_keeps_its_type_and_seq() -> None:
    """Unreadable data does not break the stream: the message still has its type and seq."""
    assert events.message_from_entry("1-2", {"type": "x", "data": "{not json"}) == {"type": "x", "seq": "1-2"}


def test_public_messages_and_states_have_no_ticket_ids() -> None:
    """Ticket ids are removed from events, counters' current tickets and the last calls."""
    message = {"type": "ticket_called", "seq": "1-0", "ticket": {"id": "k", "number": "A001"}}
    assert events.public_message(message)["ticket"] == {"number": "A001"}
    ticket = Ticket(id="k", branch="main", number="A001", service="A", status=TicketStatus.CALLED, priority=False,
                    issued_at="t", called_at="t", last_called_at="t", finished_at=None, counter="1", calls=1,
                    transfers=0, business_day="2026-01-01")  # fmt: skip
    counter = CounterState(id="1", name_zh="1", name_en="1", services=["A"], status=CounterStatus.OPEN, reason=None,
                           staff=None, holder=None, current=ticket)  # fmt: skip
    call = RecentCall(number="A001", counter="1", service="A", at="t", ticket="k")
    state = State(branch="main", seq=None, services=[], counters=[counter, replace(counter, id="2", current=None)],
                  recent_calls=[call], notice=None, emergency=None)  # fmt: skip
    public = json.loads(events.encode(state.public()))
    assert "k" not in json.dumps(public)
    assert "id" not in public["counters"][0]["current"] and public["counters"][0]["current"]["number"] == "A001"
    assert public["recent_calls"] == [{"number": "A001", "counter": "1", "service": "A", "at": "t"}]
    assert json.loads(events.encode(state))["counters"][0]["current"]["id"] == "k"


def test_seqs_compare_as_stream_positions() -> None:
    """Stream ids order by milliseconds, then by the sequence within the millisecond."""
    assert events.parse_seq("10-2") == (10, 2)
    assert events.parse_seq("9-9") < events.parse_seq("10-0")  # type: ignore[operator]
    assert events.parse_seq("") is None and events.parse_seq("1-x") is None


def test_every_event_the_scripts_emit_is_named() -> None:
    """Each event type emitted by a Lua script is a member of EventType."""
    emitted: set[str] = set()
    for script in (resources.files("server") / "lua").iterdir():
        text = script.read_text(encoding="utf-8")
        emitted |= set(re.findall(r"emit\('([a-z_]+)'", text))
        for line in text.splitlines():
            if "event_type =" in line:
                emitted |= set(re.findall(r"'([a-z]+_[a-z_]+)'", line))
    assert emitted, "no emit() found in the scripts"
    assert emitted <= {e.value for e in EventType}, emitted - {e.value for e in EventType}
