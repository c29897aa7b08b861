"""Turning layout items into ESC/POS bytes.

python-escpos's ``Dummy`` printer does the byte building (it only collects
what would be sent), which keeps rendering free of I/O: transports send the
result. The few commands escpos has no method for (Chinese mode, GB18030 text,
banded raster images) go in through its raw channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from escpos.constants import QR_ECLEVEL_M, QR_MODEL_2
from escpos.printer import Dummy
from PIL import Image

from printer.bitmap_text import block_image
from printer.fonts import FontSpec, find_cjk_font
from printer.layout_items import LayoutItem, Line, QrCode, Rule
from printer.profile import PrinterProfile

#: FS & — select Chinese character mode: bytes >= 0x80 are read as GB code.
FS_CHINESE_ON = b"\x1c&"
#: FS . — cancel Chinese mode, so the next job starts from the default state.
FS_CHINESE_OFF = b"\x1c."
#: Lines fed before cutting: the cutter sits this far above the print head.
FEED_BEFORE_CUT = 6
#: Rows per GS v 0 command. Cheap printers with small input buffers garble a
#: single huge raster command; bands also stay far below firmware row limits.
RASTER_BAND_ROWS = 256


def encode_gb18030(text: str) -> bytes:
    """GB18030 bytes for a Chinese-mode printer.

    Four-byte GB18030 sequences (emoji, rare CJK extensions) are beyond the
    GBK-sized font ROMs of ticket printers, so they become ``?`` instead of
    two garbage glyphs.
    """
    out = bytearray()
    for ch in text:
        encoded = ch.encode("gb18030")
        out += encoded if len(encoded) <= 2 else b"?"
    return bytes(out)


def raster_commands(image: Image.Image) -> bytes:
    """GS v 0 commands printing a 1-bit image, split into bands.

    ``image`` width must be a multiple of 8. Pillow packs mode-1 pixels MSB
    first with 1 = white; ESC/POS wants 1 = burn a dot, hence the inversion.
    """
    if image.width % 8:
        raise ValueError(f"raster image width must be a multiple of 8, got {image.width}")
    mono = image.convert("1")
    width_bytes = image.width // 8
    out = bytearray()
    for top in range(0, mono.height, RASTER_BAND_ROWS):
        band = mono.crop((0, top, mono.width, min(mono.height, top + RASTER_BAND_ROWS)))
        bits = bytes(b ^ 0xFF for b in band.tobytes())
        out += b"\x1dv0\x00"
        out += width_bytes.to_bytes(2, "little") + band.height.to_bytes(2, "little")
        out += bits
    return bytes(out)


@dataclass(frozen=True)
class _TextStyle:
    width: int = 1
    height: int = 1
    bold: bool = False
    invert: bool = False


_DEFAULT_STYLE = _TextStyle()


def _set_style(printer: Any, current: _TextStyle, wanted: _TextStyle) -> _TextStyle:
    # Only changes are sent: fewer bytes, and the stream stays readable.
    if (current.width, current.height) != (wanted.width, wanted.height):
        # GS ! (custom size) rather than ESC !, because GS ! also magnifies
        # Chinese characters on Chinese-mode printers.
        printer.set(custom_size=True, width=wanted.width, height=wanted.height)
    if current.bold != wanted.bold:
        printer.set(bold=wanted.bold)
    if current.invert != wanted.invert:
        printer.set(invert=wanted.invert)
    return wanted


def _qr(printer: Any, item: QrCode) -> None:
    # Blank lines around the symbol stand in for the quiet zone QR readers
    # need and printers do not add themselves.
    printer._raw(b"\n")
    printer.qr(item.data, ec=QR_ECLEVEL_M, size=item.module_dots, model=QR_MODEL_2, native=True)
    printer._raw(b"\n")


def _finish(printer: Any, profile: PrinterProfile) -> bytes:
    if profile.cut:
        printer.cut(mode="FULL", feed=True)
    else:
        printer.print_and_feed(FEED_BEFORE_CUT)
    return bytes(printer.output)


def _new_printer() -> Any:
    printer = Dummy()
    printer.hw("INIT")
    printer.set(align="center")
    return printer


def render_text_mode(items: Sequence[LayoutItem], profile: PrinterProfile) -> bytes:
    """ESC/POS for a printer with a Chinese font ROM: FS & and GB18030 text."""
    printer = _new_printer()
    printer._raw(FS_CHINESE_ON)
    style = _DEFAULT_STYLE
    for item in items:
        if isinstance(item, Line):
            wanted = _TextStyle(item.width, item.height, item.bold, item.invert)
            style = _set_style(printer, style, wanted)
            printer._raw(encode_gb18030(item.text) + b"\n")
        elif isinstance(item, Rule):
            style = _set_style(printer, style, _DEFAULT_STYLE)
            printer._raw(b"-" * profile.chars_per_line + b"\n")
        else:
            style = _set_style(printer, style, _DEFAULT_STYLE)
            _qr(printer, item)
    _set_style(printer, style, _DEFAULT_STYLE)
    printer._raw(FS_CHINESE_OFF)
    return _finish(printer, profile)


def render_raster_mode(items: Sequence[LayoutItem], profile: PrinterProfile, font: FontSpec | None = None) -> bytes:
    """ESC/POS for a printer without Chinese fonts: text blocks as GS v 0 images.

    The QR code stays a native GS ( k command: the printer draws it crisper
    and in far fewer bytes than an image would take.
    """
    face = font or find_cjk_font(profile.font_path)
    printer = _new_printer()
    pending: list[Line | Rule] = []

    def flush() -> None:
        if pending:
            printer._raw(raster_commands(block_image(pending, profile.dots_per_line, face)))
            pending.clear()

    for item in items:
        if isinstance(item, QrCode):
            flush()
            _qr(printer, item)
        else:
            pending.append(item)
    flush()
    return _finish(printer, profile)
