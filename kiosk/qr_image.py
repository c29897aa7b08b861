"""The ticket's QR code as an image for the screen, drawn locally (no network, no CDN)."""

from __future__ import annotations

import base64

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage


def qr_svg(url: str) -> str:
    """An SVG QR code of ``url``; the same error correction as the printed one."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4, image_factory=SvgPathImage)
    code.add_data(url)
    code.make(fit=True)
    svg: str = code.make_image().to_string(encoding="unicode")
    return svg


def qr_data_url(url: str) -> str:
    """The QR code as a ``data:`` URL, for an ``<img src>`` (the page's CSP allows data: images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(url).encode()).decode()
