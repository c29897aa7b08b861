"""PNG previews and the docs pictures."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from printer.fonts import FontSpec
from printer.preview import BACKGROUND_MARGIN_PX, render_preview
from printer.preview_docs import SAMPLES, main
from printer.profile import PrinterProfile
from printer.ticket import TicketPrint
from tests.printer.conftest import make_ticket


def test_preview_is_paper_width_and_deterministic(ticket: TicketPrint, cjk_font: FontSpec) -> None:
    for profile, dots in ((PrinterProfile(paper_width_mm=58), 384), (PrinterProfile(paper_width_mm=80), 576)):
        image = render_preview(ticket, profile)
        assert image.mode == "L"
        assert image.width == dots + 2 * BACKGROUND_MARGIN_PX
        assert image.tobytes() == render_preview(make_ticket(), profile).tobytes()


def test_text_and_raster_profiles_preview_alike(ticket: TicketPrint, cjk_font: FontSpec) -> None:
    text = render_preview(ticket, PrinterProfile(text_mode="gb18030"))
    raster = render_preview(ticket, PrinterProfile(text_mode="raster"))
    assert text.tobytes() == raster.tobytes()


def test_preview_changes_with_the_ticket(ticket: TicketPrint, cjk_font: FontSpec) -> None:
    assert (
        render_preview(ticket, PrinterProfile()).tobytes()
        != render_preview(make_ticket(number="A024"), PrinterProfile()).tobytes()
    )


def test_docs_script_writes_both_pictures(tmp_path: Path, cjk_font: FontSpec) -> None:
    assert main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ticket-en.png", "ticket-zh.png"]
    for name, (_, profile) in SAMPLES.items():
        with Image.open(tmp_path / name) as image:
            assert image.width == profile.dots_per_line + 2 * BACKGROUND_MARGIN_PX
