"""Device health: what kiosks report over their websocket, kept in Redis, and the endpoint that shows it.

A kiosk sends a heartbeat with its printer's status every few seconds (``server.kiosk_ws``); each
one overwrites the kiosk's record. A display account's screen is recorded while its websocket is
open (``server.display_ws``), with ``"printer": null`` and the voices it reported (``"voices"``,
null until it said; screens sharing one account share one record, the last report winning). A
record whose last heartbeat is older than ``STALE_AFTER_S`` counts as offline whatever it last
said, so a kiosk that lost power shows up without anyone having to notice its silence.

``GET /api/branches/{branch}/devices`` (admin, manager) answers::

    {"branch": "main", "devices": [
      {"device": "kiosk1", "role": "kiosk", "address": "10.0.0.21", "connected": true,
       "online": true, "last_heartbeat": "2026-03-02T09:00:05.120+08:00", "heartbeat_age_s": 1.2,
       "status": "ok" | "printer_unavailable" | "chime_only" | "offline",
       "printer": {"online": true, "paper_out": false, "paper_near_end": false, "cover_open": false,
                   "error": null, "available": true},
       "voices": null}]}

A display has ``"printer": null`` and ``"voices": {"zh": false, "en": true, "languages": ["zh", "en"],
"missing": ["zh"], "chime_only": false}``; its status is ``chime_only`` while it is online with no
voice for any language it announces in (it would announce with the chime alone).

Its Redis keys are in ``server.keys`` (``device_health``, ``kiosk_issues``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server import keys
from server.api import branch_store, identify
from server.auth import Role
from server.context import context
from server.events import PrinterHealth, VoiceHealth
from server.http import JSONResponse
from server.shapes.devices import Device, Devices, DeviceStatus

#: A device silent this long (three missed heartbeats) is reported offline.
STALE_AFTER_S = 15.0


async def record_heartbeat(
    redis: Redis,
    branch: str,
    device: str,
    role: str,
    address: str,
    printer: PrinterHealth | None,
    now: datetime,
    voices: VoiceHealth | None = None,
) -> None:
    """Store the device's latest heartbeat (overwriting the previous one); ``printer`` None for a
    display, ``voices`` None for a kiosk (and a display that has not said)."""
    record = {
        "device": device,
        "role": role,
        "address": address,
        "connected": True,
        "last_heartbeat": now.isoformat(timespec="milliseconds"),
        "last_heartbeat_ms": int(now.timestamp() * 1000),
        "printer": None if printer is None else printer.wire(),
        "voices": None if voices is None else voices.wire(),
    }
    await redis.hset(keys.device_health(branch), device, json.dumps(record, ensure_ascii=False))


async def record_disconnect(redis: Redis, branch: str, device: str) -> None:
    """Mark the device's record disconnected, keeping its last printer status for the report."""
    raw = await redis.hget(keys.device_health(branch), device)
    if raw is None:
        return
    record = json.loads(raw)
    record["connected"] = False
    await redis.hset(keys.device_health(branch), device, json.dumps(record, ensure_ascii=False))


def describe(record: dict[str, Any], now: datetime) -> Device:
    """A stored record as the devices endpoint shows it: with its age and an overall status."""
    age = max(0.0, now.timestamp() - record.get("last_heartbeat_ms", 0) / 1000)
    online = bool(record.get("connected")) and age <= STALE_AFTER_S
    printer: PrinterHealth | None = None
    if record.get("printer") is not None:  # a display has none
        try:
            printer = PrinterHealth.from_json(record["printer"])
        except ValueError:
            printer = PrinterHealth(online=False, error="unreadable printer status")
    voices: VoiceHealth | None = None
    if record.get("voices") is not None:
        try:
            voices = VoiceHealth.from_json(record["voices"])
        except ValueError:
            voices = None
    status: DeviceStatus = "ok"
    if not online:
        status = "offline"
    elif printer is not None and not printer.available:
        status = "printer_unavailable"
    elif voices is not None and voices.chime_only:
        status = "chime_only"
    return Device(
        device=record.get("device"),
        role=record.get("role"),
        address=record.get("address"),
        connected=bool(record.get("connected")),
        online=online,
        last_heartbeat=record.get("last_heartbeat"),
        heartbeat_age_s=round(age, 1),
        status=status,
        printer=None if printer is None else printer.condition(),
        voices=None if voices is None else voices.condition(),
    )


async def list_devices(redis: Redis, branch: str, now: datetime) -> list[Device]:
    raw = cast(dict[str, str], await redis.hgetall(keys.device_health(branch)))
    records = []
    for text in raw.values():
        try:
            records.append(describe(json.loads(text), now))
        except (ValueError, TypeError, AttributeError):
            continue  # a record this version cannot read is left out rather than failing the report
    return sorted(records, key=lambda r: str(r.device))


async def branch_devices(request: Request) -> Response:
    ctx = context(request)
    identity = await identify(request, ctx)
    store = branch_store(request, ctx)
    identity.require_branch(store.branch.id)
    identity.require_role(Role.MANAGER, Role.ADMIN)
    devices = await list_devices(store.redis, store.branch.id, store.clock.now())
    return JSONResponse(Devices(store.branch.id, devices))


ROUTES = [Route("/api/branches/{branch}/devices", branch_devices, methods=["GET"])]
