"""A display's ``health`` message (its voices) on the display websocket, against a real ``nextup serve``."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.conftest import Api
from tests.display.conftest import device_record, display, voices_reported
from tests.servers import ServerProcess

pytestmark = pytest.mark.redis


async def test_a_health_report_reaches_the_devices_report_and_a_bad_one_is_ignored(
    server: ServerProcess, api: Api
) -> None:
    """A display's health message is kept with its record at once; a malformed one changes nothing."""
    async with display(server, api.user("tv1", "display")) as client:
        await client.next()
        await client.ws.send(json.dumps({"type": "health", "voices": {"zh": True, "en": False}}))
        record = await asyncio.to_thread(voices_reported, api, "tv1")
        assert record["voices"]["missing"] == ["en"] and record["status"] == "ok"
        for bad in (
            {"type": "health", "voices": {"zh": "yes", "en": True}},
            {"type": "health", "voices": {"zh": True, "en": True, "languages": ["fr"]}},
            {"type": "health", "voices": {"zh": True, "en": True, "languages": []}},
            {"type": "health", "voices": None},
        ):
            await client.ws.send(json.dumps(bad))
        await client.ws.send(json.dumps({"type": "ping"}))
        assert (await client.next())["type"] == "pong"  # handled in order: the bad ones came first
        record = device_record(api, "tv1")
        assert record is not None and record["voices"]["missing"] == ["en"]


async def test_staff_watching_the_board_report_no_device(server: ServerProcess, api: Api) -> None:
    """Health from a staff account's board is not a device's: nothing is recorded."""
    async with display(server, api.user("clerk", "staff", ["1"])) as client:
        await client.next()
        await client.ws.send(json.dumps({"type": "health", "voices": {"zh": True, "en": True}}))
        await client.ws.send(json.dumps({"type": "ping"}))
        assert (await client.next())["type"] == "pong"
    assert device_record(api, "clerk") is None
