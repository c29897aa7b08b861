"""Byte-level checks of rendered tickets, built from explicit expected bytes."""

from __future__ import annotations

from datetime import datetime

import pytest

from printer.errors import PrinterConfigError, TicketDataError
from printer.escpos_stream import iter_text, parse, qr_payloads
from printer.fonts import FontSpec
from printer.layout import render_ticket, ticket_layout
from printer.layout_items import Line, QrCode
from printer.profile import PaperWidth, PrinterProfile
from printer.ticket import TicketPrint
from tests.printer.conftest import PROFILES, QR_URL, make_ticket, profile_id

INIT = b"\x1b@"
CENTER = b"\x1ba\x01"
CHINESE_MODE_ON = b"\x1c&"
CHINESE_MODE_OFF = b"\x1c."
FEED_AND_CUT = b"\x1bd\x06\x1dV\x00"
# "个人业务" in GB18030, written out rather than computed with the same codec.
SERVICE_ZH_GB18030 = bytes.fromhex("b8f6c8cbd2b5cef1")
DOUBLE_HEIGHT = b"\x1d!\x01"


def expected_qr(url: str, module_dots: int) -> bytes:
    """GS ( k: model 2, module size, error correction M, store data, print."""
    payload = url.encode("ascii")
    return (
        b"\x1d(k\x04\x00"
        + b"1A"
        + b"2\x00"
        + b"\x1d(k\x03\x00"
        + b"1C"
        + bytes([module_dots])
        + b"\x1d(k\x03\x00"
        + b"1E"
        + b"1"
        + b"\x1d(k"
        + (len(payload) + 3).to_bytes(2, "little")
        + b"1P0"
        + payload
        + b"\x1d(k\x03\x00"
        + b"1Q0"
    )


@pytest.mark.parametrize("width,module", [(58, 6), (80, 8)])
def test_text_mode_key_parts(ticket: TicketPrint, width: PaperWidth, module: int) -> None:
    data = render_ticket(ticket, PrinterProfile(paper_width_mm=width, text_mode="gb18030"))
    assert data.startswith(INIT + CENTER + CHINESE_MODE_ON)
    assert DOUBLE_HEIGHT + b"\x1dB\x00" + SERVICE_ZH_GB18030 + b"\n" in data
    assert b"\n" + expected_qr(QR_URL, module) + b"\n" in data
    assert data.endswith(CHINESE_MODE_OFF + FEED_AND_CUT)
    assert b"-" * (32 if width == 58 else 48) + b"\n" in data


@pytest.mark.parametrize("width,magnification", [(58, b"\x22"), (80, b"\x33")])
def test_ticket_number_is_magnified_and_bold(ticket: TicketPrint, width: PaperWidth, magnification: bytes) -> None:
    data = render_ticket(ticket, PrinterProfile(paper_width_mm=width))
    assert b"\x1d!" + magnification + b"\x1bE\x01A023\n" in data


def test_both_languages_and_all_fields_are_printed(ticket: TicketPrint) -> None:
    texts = list(iter_text(render_ticket(ticket, PrinterProfile(paper_width_mm=80))))
    expected = [
        "NextUp 示例银行 中山路支行",
        "A023",
        "优先 PRIORITY",
        "个人业务",
        "Personal Banking",
        "2024-05-06 09:41",
        "前面还有 3 人 / 3 ahead of you",
        "预计等待 15 分钟 / about 15 min",
        "窗口 Counters: 1, 2, 5",
        "扫码查看排队进度 / Scan to follow your turn",
        "请留意叫号屏幕，过号需重新取号。",
        "Please watch the display.",
    ]
    for text in expected:
        assert text in texts


@pytest.mark.parametrize("width,dots_bytes", [(58, 48), (80, 72)])
def test_raster_mode_key_parts(ticket: TicketPrint, cjk_font: FontSpec, width: PaperWidth, dots_bytes: int) -> None:
    profile = PrinterProfile(paper_width_mm=width, text_mode="raster")
    data = render_ticket(ticket, profile)
    assert data.startswith(INIT + CENTER + b"\x1dv0\x00" + dots_bytes.to_bytes(2, "little"))
    # Raster mode must not rely on the printer's Chinese font at all.
    assert CHINESE_MODE_ON not in data
    assert SERVICE_ZH_GB18030 not in data
    assert expected_qr(QR_URL, 6 if width == 58 else 8) in data
    assert data.endswith(FEED_AND_CUT)
    images = [c for c in parse(data) if c.name == "GS v 0"]
    assert images and all(c.raw[4:6] == dots_bytes.to_bytes(2, "little") for c in images)
    assert all(int.from_bytes(c.raw[6:8], "little") <= 256 for c in images)
    assert all(any(c.raw[8:]) for c in images), "every raster band carries ink"


@pytest.mark.parametrize("profile", PROFILES, ids=profile_id)
def test_rendering_is_deterministic(ticket: TicketPrint, profile: PrinterProfile, cjk_font: FontSpec) -> None:
    assert render_ticket(ticket, profile) == render_ticket(make_ticket(), profile)


@pytest.mark.parametrize("profile", PROFILES, ids=profile_id)
def test_stream_has_one_qr_with_the_exact_url(ticket: TicketPrint, profile: PrinterProfile, cjk_font: FontSpec) -> None:
    data = render_ticket(ticket, profile)
    assert qr_payloads(data) == [QR_URL]
    commands = parse(data)
    assert b"".join(c.raw for c in commands) == data
    assert [c.name for c in commands].count("GS V") == 1
    assert commands[-1].name == "GS V"


@pytest.mark.parametrize("width", [58, 80])
def test_text_mode_ticket_stays_under_2_kib(width: PaperWidth) -> None:
    busy = make_ticket(
        branch_name="NextUp 示例银行股份有限公司 上海分行 浦东新区世纪大道营业部",
        service_name_zh="对公账户开立、变更与外汇结算业务",
        service_name_en="Business Accounts, Changes and Foreign Exchange Settlement",
        counters=[str(n) for n in range(1, 13)],
        estimated_wait_s=12_345,
        ahead=148,
        footer=(
            "请留意叫号屏幕与广播，过号请重新取号。办理业务请携带有效身份证件。\n"
            "Please watch the display; missed numbers must queue again. Bring valid ID."
        ),
    )
    for profile in (PrinterProfile(paper_width_mm=width), PrinterProfile(paper_width_mm=width, cut=False)):
        assert len(render_ticket(busy, profile)) < 2048


def test_no_cut_profile_feeds_without_cutting(ticket: TicketPrint) -> None:
    data = render_ticket(ticket, PrinterProfile(cut=False))
    assert data.endswith(CHINESE_MODE_OFF + b"\x1bd\x06")
    assert b"\x1dV" not in data


def test_lines_never_exceed_the_paper(ticket: TicketPrint) -> None:
    long = make_ticket(
        branch_name="Harbour Road Flagship Customer Experience Centre 海港路旗舰客户体验中心",
        footer="x" * 100,
        number="VIP-10001",
    )
    for profile in (PrinterProfile(paper_width_mm=58), PrinterProfile(paper_width_mm=80)):
        for item in ticket_layout(long, profile):
            if isinstance(item, Line):
                assert len(item.text.encode("gb18030")) * item.width <= profile.chars_per_line, item


def test_long_ticket_numbers_shrink_instead_of_wrapping() -> None:
    items = ticket_layout(make_ticket(number="VIP-10001"), PrinterProfile(paper_width_mm=58))
    numbers = [i for i in items if isinstance(i, Line) and i.text == "VIP-10001"]
    assert numbers == [Line("VIP-10001", width=3, height=3, bold=True)]
    items = ticket_layout(make_ticket(number="VIP-1000000001"), PrinterProfile(paper_width_mm=58))
    assert Line("VIP-1000000001", width=2, height=2, bold=True) in items


def test_optional_parts_are_left_out() -> None:
    plain = make_ticket(estimated_wait_s=None, counters=[], footer="", priority=False)
    texts = [i.text for i in ticket_layout(plain, PrinterProfile()) if isinstance(i, Line)]
    assert not any("预计等待" in t or "Counter" in t or "PRIORITY" in t for t in texts)
    assert texts[-1] == "扫码查看排队进度 / Scan to follow your turn"


@pytest.mark.parametrize("seconds,minutes", [(0, 1), (1, 1), (60, 1), (61, 2), (900, 15), (3599, 60)])
def test_wait_is_rounded_up_to_whole_minutes(seconds: int, minutes: int) -> None:
    texts = [
        i.text for i in ticket_layout(make_ticket(estimated_wait_s=seconds), PrinterProfile()) if isinstance(i, Line)
    ]
    assert f"预计等待 {minutes} 分钟 / about {minutes} min" in texts


@pytest.mark.parametrize("width", [58, 80])
def test_with_no_counter_serving_the_ticket_says_so_instead_of_minutes(width: PaperWidth) -> None:
    """Every counter of the service paused or closed: the printed ticket names no minutes, says why."""
    quiet = make_ticket(estimated_wait_s=None, no_counter_serving=True)
    texts = list(iter_text(render_ticket(quiet, PrinterProfile(paper_width_mm=width))))
    joined = " ".join(texts)
    assert "暂无窗口办理此业务" in joined and "No counter is serving this right now" in joined
    assert "前面还有 3 人" in joined  # the people ahead are still printed
    assert "预计等待" not in joined and "min" not in joined
    with pytest.raises(TicketDataError, match="no counter"):
        make_ticket(estimated_wait_s=60, no_counter_serving=True)


def test_single_counter_is_singular() -> None:
    texts = [i.text for i in ticket_layout(make_ticket(counters=["VIP 1"]), PrinterProfile()) if isinstance(i, Line)]
    assert "窗口 Counter: VIP 1" in texts


def test_control_characters_cannot_inject_commands() -> None:
    hostile = make_ticket(branch_name="Evil\x1bi\x1d V\x00Bank", footer="ok\x10\x04\x01")
    data = render_ticket(hostile, PrinterProfile())
    assert b"\x1bi" not in data and b"\x1d V" not in data
    assert b"Evili VBank\n" in data
    assert b"\x10" not in data
    assert [c.name for c in parse(data)].count("GS V") == 1


def test_characters_beyond_gbk_print_as_placeholder() -> None:
    data = render_ticket(make_ticket(branch_name="Café 😀 银行"), PrinterProfile())
    assert "Café ? 银行".encode("gb18030") + b"\n" in data


def test_qr_module_shrinks_for_long_urls_and_refuses_unscannable_ones() -> None:
    long_url = "http://10.0.0.5:8000/t/" + "x" * 300
    [qr] = [
        i
        for i in ticket_layout(make_ticket(qr_url=long_url), PrinterProfile(paper_width_mm=58))
        if isinstance(i, QrCode)
    ]
    assert qr.data == long_url and 3 <= qr.module_dots < 6
    with pytest.raises(TicketDataError, match="too long"):
        ticket_layout(make_ticket(qr_url="http://x/" + "y" * 1500), PrinterProfile(paper_width_mm=58))


def test_ticket_validation() -> None:
    with pytest.raises(TicketDataError, match="timezone-aware"):
        make_ticket(issued_at=datetime(2024, 5, 6, 9, 41))
    with pytest.raises(TicketDataError, match="ahead"):
        make_ticket(ahead=-1)
    with pytest.raises(TicketDataError, match="estimated_wait_s"):
        make_ticket(estimated_wait_s=-5)
    with pytest.raises(ValueError):  # TicketDataError is also a ValueError
        make_ticket(number="  ")


def test_profile_validation_names_accepted_values() -> None:
    with pytest.raises(PrinterConfigError, match="58 or 80"):
        PrinterProfile(paper_width_mm=76)  # type: ignore[arg-type]
    with pytest.raises(PrinterConfigError, match="'gb18030' or 'raster'"):
        PrinterProfile(text_mode="utf8")  # type: ignore[arg-type]
    narrow, wide = PrinterProfile(paper_width_mm=58), PrinterProfile(paper_width_mm=80)
    assert (narrow.chars_per_line, narrow.dots_per_line) == (32, 384)
    assert (wide.chars_per_line, wide.dots_per_line) == (48, 576)
