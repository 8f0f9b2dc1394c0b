"""One text mechanism: every text the code marks for translation has a complete French
translation with the same placeholders; Accept-Language is read by its q values."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from listd import i18n

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"N_": None, "Nn_": (1, 2), "translate": (2,), "translate_plural": (2, 3),
            "_": None, "gettext": None, "ngettext": (1, 2)}


def marked_messages() -> set[str | tuple[str, ...]]:
    found: set[str | tuple[str, ...]] = set()
    methods = [("listd/**.py", "python"), ("listd/**/templates/**.html", "jinja2")]
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=methods, keywords=KEYWORDS):
        found.add(message)
    return found


def test_every_marked_text_has_a_french_translation_with_the_same_placeholders() -> None:
    catalog = i18n.load_catalog("fr")
    assert catalog is not None
    missing = []
    for message in marked_messages():
        key = message if isinstance(message, str) else message[0]
        entry = catalog.get(message if isinstance(message, str) else (message[0], message[1]))
        if entry is None or entry.fuzzy or not entry.string or (
                isinstance(entry.string, tuple) and not all(entry.string)):
            missing.append(key)
            continue
        english = " ".join(message) if isinstance(message, tuple) else message
        translated = entry.string if isinstance(entry.string, str) else " ".join(entry.string)
        assert i18n.placeholders(english) == i18n.placeholders(translated), key
    assert missing == []


def test_every_french_entry_is_complete_and_keeps_its_placeholders() -> None:
    catalog = i18n.load_catalog("fr")
    assert catalog is not None
    for entry in catalog:
        if not entry.id:
            continue
        english = entry.id if isinstance(entry.id, str) else " ".join(entry.id)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        assert all(strings) and not entry.fuzzy, english
        for text in strings:
            assert i18n.placeholders(text) <= i18n.placeholders(english) | {"count"}, english


def test_translate_fills_placeholders_and_falls_back_to_english() -> None:
    assert i18n.translate_plural("fr", "{count} member", "{count} members", 1) == "1 membre"
    assert i18n.translate_plural("fr", "{count} member", "{count} members", 3) == "3 membres"
    assert i18n.translate_plural("en", "{count} member", "{count} members", 3) == "3 members"
    assert i18n.translate("fr", "No such text {x}", x="here") == "No such text here"
    assert i18n.translate("de", "Hello {name}", name="Jeanne") == "Hello Jeanne"
    assert i18n.translate("fr", "a {missing} one") == "a {missing} one"


def test_accept_language_by_quality() -> None:
    assert i18n.best_language("fr-FR,fr;q=0.9,en;q=0.8") == "fr"
    assert i18n.best_language("de, en;q=0.5, fr;q=0.7") == "fr"
    assert i18n.best_language("de") == "en"
    assert i18n.best_language(None) == "en"
    assert i18n.best_language("fr;q=0") == "en"
