"""Drawing layout text as 1-bit images, for raster printing and previews.

Geometry mimics a printer's own font so raster and preview tickets look like
text-mode ones: one magnification step is a 24-dot glyph on a 32-dot row. Row
heights depend only on the layout, never on font metrics, so image sizes (and
the raster command headers) are the same whichever CJK font is installed.
"""

from __future__ import annotations

from collections.abc import Sequence

from PIL import Image, ImageChops, ImageDraw

from printer.fonts import FontSpec, load_font
from printer.layout_items import Line, Rule

GLYPH_DOTS = 24
ROW_DOTS = 32
RULE_ROW_DOTS = 16
_INVERT_PADDING = 12
_SIDE_MARGIN = 0
_MIN_SIZE = 8
_WHITE = 255
_BLACK = 0


def _text_strip(line: Line, max_width: int, font: FontSpec) -> Image.Image:
    """Render the text at the line's width magnification, then stretch vertically.

    Stretching (rather than picking a taller font) copies what GS ! does for
    unequal width/height, e.g. the double-height service name.
    """
    size = GLYPH_DOTS * line.width
    strip_height = ROW_DOTS * line.width
    face = load_font(font, size)
    bold_extra = 1 if line.bold else 0
    text_width = face.getlength(line.text) + bold_extra
    # Only reachable with a proportional font: layout wraps by columns, which
    # a monospaced CJK face honours exactly. Shrink rather than clip.
    limit = max_width - 2 * _SIDE_MARGIN
    while text_width > limit and size > _MIN_SIZE:
        size = max(_MIN_SIZE, min(size - 1, int(size * limit / text_width)))
        face = load_font(font, size)
        text_width = face.getlength(line.text) + bold_extra
    strip = Image.new("1", (max(1, int(text_width + 0.999)), strip_height), _WHITE)
    draw = ImageDraw.Draw(strip)
    for dx in range(bold_extra + 1):
        # Bold the way printers do it: strike the glyphs twice, one dot apart.
        draw.text((dx, strip_height / 2), line.text, font=face, fill=_BLACK, anchor="lm")
    if line.height != line.width:
        strip = strip.resize((strip.width, ROW_DOTS * line.height), Image.Resampling.NEAREST)
    return strip


def line_image(line: Line, width: int, font: FontSpec) -> Image.Image:
    """One centred text row, ``ROW_DOTS * line.height`` dots tall."""
    row = Image.new("1", (width, ROW_DOTS * line.height), _WHITE)
    if not line.text:
        return row
    strip = _text_strip(line, width, font)
    x = (width - strip.width) // 2
    y = (row.height - strip.height) // 2
    if line.invert:
        draw = ImageDraw.Draw(row)
        left = max(0, x - _INVERT_PADDING)
        right = min(width, x + strip.width + _INVERT_PADDING) - 1
        draw.rectangle((left, 0, right, row.height - 1), fill=_BLACK)
        strip = ImageChops.invert(strip)
    row.paste(strip, (x, y))
    return row


def rule_image(width: int) -> Image.Image:
    """A 2-dot horizontal separator row."""
    row = Image.new("1", (width, RULE_ROW_DOTS), _WHITE)
    middle = RULE_ROW_DOTS // 2
    ImageDraw.Draw(row).rectangle((0, middle - 1, width - 1, middle), fill=_BLACK)
    return row


def block_image(items: Sequence[Line | Rule], width: int, font: FontSpec) -> Image.Image:
    """Stack text rows and rules into one image ``width`` dots wide."""
    rows = [line_image(item, width, font) if isinstance(item, Line) else rule_image(width) for item in items]
    block = Image.new("1", (width, sum(row.height for row in rows)), _WHITE)
    y = 0
    for row in rows:
        block.paste(row, (0, y))
        y += row.height
    return block
