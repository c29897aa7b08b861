"""Page texts and language: the one text catalogue (``texts.toml``) and the page's language.

The language is zh-CN or English, from ?lang=, the language cookie, or the browser's preference.
Templates write texts with ``translate``; a page's script gets its texts as JSON in the page's
config (``texts_for`` for the staff pages, ``section`` for the screens that show both languages).
"""

from __future__ import annotations

import tomllib
from importlib import resources

from starlette.requests import Request

LANGUAGES = ("zh", "en")
LANG_COOKIE = "nextup_lang"


def page_language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    first = accept.split(",", 1)[0].strip()
    return "en" if first.startswith("en") else "zh"


#: The one text catalogue: key -> {"zh": ..., "en": ...}, every page's texts (``texts.toml``).
Catalogue = dict[str, dict[str, str]]


class CatalogueError(ValueError):
    """``texts.toml`` has an entry that is not exactly one Chinese and one English string."""


def load_catalogue(source: str) -> Catalogue:
    catalogue: Catalogue = {}
    for key, words in tomllib.loads(source).items():
        if not isinstance(words, dict) or set(words) != set(LANGUAGES):
            raise CatalogueError(f"texts.toml: {key} must have exactly zh and en")
        if not all(isinstance(words[lang], str) and words[lang] for lang in LANGUAGES):
            raise CatalogueError(f"texts.toml: {key} has an empty or non-string text")
        catalogue[key] = {lang: words[lang] for lang in LANGUAGES}
    return catalogue


CATALOGUE: Catalogue = load_catalogue((resources.files("server.web") / "texts.toml").read_text("utf-8"))


def translate(key: str, lang: str) -> str:
    return CATALOGUE[key][lang]


def texts_for(lang: str, *prefixes: str) -> dict[str, str]:
    """The texts whose keys start with one of ``prefixes``, in ``lang``: what a staff page's script needs."""
    return {key: words[lang] for key, words in CATALOGUE.items() if key.startswith(prefixes)}


def section(prefix: str) -> Catalogue:
    """A screen's texts in both languages, keyed without ``prefix`` (``"kiosk."``): for the pages that
    show both languages or switch without reloading (phone, display, kiosk)."""
    return {key.removeprefix(prefix): words for key, words in CATALOGUE.items() if key.startswith(prefix)}


def section_in(prefix: str, lang: str) -> dict[str, str]:
    """``section(prefix)`` in one language: what that screen's template writes."""
    return {key: words[lang] for key, words in section(prefix).items()}
