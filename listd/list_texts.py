"""The texts an owner may write for a list, in the list's language: welcome, goodbye, info,
footer, header (at the top of each post), reminder and invitation. Each has the placeholders it
may use, checked when the text is saved, so a typo is refused then and not found when a mail
goes out. An empty welcome or goodbye turns that mail off; a text never set (or reset) is
listd's own, from the catalog.

A text that is a mail (welcome, goodbye, reminder, invitation) may begin with a line
`Subject: …`: that mail's subject, with the same placeholders; without it the subject stays
listd's own, in the list's language.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from listd.errors import UserError
from listd.i18n import N_, placeholders
from listd.models import MailingList
from listd.templates import Text

# Where the texts are kept, in the list's settings (JSON).
SETTINGS_KEY = "texts"
SUBJECT_FIELD = "subject:"
# A subject is one header line; longer ones are folded and read badly in a mailbox.
MAX_SUBJECT = 200


@dataclass(frozen=True)
class EditableText:
    name: str
    placeholders: frozenset[str]
    # An empty text means: send no such mail.
    empty_turns_off: bool = False
    # A mail of its own, whose first line may be its `Subject: …`.
    is_mail: bool = False


def _text(name: str, names: str, empty_turns_off: bool = False,
          is_mail: bool = False) -> EditableText:
    return EditableText(name, frozenset(names.split()), empty_turns_off, is_mail)


TEXTS = {text.name: text for text in (
    _text("welcome", "list address who subject description request leave posting", True, True),
    _text("goodbye", "list address join", True, True),
    _text("info", "list subject description owners request"),
    _text("footer", "list request leave"),
    _text("header", "list request leave"),
    _text("reminder", "list subject request leave", is_mail=True),
    _text("invitation", "list who owner subject token request days", is_mail=True),
)}


class TextError(UserError):
    """A list text that cannot be saved; the message names the name or placeholder."""


def editable(name: str) -> EditableText:
    if name not in TEXTS:
        raise TextError(N_("no list text named {name} (texts: {names})"), name=repr(name),
                        names=", ".join(TEXTS))
    return TEXTS[name]


def split_subject(text: str) -> tuple[str | None, str]:
    """(the `Subject: …` first line's value or None, the body after it)."""
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.lower().startswith(SUBJECT_FIELD):
        return None, text
    return first[len(SUBJECT_FIELD):].strip(), rest.lstrip("\n")


def check(name: str, text: str) -> str:
    """TEXT as it will be kept, or TextError naming what is wrong in it."""
    chosen = editable(name)
    subject, body = split_subject(text)
    if subject is not None:
        _check_subject(chosen, subject, body)
    for part in (subject or "", body):
        _check_placeholders(chosen, part)
    if subject is not None:
        return f"Subject: {subject}\n\n{body.strip()}\n"
    return text.strip() + "\n" if text.strip() else ""


def _check_subject(chosen: EditableText, subject: str, body: str) -> None:
    if not chosen.is_mail:
        raise TextError(N_("the {name} text is not a mail: it has no Subject line (mails: "
                           "{names})"), name=chosen.name,
                        names=", ".join(t.name for t in TEXTS.values() if t.is_mail))
    if not subject:
        raise TextError(N_("the Subject line of the {name} text is empty"), name=chosen.name)
    if len(subject) > MAX_SUBJECT:
        raise TextError(N_("the Subject line of the {name} text is longer than {max} "
                           "characters"), name=chosen.name, max=MAX_SUBJECT)
    if not body.strip():
        raise TextError(N_("the {name} text has a Subject line but no text after it"),
                        name=chosen.name)


def _check_placeholders(chosen: EditableText, text: str) -> None:
    try:
        list(string.Formatter().parse(text))
    except ValueError:
        raise TextError(N_("a lone brace in the {name} text (write {{{{ and }}}} for a "
                           "literal brace)"), name=chosen.name) from None
    unknown = placeholders(text) - chosen.placeholders
    if unknown:
        raise TextError(N_("unknown placeholder {placeholder} in the {name} text; it may use "
                           "{allowed}"), placeholder="{" + sorted(unknown)[0] + "}",
                        name=chosen.name,
                        allowed=", ".join(f"{{{p}}}" for p in sorted(chosen.placeholders)))


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


def mail_text(mailing_list: MailingList, name: str, own: Text, **values: object) -> Text | None:
    """The mail NAME as it goes out: OWN (listd's, in the list's language) unless the owners
    wrote theirs — its subject too, if they gave one; None when they turned it off."""
    written = stored(mailing_list, name)
    if written is None:
        return own
    if not written:
        return None
    subject, body = split_subject(written)
    return Text(own.subject if subject is None else fill(subject, **values), fill(body, **values))
