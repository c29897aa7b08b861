"""Physical capabilities of one ticket printer model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from printer.errors import PrinterConfigError

PaperWidth = Literal[58, 80]
TextMode = Literal["gb18030", "raster"]

# Standard thermal heads at 203 dpi: 48 mm / 72 mm printable of 58 / 80 mm
# paper, and 12-dot-wide font A cells give the column counts.
_DOTS = {58: 384, 80: 576}
_COLUMNS = {58: 32, 80: 48}


@dataclass(frozen=True)
class PrinterProfile:
    """How to talk to a printer model.

    ``text_mode="gb18030"`` is for printers with a Chinese font ROM (FS & then
    GB18030 text); ``"raster"`` draws all text as images for printers without
    one, using ``font_path`` or a CJK font found on the system.
    """

    paper_width_mm: PaperWidth = 80
    text_mode: TextMode = "gb18030"
    font_path: str | None = None
    cut: bool = True

    def __post_init__(self) -> None:
        # Profiles usually come from config files, where typos are common:
        # reject them here with a message naming the accepted values.
        if self.paper_width_mm not in _DOTS:
            raise PrinterConfigError(f"paper_width_mm must be 58 or 80, got {self.paper_width_mm!r}")
        if self.text_mode not in ("gb18030", "raster"):
            raise PrinterConfigError(f"text_mode must be 'gb18030' or 'raster', got {self.text_mode!r}")

    @property
    def chars_per_line(self) -> int:
        """Columns of the printer's 12x24 font A (a CJK character takes two)."""
        return _COLUMNS[self.paper_width_mm]

    @property
    def dots_per_line(self) -> int:
        """Printable width in dots, the width of raster images."""
        return _DOTS[self.paper_width_mm]
