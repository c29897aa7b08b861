"""PNG previews of tickets, drawn from the same layout the printer gets.

Used by the ``preview://DIR`` transport (printing without a printer, for demos
and kiosk development) and for the pictures in the docs. Text is drawn exactly
as raster mode draws it, which is also how a Chinese-font printer's 12/24-dot
glyphs look, so the preview is a faithful picture at one pixel per dot.
"""

from __future__ import annotations

from pathlib import Path

import qrcode
from PIL import Image, ImageOps
from qrcode.constants import ERROR_CORRECT_M

from printer.bitmap_text import ROW_DOTS, block_image
from printer.fonts import FontSpec, find_cjk_font
from printer.layout import ticket_layout
from printer.layout_items import Line, QrCode, Rule
from printer.profile import PrinterProfile
from printer.ticket import TicketPrint

PAPER_MARGIN_DOTS = 16
BACKGROUND_MARGIN_PX = 24
_PAPER = 255
_BACKGROUND = 225


def qr_image(item: QrCode) -> Image.Image:
    """The QR code as the printer draws it: model 2, level M, no quiet zone."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=item.module_dots, border=0)
    code.add_data(item.data)
    code.make(fit=True)
    image: Image.Image = code.make_image().get_image()
    return image.convert("1")


def _qr_row(item: QrCode, width: int) -> Image.Image:
    code = qr_image(item)
    # The renderers send a line feed before and after the symbol (a quiet
    # zone, which printers do not add); mirror those blank rows.
    row = Image.new("1", (width, code.height + 2 * ROW_DOTS), 255)
    row.paste(code, ((width - code.width) // 2, ROW_DOTS))
    return row


def render_preview(ticket: TicketPrint, profile: PrinterProfile, font: FontSpec | None = None) -> Image.Image:
    """The ticket as a grayscale image: paper at one pixel per printer dot."""
    face = font or find_cjk_font(profile.font_path)
    width = profile.dots_per_line
    rows: list[Image.Image] = []
    pending: list[Line | Rule] = []
    for item in ticket_layout(ticket, profile):
        if isinstance(item, QrCode):
            if pending:
                rows.append(block_image(pending, width, face))
                pending = []
            rows.append(_qr_row(item, width))
        else:
            pending.append(item)
    if pending:
        rows.append(block_image(pending, width, face))

    content_height = sum(row.height for row in rows)
    paper = Image.new("L", (width, content_height + 2 * PAPER_MARGIN_DOTS), _PAPER)
    y = PAPER_MARGIN_DOTS
    for row in rows:
        paper.paste(row.convert("L"), (0, y))
        y += row.height
    return ImageOps.expand(paper, border=BACKGROUND_MARGIN_PX, fill=_BACKGROUND)


def save_preview(ticket: TicketPrint, profile: PrinterProfile, path: str | Path, font: FontSpec | None = None) -> Path:
    """Write ``render_preview`` as a PNG, creating parent directories."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    render_preview(ticket, profile, font).save(target, format="PNG", optimize=True)
    return target
