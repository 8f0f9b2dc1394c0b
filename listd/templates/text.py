"""A text as it goes into a mail: a subject and a body; and a mail text kept in the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from listd.i18n import translate, translate_plural


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
    # A subject that says how many (`{count}`): its plural, chosen by the language's rules.
    subject_plural: str = ""

    @classmethod
    def counting(cls, subject: tuple[str, str], body: str) -> MailText:
        """A mail text whose subject is a singular and plural pair (marked with i18n.Nn_)."""
        return cls(subject[0], body, subject[1])

    def render(self, language: str, /, **values: object) -> Text:
        return Text(subject=self._subject(language, values),
                    body=translate(language, self.body, **values))

    def _subject(self, language: str, values: dict[str, object]) -> str:
        if not self.subject_plural:
            return translate(language, self.subject, **values)
        try:
            count = int(str(values.get("count")))
        except ValueError:
            count = 2  # a placeholder shown as itself (a preview): the plural reads best
        return translate_plural(language, self.subject, self.subject_plural, count, **values)
