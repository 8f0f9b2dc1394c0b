"""Reply and notice texts: one file per message and language, editable by the admin.

A file starts with a `Subject:` line, then a blank line, then the body; `$name` placeholders are
filled in with string.Template. A language without its own file falls back to English.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from string import Template

from listd.i18n import translate

TEMPLATE_DIR = Path(__file__).resolve().parent
FALLBACK = "en"


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def render(name: str, language: str, /, **values: object) -> Text:
    path = TEMPLATE_DIR / language / f"{name}.txt"
    if not path.is_file():
        path = TEMPLATE_DIR / FALLBACK / f"{name}.txt"
    head, _, body = path.read_text(encoding="utf-8").partition("\n\n")
    if not head.startswith("Subject:"):
        raise ValueError(f"{path}: the first line must be 'Subject: …'")
    strings = {key: str(value) for key, value in values.items()}
    return Text(subject=Template(head[len("Subject:"):].strip()).substitute(strings),
                body=Template(body).substitute(strings))


@dataclass(frozen=True)
class MailText:
    """A mail text kept in the gettext catalog: its subject and its body, each one entry, in
    English with `{name}` placeholders (marked with i18n.N_ where the text is defined)."""

    subject: str
    body: str

    def render(self, language: str, /, **values: object) -> Text:
        return Text(subject=translate(language, self.subject, **values),
                    body=translate(language, self.body, **values))
