"""Column widths and wrapping, shared by every rendering mode."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from printer.text_wrap import char_columns, clean, text_columns, wrap


def test_columns_follow_gb18030_byte_width() -> None:
    assert [char_columns(c) for c in "A1 中，·é"] == [1, 1, 1, 2, 2, 2, 2]
    assert text_columns("前面还有 3 人") == 13


def test_english_wraps_at_spaces_and_chinese_anywhere() -> None:
    assert wrap("Please watch the display; missed numbers must queue again.", 32) == [
        "Please watch the display; missed",
        "numbers must queue again.",
    ]
    assert wrap("请留意叫号屏幕与广播，过号请重新取号。", 16) == ["请留意叫号屏幕与", "广播，过号请重新", "取号。"]
    assert wrap("5G套餐 Plans", 8) == ["5G套餐", "Plans"]


def test_words_longer_than_a_line_are_cut() -> None:
    assert wrap("x" * 70, 32) == ["x" * 32, "x" * 32, "x" * 6]


def test_blank_text_has_no_lines() -> None:
    assert wrap("   ", 32) == []
    with pytest.raises(ValueError):
        wrap("abc", 1)


def test_clean_strips_controls_but_keeps_newlines() -> None:
    assert clean("a\x1b@b\r\nc\td\u200be\x00") == "a@b\nc de"


@given(st.text(alphabet=st.sampled_from("ab 中文，x\u00e9"), max_size=120), st.integers(2, 48))
def test_wrapped_lines_fit_and_keep_every_character(text: str, width: int) -> None:
    lines = wrap(text, width)
    assert all(0 < text_columns(line) <= width for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
