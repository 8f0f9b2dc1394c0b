"""The one text mechanism for everything listd writes to a person: gettext catalogs.

English is the source language: a message's msgid is its English text, with `{name}`
placeholders (Python brace format). Each other language has a catalog,
`listd/locale/LANG/LC_MESSAGES/listd.po`, maintained with Babel (`pybabel extract`,
`update`) and read here with Babel at start, so no compile step stands between an edit and a
running listd. A message a catalog lacks falls back to English; the catalog test fails when a
French message is missing or its placeholders differ from the English ones.

Mail texts, command replies, notices, footers, reasons and web pages all go through
`translate` (or, in Jinja2 templates, through `jinja_environment`'s `_` and `ngettext`).
"""

from __future__ import annotations

import gettext
import io
import re
import string
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "listd"
SOURCE_LANGUAGE = "en"
LANGUAGES = ("en", "fr")
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)\}(?!\})")


def catalog_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@lru_cache(maxsize=len(LANGUAGES) + 2)
def load_catalog(language: str) -> Catalog | None:
    """LANGUAGE's catalog as Babel reads it (None for English, the source, or an unknown one)."""
    path = catalog_path(language)
    if language == SOURCE_LANGUAGE or not path.is_file():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale=language, domain=DOMAIN)


@lru_cache(maxsize=len(LANGUAGES) + 2)
def translations(language: str) -> gettext.NullTranslations:
    """The catalog compiled in memory for the standard gettext machinery (plural rules too)."""
    catalog = load_catalog(language)
    if catalog is None:
        return gettext.NullTranslations()
    compiled = io.BytesIO()
    write_mo(compiled, catalog, use_fuzzy=False)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


class _Values(dict[str, object]):
    def __missing__(self, key: str) -> str:
        # A placeholder the caller did not fill shows as itself rather than failing a mail.
        return "{" + key + "}"


def _fill(text: str, values: dict[str, object]) -> str:
    if not values:
        return text
    return string.Formatter().vformat(text, (), _Values(values))


def fill(text: str, values: dict[str, object]) -> str:
    """TEXT's placeholders filled from VALUES, untranslated (an unfilled one shows as itself)."""
    return _fill(text, values)


class Term(str):
    """A placeholder's value that is itself a word of the catalog (a role, a state), so it is
    translated along with the message it goes into (marked with N_ where it is defined)."""


def N_(message: str) -> str:
    """Marks MESSAGE for the catalog where it is defined (a table, a class attribute) and
    translated later, with `translate(language, message)`."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Marks a singular and plural pair for the catalog, translated later with
    `translate_plural(language, singular, plural, count)`."""
    return singular, plural


def translate(language: str, message: str, /, **values: object) -> str:
    """MESSAGE (its English text) in LANGUAGE, with its placeholders filled from VALUES."""
    return _fill(translations(language).gettext(message), values)


def translate_plural(language: str, singular: str, plural: str, count: int, /,
                     **values: object) -> str:
    text = translations(language).ngettext(singular, plural, count)
    return _fill(text, {"count": count, **values})


def best_language(accept_language: str | None, offered: tuple[str, ...] = LANGUAGES,
                  default: str = SOURCE_LANGUAGE) -> str:
    """The first of OFFERED named by an Accept-Language header, by its q values."""
    if not accept_language:
        return default
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept_language.split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower().split("-")[0]))
    for negative_quality, _, tag in sorted(ranked):
        if negative_quality < 0 and tag in offered:
            return tag
    return default
