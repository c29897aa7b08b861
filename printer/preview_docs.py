"""Regenerate the ticket pictures in docs/tickets/.

Run from anywhere: ``python -m printer.preview_docs [--out DIR]``. The sample
data is fixed (including the time) so the pictures only change when the
layout or the font does.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from pathlib import Path

from printer.preview import save_preview
from printer.profile import PrinterProfile
from printer.ticket import TicketPrint

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "tickets"
_CHINA = timezone(timedelta(hours=8))

SAMPLES: dict[str, tuple[TicketPrint, PrinterProfile]] = {
    "ticket-zh.png": (
        TicketPrint(
            branch_name="NextUp 示例银行 中山路支行",
            number="A023",
            service_name_zh="个人储蓄与理财业务",
            service_name_en="Personal Savings & Wealth",
            issued_at=datetime(2024, 5, 6, 9, 41, tzinfo=_CHINA),
            ahead=6,
            estimated_wait_s=1130,
            counters=["3", "4", "7"],
            qr_url="http://10.0.0.5:8000/t/7f3c2a9e-1b4d-4c8e-9f10-2a3b4c5d6e7f",
            footer=(
                "请留意叫号屏幕与广播，过号请重新取号。\nPlease watch the display; missed numbers must queue again."
            ),
            priority=False,
        ),
        PrinterProfile(paper_width_mm=80, text_mode="gb18030"),
    ),
    "ticket-en.png": (
        TicketPrint(
            branch_name="NextUp Telecom - Harbour Road Store",
            number="V105",
            service_name_zh="5G 套餐 & SIM",
            service_name_en="5G Plans & SIM Cards",
            issued_at=datetime(2024, 5, 6, 14, 5, tzinfo=_CHINA),
            ahead=0,
            estimated_wait_s=90,
            counters=["VIP 1"],
            qr_url="http://10.0.0.5:8000/t/0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5",
            footer="Thank you for waiting. 感谢您的耐心等候。",
            priority=True,
        ),
        PrinterProfile(paper_width_mm=58, text_mode="raster"),
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    args = parser.parse_args(argv)
    for name, (ticket, profile) in SAMPLES.items():
        path = save_preview(ticket, profile, args.out / name)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
