"""Fitting text into printer columns.

Widths follow what a Chinese-font printer does: a character that GB18030
encodes in one byte takes one 12-dot column, anything else is a 24-dot
full-width glyph (two columns). Raster mode and previews use the same widths so
a ticket wraps identically whichever way it is printed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator


def clean(text: str) -> str:
    """Drop control characters so ticket data can never inject ESC/POS commands.

    Newlines survive (normalised to ``\\n``) because the footer may be
    multi-line; tabs become spaces.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch) not in ("Cc", "Cf"))


def char_columns(ch: str) -> int:
    """Columns one character occupies on a Chinese-mode printer (1 or 2)."""
    return 1 if ord(ch) < 0x80 else 2


def text_columns(text: str) -> int:
    """Columns a string occupies (see ``char_columns``)."""
    return sum(char_columns(ch) for ch in text)


def _tokens(text: str) -> Iterator[str]:
    """Split into spaces, runs of narrow characters (words) and single wide characters.

    A line may break at a space or on either side of a wide character, which is
    how both English and Chinese text wrap.
    """
    word = ""
    for ch in text:
        if ch == " ":
            if word:
                yield word
                word = ""
            yield " "
        elif char_columns(ch) == 2:
            if word:
                yield word
                word = ""
            yield ch
        else:
            word += ch
    if word:
        yield word


def _hard_split(token: str, width: int) -> list[str]:
    """Cut a word longer than a whole line into line-sized pieces."""
    pieces: list[str] = []
    piece = ""
    for ch in token:
        if piece and text_columns(piece) + char_columns(ch) > width:
            pieces.append(piece)
            piece = ""
        piece += ch
    if piece:
        pieces.append(piece)
    return pieces


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap of one paragraph into lines of at most ``width`` columns.

    Returns no lines for blank text. Spaces at line breaks are dropped.
    """
    if width < 2:
        raise ValueError(f"wrap width must be >= 2 columns, got {width}")
    lines: list[str] = []
    current = ""
    pending_space = False
    for token in _tokens(text):
        if token == " ":
            pending_space = bool(current)
            continue
        joiner = " " if pending_space else ""
        pending_space = False
        if text_columns(current + joiner + token) <= width:
            current += joiner + token
            continue
        if current:
            lines.append(current)
        pieces = _hard_split(token, width)
        lines.extend(pieces[:-1])
        current = pieces[-1]
    if current:
        lines.append(current)
    return lines
