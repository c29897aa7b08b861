"""Raster mode: the GS v 0 encoding, text images, and the CJK font lookup."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from printer.bitmap_text import ROW_DOTS, RULE_ROW_DOTS, _text_strip, block_image, line_image
from printer.errors import FontNotFound
from printer.escpos_render import RASTER_BAND_ROWS, raster_commands, render_raster_mode
from printer.escpos_stream import parse
from printer.fonts import FontSpec, find_cjk_font
from printer.layout import ticket_layout
from printer.layout_items import Line, QrCode, Rule
from printer.profile import PrinterProfile
from printer.ticket import TicketPrint


def test_raster_command_bytes_for_a_known_image() -> None:
    image = Image.new("1", (16, 2), 255)
    image.putpixel((0, 0), 0)  # top-left dot: MSB of the first byte
    image.putpixel((15, 0), 0)  # last dot of the row: LSB of the second byte
    for x in range(8, 16):
        image.putpixel((x, 1), 0)
    assert raster_commands(image) == (
        b"\x1dv0\x00" + b"\x02\x00" + b"\x02\x00" + bytes([0b1000_0000, 0b0000_0001, 0x00, 0xFF])
    )


def test_tall_images_are_sent_in_bands() -> None:
    data = raster_commands(Image.new("1", (8, 600), 0))
    commands = parse(data)
    assert [c.name for c in commands] == ["GS v 0"] * 3
    heights = [int.from_bytes(c.raw[6:8], "little") for c in commands]
    assert heights == [RASTER_BAND_ROWS, RASTER_BAND_ROWS, 600 - 2 * RASTER_BAND_ROWS]
    assert all(set(c.raw[8:]) == {0xFF} for c in commands)


def test_raster_width_must_be_whole_bytes() -> None:
    with pytest.raises(ValueError, match="multiple of 8"):
        raster_commands(Image.new("1", (10, 1), 255))


def _decode_bands(data: bytes) -> list[Image.Image]:
    """Turn consecutive GS v 0 bands back into images (1 bit = black dot)."""
    images: list[Image.Image] = []
    current: list[bytes] = []
    width = 0
    for command in [*parse(data), parse(b"\n")[0]]:
        if command.name == "GS v 0":
            width = int.from_bytes(command.raw[4:6], "little") * 8
            current.append(bytes(b ^ 0xFF for b in command.raw[8:]))
        elif current:
            rows = b"".join(current)
            images.append(Image.frombytes("1", (width, len(rows) * 8 // width), rows))
            current = []
    return images


def test_raster_stream_decodes_back_to_the_text_blocks(ticket: TicketPrint, cjk_font: FontSpec) -> None:
    profile = PrinterProfile(paper_width_mm=58, text_mode="raster")
    items = ticket_layout(ticket, profile)
    qr_at = next(i for i, item in enumerate(items) if isinstance(item, QrCode))
    before = [i for i in items[:qr_at] if isinstance(i, Line | Rule)]
    after = [i for i in items[qr_at + 1 :] if isinstance(i, Line | Rule)]
    decoded = _decode_bands(render_raster_mode(items, profile, cjk_font))
    assert len(decoded) == 2
    assert decoded[0].tobytes() == block_image(before, 384, cjk_font).tobytes()
    assert decoded[1].tobytes() == block_image(after, 384, cjk_font).tobytes()


def test_row_heights_come_from_the_layout_not_the_font(cjk_font: FontSpec) -> None:
    assert line_image(Line("A023", width=4, height=4), 576, cjk_font).size == (576, 4 * ROW_DOTS)
    assert line_image(Line("个人业务", height=2), 384, cjk_font).size == (384, 2 * ROW_DOTS)
    block = block_image([Line("前面还有"), Rule(), Line("")], 384, cjk_font)
    assert block.size == (384, 2 * ROW_DOTS + RULE_ROW_DOTS)


def test_inverted_line_is_white_on_black(cjk_font: FontSpec) -> None:
    row = line_image(Line("优先 PRIORITY", invert=True), 384, cjk_font)
    histogram = row.convert("L").histogram()
    black, white = histogram[0], histogram[255]
    assert row.getpixel((192, 1)) == 0  # the bar behind the text
    assert row.getpixel((0, 1)) == 255  # paper outside the bar
    assert black > white / 4


def test_text_wider_than_the_paper_is_shrunk_not_clipped(cjk_font: FontSpec) -> None:
    # Layout never produces this (it wraps by columns), but a configured
    # proportional font could: 40 columns on 32-column paper.
    assert _text_strip(Line("W" * 40), 384, cjk_font).width <= 384
    # A full 32-column line already fits the monospaced face at full size.
    assert _text_strip(Line("W" * 32), 384, cjk_font).width == 384
    assert line_image(Line("W" * 40), 384, cjk_font).size == (384, ROW_DOTS)


def test_found_font_really_draws_chinese(cjk_font: FontSpec) -> None:
    assert Path(cjk_font.path).is_file()
    # Two different characters must give two different pictures (no tofu).
    first = line_image(Line("前"), 384, cjk_font).tobytes()
    second = line_image(Line("后"), 384, cjk_font).tobytes()
    assert first != second


def test_configured_font_path_is_used_and_never_silently_replaced(tmp_path: Path, cjk_font: FontSpec) -> None:
    assert find_cjk_font(cjk_font.path).path == cjk_font.path
    with pytest.raises(FontNotFound, match="does not exist"):
        find_cjk_font(str(tmp_path / "missing.ttc"))
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font")
    with pytest.raises(FontNotFound, match="cannot draw Chinese"):
        find_cjk_font(str(junk))


def test_raster_profile_with_a_bad_font_fails_clearly(ticket: TicketPrint, tmp_path: Path) -> None:
    profile = PrinterProfile(text_mode="raster", font_path=str(tmp_path / "nope.ttf"))
    with pytest.raises(FontNotFound, match="font_path"):
        render_raster_mode(ticket_layout(ticket, profile), profile)
