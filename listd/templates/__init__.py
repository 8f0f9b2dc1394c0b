"""Reply and notice texts, by name, through the one text mechanism (listd/i18n.py): each mail
text is two catalog entries, its subject and its body (mail_texts.py), translated in
listd/locale/LANG/LC_MESSAGES/listd.po. A language without a translation falls back to English.
"""

from __future__ import annotations

from listd.templates.mail_texts import TEXTS
from listd.templates.text import MailText, Text

__all__ = ["TEXTS", "MailText", "Text", "render"]


def render(name: str, language: str, /, **values: object) -> Text:
    """The mail text NAME in LANGUAGE, its `{placeholders}` filled from VALUES."""
    return TEXTS[name].render(language, **{key: str(value) for key, value in values.items()})
