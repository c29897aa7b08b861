"""The text catalogue (server/web/texts.toml): every text in both languages, each in its own language,
and every text a page names is in it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from server.web.i18n import CATALOGUE, LANGUAGES, CatalogueError, load_catalogue

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\{(\w+)\}")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ASCII_WORD = re.compile(r"[A-Za-z]+")

#: Latin words a Chinese text may hold: the product's name, codes and key caps as printed.
LATIN_IN_CHINESE = {"NextUp", "ID", "QR", "CSV", "Esc", "Enter"}
#: Texts that must name something in the other script: the language switch shows the other
#: language's own name; the opening hours format is typed in Latin letters ("closed").
LATIN_IN_CHINESE_OF = {"admin.hours_help": {"closed"}}
OTHER_LANGUAGE_NAME = "language.other"


def test_every_text_has_chinese_and_english() -> None:
    """Each entry has exactly a non-empty zh and en text."""
    assert len(CATALOGUE) > 300
    for key, words in CATALOGUE.items():
        assert set(words) == set(LANGUAGES), key
        assert all(words[lang].strip() for lang in LANGUAGES), key


def test_a_catalogue_missing_a_language_does_not_load() -> None:
    """An entry without its English, or with an empty text, stops the load with the key named."""
    with pytest.raises(CatalogueError, match=r"counter\.x"):
        load_catalogue('"counter.x" = { zh = "柜台" }')
    with pytest.raises(CatalogueError, match=r"counter\.y"):
        load_catalogue('"counter.y" = { zh = "", en = "Counter" }')


def test_chinese_texts_hold_no_english_words() -> None:
    """A Chinese text has no Latin words but placeholders and a few names and codes."""
    for key, words in CATALOGUE.items():
        allowed = LATIN_IN_CHINESE | LATIN_IN_CHINESE_OF.get(key, set())
        if key.endswith(OTHER_LANGUAGE_NAME):
            allowed = allowed | {"English"}
        latin = set(ASCII_WORD.findall(PLACEHOLDER.sub("", words["zh"])))
        assert latin <= allowed, f"{key}: {sorted(latin - allowed)} in {words['zh']!r}"


def test_english_texts_hold_no_chinese() -> None:
    """An English text has no Chinese characters, but for the switch that names 中文."""
    for key, words in CATALOGUE.items():
        if key.endswith(OTHER_LANGUAGE_NAME):
            continue
        assert not CJK.search(words["en"]), f"{key}: {words['en']!r}"


def test_both_languages_have_the_same_placeholders() -> None:
    """What a page fills into one language it fills into the other."""
    for key, words in CATALOGUE.items():
        assert set(PLACEHOLDER.findall(words["zh"])) == set(PLACEHOLDER.findall(words["en"])), key


@pytest.mark.parametrize(
    ("files", "pattern", "prefix"),
    [
        (["server/web/static/common.js", "server/web/static/counter.js", "server/web/static/admin.js",
          "server/web/static/dashboard.js", "server/web/static/complaints.js",
          "server/web/static/admin_emergency.js"], r'\bt\("([a-z_.]+)"[,)]', ""),
        (["server/web/templates/base.html", "server/web/templates/login.html", "server/web/templates/counter.html",
          "server/web/templates/admin.html", "server/web/templates/dashboard.html",
          "server/web/templates/complaints.html", "server/web/templates/forbidden.html"],
         r"\bt\('([a-z_.]+)'\)", ""),
        (["server/web/static/phone.js"], r'\b(?:text|say)\("([a-z_.]+)"[,)]', "phone."),
        (["server/web/templates/phone.html"], r'data-text="([a-z_.]+)"|\bt\[\'([a-z_.]+)\'\]', "phone."),
        (["display/static/display.js"], r'\btext\("(?:zh|en)", "([a-z_.]+)"[,)]', "display."),
        (["display/static/display.js"], r'setConnection\("\w+", "([a-z_.]+)"\)', "display."),
        (["display/static/emergency.js"], r'\btext\((?:lang|"zh"|"en"), "([a-z_.]+)"[,)]', "display."),
        (["display/templates/display.html"], r"\btexts\['([a-z_.]+)'\]", "display."),
        (["display/templates/pairing.html"], r"\btexts\['([a-z_.]+)'\]", "display.pairing."),
        (["display/static/pairing.js"], r'\bshow\("([a-z_.]+)"\)', "display.pairing."),
        (["kiosk/static/kiosk.js"], r'\btexts\("([a-z_.]+)"[,)]', "kiosk."),
        (["kiosk/templates/kiosk.html"], r"\btexts\['([a-z_.]+)'\]", "kiosk."),
    ],
)
def test_every_text_a_page_names_is_in_the_catalogue(files: list[str], pattern: str, prefix: str) -> None:
    """Keys written literally in the pages' scripts and templates all exist (a missing one would show as its key)."""
    keys: set[str] = set()
    for name in files:
        for match in re.finditer(pattern, (ROOT / name).read_text(encoding="utf-8")):
            keys |= {prefix + group for group in match.groups() if group}
    assert keys, f"the pattern finds nothing in {files}"
    assert keys - set(CATALOGUE) == set()
