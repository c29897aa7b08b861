"""The device-independent pieces a ticket layout is made of.

``layout.ticket_layout`` decides *what* goes on the ticket as a list of these;
the ESC/POS renderers and the PNG preview decide *how* to draw them. Every
item is centred: a queue ticket is read at a glance, not scanned like a receipt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    """One already-wrapped line of text.

    ``width``/``height`` are the ESC/POS character magnifications (GS !), so
    a line of ``n`` columns takes ``n * width`` columns of paper.
    """

    text: str
    width: int = 1
    height: int = 1
    bold: bool = False
    invert: bool = False


@dataclass(frozen=True)
class Rule:
    """A full-width separator."""


@dataclass(frozen=True)
class QrCode:
    """A QR code (model 2, error correction M) with ``module_dots`` dots per module."""

    data: str
    module_dots: int


LayoutItem = Line | Rule | QrCode
