"""Whole-stream golden files for the sample ticket, per paper width and text mode.

Text mode is compared byte for byte (``.bin``) and as a readable listing
(``.txt``, from ``printer.escpos_stream.dump``). Raster mode is compared as the
listing only: it shows every command and image size but not the pixels, which
depend on the installed font and FreeType; ``test_layout`` checks the rest.

After an intended layout change, regenerate and review the diff:

    NEXTUP_UPDATE_GOLDEN=1 /tmp/venv/bin/python -m pytest tests/printer/test_golden.py
    git diff tests/printer/golden/
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from printer.escpos_stream import dump
from printer.fonts import FontSpec
from printer.layout import render_ticket
from printer.profile import PrinterProfile
from tests.printer.conftest import PROFILES, SAMPLE_TICKET, profile_id

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NEXTUP_UPDATE_GOLDEN") == "1"


def _check(path: Path, actual: bytes) -> None:
    if UPDATE:
        path.write_bytes(actual)
        return
    assert path.exists(), f"{path} missing; regenerate goldens (see {__name__} docstring)"
    expected = path.read_bytes()
    if path.suffix == ".txt":
        # Compare as text so pytest shows a line diff.
        assert actual.decode("utf-8") == expected.decode("utf-8"), (
            f"{path.name} changed; if intended, regenerate (see {__name__} docstring)"
        )
    else:
        assert actual == expected, f"{path.name} changed; if intended, regenerate"


@pytest.mark.parametrize("profile", PROFILES, ids=profile_id)
def test_sample_ticket_matches_golden(profile: PrinterProfile, cjk_font: FontSpec) -> None:
    data = render_ticket(SAMPLE_TICKET, profile)
    stem = f"sample-{profile_id(profile)}"
    _check(GOLDEN_DIR / f"{stem}.txt", dump(data).encode("utf-8"))
    if profile.text_mode == "gb18030":
        _check(GOLDEN_DIR / f"{stem}.bin", data)
