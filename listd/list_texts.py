"""The texts an owner may write for a list, in the list's language: welcome, goodbye, info,
footer, header (at the top of each post) and reminder. Each has the placeholders it may use,
checked when the text is saved, so a typo is refused then and not found when a mail goes out.
An empty welcome or goodbye turns that mail off; a text never set (or reset) is listd's own,
from the catalog.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from listd.errors import UserError
from listd.i18n import placeholders
from listd.models import MailingList

# Where the texts are kept, in the list's settings (JSON).
SETTINGS_KEY = "texts"


@dataclass(frozen=True)
class EditableText:
    name: str
    placeholders: frozenset[str]
    # An empty text means: send no such mail.
    empty_turns_off: bool = False


def _text(name: str, names: str, empty_turns_off: bool = False) -> EditableText:
    return EditableText(name, frozenset(names.split()), empty_turns_off)


TEXTS = {text.name: text for text in (
    _text("welcome", "list address who subject description request leave posting", True),
    _text("goodbye", "list address join", True),
    _text("info", "list subject description owners request"),
    _text("footer", "list request leave"),
    _text("header", "list request leave"),
    _text("reminder", "list subject request leave"),
)}


class TextError(UserError):
    """A list text that cannot be saved; the message names the name or placeholder."""


def editable(name: str) -> EditableText:
    if name not in TEXTS:
        raise TextError(f"no list text named {name!r} (texts: {', '.join(TEXTS)})")
    return TEXTS[name]


def check(name: str, text: str) -> str:
    """TEXT as it will be kept, or TextError naming what is wrong in it."""
    chosen = editable(name)
    try:
        list(string.Formatter().parse(text))
    except ValueError as error:
        raise TextError(f"{name}: {error} (write {{{{ and }}}} for a literal brace)") from None
    unknown = placeholders(text) - chosen.placeholders
    if unknown:
        raise TextError(f"{name}: unknown placeholder {{{sorted(unknown)[0]}}} (allowed: "
                        + ", ".join(f"{{{p}}}" for p in sorted(chosen.placeholders)) + ")")
    return text.strip() + "\n" if text.strip() else ""


def stored(mailing_list: MailingList, name: str) -> str | None:
    """The owner's text NAME, '' when turned off, None when listd's own applies."""
    texts = (mailing_list.settings or {}).get(SETTINGS_KEY) or {}
    value = texts.get(name)
    if not isinstance(value, str) or (not value and not editable(name).empty_turns_off):
        return None
    return value


def fill(text: str, **values: object) -> str:
    """An owner's text with its placeholders filled (checked when saved)."""
    return string.Formatter().vformat(text, (), {k: str(v) for k, v in values.items()})
