"""Fixtures for the printer tests; self-contained (nothing from tests/conftest.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from printer.emulator import PrinterEmulator
from printer.errors import FontNotFound
from printer.fonts import FontSpec, find_cjk_font
from printer.profile import PrinterProfile
from printer.ticket import TicketPrint

CHINA = timezone(timedelta(hours=8))
QR_URL = "http://10.0.0.5:8000/t/7f3c2a9e-1b4d-4c8e-9f10-2a3b4c5d6e7f"

#: Every (paper width, text mode) combination a ticket must render for.
PROFILES = [
    PrinterProfile(paper_width_mm=58, text_mode="gb18030"),
    PrinterProfile(paper_width_mm=80, text_mode="gb18030"),
    PrinterProfile(paper_width_mm=58, text_mode="raster"),
    PrinterProfile(paper_width_mm=80, text_mode="raster"),
]


def profile_id(profile: PrinterProfile) -> str:
    return f"{profile.paper_width_mm}mm-{profile.text_mode}"


SAMPLE_TICKET = TicketPrint(
    branch_name="NextUp 示例银行 中山路支行",
    number="A023",
    service_name_zh="个人业务",
    service_name_en="Personal Banking",
    issued_at=datetime(2024, 5, 6, 9, 41, 7, tzinfo=CHINA),
    ahead=3,
    estimated_wait_s=900,
    counters=["1", "2", "5"],
    qr_url=QR_URL,
    footer="请留意叫号屏幕，过号需重新取号。\nPlease watch the display.",
    priority=True,
)


def make_ticket(**changes: Any) -> TicketPrint:
    """The sample ticket with some fields changed (validation runs again)."""
    return dataclasses.replace(SAMPLE_TICKET, **changes)


@pytest.fixture
def ticket() -> TicketPrint:
    return SAMPLE_TICKET


@pytest.fixture(scope="session")
def cjk_font() -> FontSpec:
    """The CJK font raster mode and previews need. Missing font = failure, never a skip."""
    try:
        return find_cjk_font()
    except FontNotFound as exc:
        pytest.fail(
            f"raster/preview tests need a CJK font: {exc}\nOn Debian/Ubuntu: apt-get install -y fonts-noto-cjk",
            pytrace=False,
        )


@pytest.fixture
def emulator() -> Iterator[PrinterEmulator]:
    with PrinterEmulator() as running:
        yield running


def fast_url(emulator: PrinterEmulator, write_timeout: float = 3.0) -> str:
    """The emulator's URL with timeouts short enough for tests."""
    return f"{emulator.url}?connect_timeout=0.5&status_timeout=0.3&write_timeout={write_timeout:g}"
