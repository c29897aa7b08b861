"""The event schema: what the branch event stream holds and what websocket clients receive.

One place for the names and shapes that the Lua scripts (``lua/common.lua`` ``emit``), the fan-out,
the lobby display page and the kiosk share: event and message types, the close codes of every
websocket (``CloseCode``), the printer status a kiosk reports (``PrinterHealth``) and the voices a
lobby display reports (``VoiceHealth``), both declared with the other device shapes in
``server.shapes.devices``.

A stream entry is ``(seq, {"type": <EventType>, "data": <JSON object>})``; the entry id is the
event's ``seq`` ("1718000000000-0"), ordered the same way on every server process. ``data`` always
holds ``type``, ``branch``, ``at`` (ISO 8601 with the branch's offset), ``ts`` (ms since the epoch)
and ``actor``, plus what the event is about (see each member of ``EventType``).

Websocket messages are JSON objects with a ``type``:

- ``{"type": "snapshot", "seq": <seq or null>, "state": {...}}``: the whole branch as of ``seq``;
- ``{"type": <EventType>, "seq": <seq>, ...data}``: one event, in stream order;
- ``{"type": "ping"}`` / ``{"type": "pong"}``: heartbeats, in both directions.

What goes to screens is public: ticket ids are removed, because a ticket id is the holder's key to
the phone page and to cancelling the ticket (see ``public_message``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from enum import Enum, IntEnum
from typing import Any

import msgspec

from server.shapes.devices import PrinterHealth as PrinterHealth
from server.shapes.devices import VoiceHealth as VoiceHealth

Json = dict[str, Any]

#: A stream entry id: milliseconds, a dash, a sequence number within that millisecond.
_SEQ = re.compile(r"^(\d{1,20})-(\d{1,20})$")


class EventType(str, Enum):
    #: A ticket was issued (``ticket``).
    TICKET_ISSUED = "ticket_issued"
    #: A waiting ticket was called to a counter (``ticket``, ``counter``, ``staff``).
    TICKET_CALLED = "ticket_called"
    #: The counter's current ticket was called again (``ticket``, ``counter``, ``staff``).
    TICKET_RECALLED = "ticket_recalled"
    #: The counter finished serving its ticket (``ticket``, ``counter``, ``staff``).
    TICKET_SERVED = "ticket_served"
    #: The called customer did not come (过号) (``ticket``, ``counter``, ``staff``).
    TICKET_NO_SHOW = "ticket_no_show"
    #: A ticket moved to another service (``ticket``, ``from_service``, ``to_service``, ``staff``,
    #: and ``counter`` when it was being served there, else null).
    TICKET_TRANSFERRED = "ticket_transferred"
    #: The holder cancelled a waiting ticket (``ticket``).
    TICKET_CANCELLED = "ticket_cancelled"
    #: A recent no-show was put back in its queue (``ticket``, ``counter``, ``staff``).
    TICKET_REACTIVATED = "ticket_reactivated"
    #: A counter opened (``counter``, ``status``, ``staff``).
    COUNTER_OPENED = "counter_opened"
    #: A counter paused (``counter``, ``status``, ``staff``, ``reason``).
    COUNTER_PAUSED = "counter_paused"
    #: A counter closed (``counter``, ``status``, ``staff``).
    COUNTER_CLOSED = "counter_closed"
    #: A member of staff took a counter (one at a time) (``counter``, ``staff``).
    COUNTER_TAKEN = "counter_taken"
    #: The counter's holder released it (``counter``, ``staff``: the former holder).
    COUNTER_RELEASED = "counter_released"
    #: The holder rated a served ticket (``ticket``, ``counter``, ``staff``, ``service``, ``rating``).
    TICKET_RATED = "ticket_rated"
    #: The branch configuration changed (``source``, ``version``); pages reload their names.
    CONFIG_CHANGED = "config_changed"
    #: A manager set the notices ticker (``text_zh``, ``text_en``, ``emergency``: bool); both texts
    #: empty clear it. Each event replaces the previous notice.
    NOTICE_POSTED = "notice_posted"
    #: A manager put the branch into an emergency state (``emergency``: ``kind``, ``text_zh``,
    #: ``text_en``, ``since``); a second one replaces the first. Displays cover the screen and
    #: announce it, kiosks stop issuing, phones show it.
    EMERGENCY_STARTED = "emergency_started"
    #: The emergency state ended: every screen is as before.
    EMERGENCY_ENDED = "emergency_ended"


class MessageType(str, Enum):
    #: The branch state as of ``seq``; sent first, and again whenever a resume is impossible.
    SNAPSHOT = "snapshot"
    #: Heartbeat; the server sends one every few seconds, a client may send one any time.
    PING = "ping"
    #: A client's answer to a ping (and the server's answer to a client's ping).
    PONG = "pong"
    #: A device's report of itself: a kiosk's ``printer`` (``PrinterHealth``), a display's
    #: ``voices`` (``VoiceHealth``).
    HEALTH = "health"


class CloseCode(IntEnum):
    """Websocket close codes of every NextUp endpoint (display, kiosk, staff, phone) and the kiosk.

    4000-4999 are the application's own, each the HTTP status it stands for plus 4000; the 1000s
    are RFC 6455's. One code, one meaning on every socket (docs/websockets.md, "Close codes").
    A server shutting down closes with uvicorn's 1012 (service restart) and a message over the size
    limit with uvicorn's 1009 (message too big); neither is sent by NextUp's own code.
    """

    #: A client going away (1001); the server itself closes with 1012 when it shuts down.
    GOING_AWAY = 1001
    #: Redis could not be read (staff: also an unexpected server error); reconnect with backoff.
    UNAVAILABLE = 1011
    #: Try again later: the client read too slowly and its outgoing queue filled, or its address
    #: holds ``NEXTUP_MAX_SOCKETS_PER_ADDRESS`` sockets already. Reconnect with backoff (the
    #: display with ``since``). Changed after 0.1.0: display, kiosk and staff sent 4429 for "too slow".
    TRY_AGAIN_LATER = 1013
    #: The token is missing, malformed, forged or expired; get a new device token.
    UNAUTHORIZED = 4401
    #: The token's account may not use this socket, or the Origin header is not this host.
    FORBIDDEN = 4403
    #: No such branch, counter or ticket.
    NOT_FOUND = 4404
    #: The client sent nothing (not even a pong) for too long; reconnect.
    HEARTBEAT_TIMEOUT = 4408
    #: The phone page of a finished ticket expired; stop.
    GONE = 4410
    #: Too many lookups of unknown ticket ids from this address (phone); retry after a minute.
    RATE_LIMITED = 4429


#: Events a lobby display announces and highlights.
CALL_EVENTS = frozenset({EventType.TICKET_CALLED.value, EventType.TICKET_RECALLED.value})


def parse_seq(seq: str) -> tuple[int, int] | None:
    """A stream id as a comparable pair, or None when it is not one."""
    match = _SEQ.match(seq)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def message_from_entry(seq: str, fields: Mapping[str, str]) -> Json:
    """A stream entry as its websocket message ``{"type", "seq", ...data}``."""
    try:
        data = json.loads(fields.get("data", "{}"))
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    message: Json = {"type": fields.get("type", data.get("type", "")), "seq": seq}
    message.update((k, v) for k, v in data.items() if k not in message)
    return message


def public_message(message: Json) -> Json:
    """The message without ticket ids: the holder's secret must not reach public screens."""
    ticket = message.get("ticket")
    if isinstance(ticket, dict) and "id" in ticket:
        return {**message, "ticket": {k: v for k, v in ticket.items() if k != "id"}}
    return message


_ENCODER = msgspec.json.Encoder()


def encode(message: object) -> str:
    """JSON text as sent on the wire (a dict or a Struct of ``server.shapes``): compact, UTF-8 kept as is."""
    return _ENCODER.encode(message).decode()


PING_TEXT = encode({"type": MessageType.PING.value})
PONG_TEXT = encode({"type": MessageType.PONG.value})
