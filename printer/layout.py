"""What a queue ticket looks like, and the ESC/POS bytes that print it.

``ticket_layout`` turns a TicketPrint into device-independent items (see
``layout_items``); ``render_ticket`` feeds those to the text-mode or raster
renderer. Same input, same bytes: nothing here reads the clock, the locale or
the network, and the only machine-dependent input is the CJK font in raster
mode.
"""

from __future__ import annotations

import math

import qrcode
from qrcode.constants import ERROR_CORRECT_M

from printer.errors import TicketDataError
from printer.escpos_render import render_raster_mode, render_text_mode
from printer.layout_items import LayoutItem, Line, QrCode, Rule
from printer.profile import PrinterProfile
from printer.text_wrap import clean, text_columns, wrap
from printer.ticket import TicketPrint

__all__ = ["PrinterProfile", "TicketPrint", "qr_module_dots", "render_ticket", "ticket_layout"]

# Magnification of the ticket number. Bigger than double size on purpose: the
# number is the one thing customers compare against the hall display from a
# distance; 3x/4x keeps "A001" at about a third of the paper width.
NUMBER_MAGNIFICATION = {58: 3, 80: 4}
# Dots per QR module: phones read 6-8 dot modules (0.75-1 mm) reliably.
QR_MODULE_DOTS = {58: 6, 80: 8}
# Below this a thermal-printed module is too small to scan, so refuse instead.
QR_MIN_MODULE_DOTS = 3

PRIORITY_LABEL = "优先 PRIORITY"
QR_CAPTION = ("扫码查看排队进度", "Scan to follow your turn")
#: Instead of minutes, when every counter serving the service is paused or closed.
NO_COUNTER_SERVING = ("暂无窗口办理此业务", "No counter is serving this right now")


def _lines(
    text: str,
    cols: int,
    *,
    width: int = 1,
    height: int = 1,
    bold: bool = False,
    invert: bool = False,
) -> list[Line]:
    return [
        Line(line, width=width, height=height, bold=bold, invert=invert)
        for paragraph in clean(text).split("\n")
        for line in wrap(paragraph, cols // width)
    ]


def _pair(zh: str, en: str, cols: int) -> list[Line]:
    """Chinese and English on one line when they fit, else one line each."""
    joined = f"{clean(zh)} / {clean(en)}"
    if text_columns(joined) <= cols:
        return _lines(joined, cols)
    return _lines(zh, cols) + _lines(en, cols)


def _number_lines(number: str, profile: PrinterProfile) -> list[Line]:
    cols = profile.chars_per_line
    number = clean(number).strip()
    # Shrink a long number rather than wrap it: a ticket number split over two
    # lines is easily misread.
    magnification = NUMBER_MAGNIFICATION[profile.paper_width_mm]
    while magnification > 1 and text_columns(number) * magnification > cols:
        magnification -= 1
    return _lines(number, cols, width=magnification, height=magnification, bold=True)


def qr_module_dots(url: str, profile: PrinterProfile) -> int:
    """Module size that keeps the QR code for ``url`` within the paper width."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0)
    code.add_data(url)
    code.make(fit=True)
    modules = int(code.modules_count)
    dots = min(QR_MODULE_DOTS[profile.paper_width_mm], profile.dots_per_line // modules)
    if dots < QR_MIN_MODULE_DOTS:
        raise TicketDataError(
            f"qr_url is too long ({len(url)} characters) for a scannable QR code on {profile.paper_width_mm} mm paper"
        )
    return dots


def _wait_minutes(seconds: int) -> int:
    # Round up: promising less waiting than the estimate annoys more than the reverse.
    return max(1, math.ceil(seconds / 60))


def ticket_layout(ticket: TicketPrint, profile: PrinterProfile) -> list[LayoutItem]:
    """The ticket as centred lines, rules and a QR code, wrapped for ``profile``."""
    cols = profile.chars_per_line
    items: list[LayoutItem] = []
    items += _lines(ticket.branch_name, cols, bold=True)
    items.append(Rule())
    items += _number_lines(ticket.number, profile)
    if ticket.priority:
        items += _lines(PRIORITY_LABEL, cols, bold=True, invert=True)
    items += _lines(ticket.service_name_zh, cols, height=2, bold=True)
    items += _lines(ticket.service_name_en, cols)
    items.append(Rule())
    items += _lines(ticket.issued_at.strftime("%Y-%m-%d %H:%M"), cols)
    items += _pair(f"前面还有 {ticket.ahead} 人", f"{ticket.ahead} ahead of you", cols)
    if ticket.no_counter_serving:
        items += _pair(*NO_COUNTER_SERVING, cols)
    elif ticket.estimated_wait_s is not None:
        minutes = _wait_minutes(ticket.estimated_wait_s)
        items += _pair(f"预计等待 {minutes} 分钟", f"about {minutes} min", cols)
    counters = [c for c in (clean(c).strip() for c in ticket.counters) if c]
    if counters:
        label = "Counters" if len(counters) > 1 else "Counter"
        items += _lines(f"窗口 {label}: {', '.join(counters)}", cols)
    items.append(QrCode(ticket.qr_url, qr_module_dots(ticket.qr_url, profile)))
    items += _pair(*QR_CAPTION, cols)
    if clean(ticket.footer).strip():
        items.append(Rule())
        items += _lines(ticket.footer, cols)
    return items


def render_ticket(ticket: TicketPrint, profile: PrinterProfile) -> bytes:
    """The complete ESC/POS byte stream for one ticket: init to cut."""
    items = ticket_layout(ticket, profile)
    if profile.text_mode == "raster":
        return render_raster_mode(items, profile)
    return render_text_mode(items, profile)
