"""A text as it goes into a mail: a subject and a body; and a mail text kept in the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from listd.i18n import translate


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


@dataclass(frozen=True)
class MailText:
    """A mail text kept in the gettext catalog: its subject and its body, each one entry, in
    English with `{name}` placeholders (marked with i18n.N_ where the text is defined)."""

    subject: str
    body: str

    def render(self, language: str, /, **values: object) -> Text:
        return Text(subject=translate(language, self.subject, **values),
                    body=translate(language, self.body, **values))
