"""A mail shown to a person as text: a few headers, the readable body, the attachments' names.

Used wherever listd shows a message it received outside the archive (held posts in the API and
the pages). The reading itself is the archive's (archive/text.py): HTML turned into text,
never passed on to be rendered, so a post's markup or scripts cannot run in a moderator's
browser.
"""

from __future__ import annotations

from dataclasses import dataclass

from listd.archive.text import attachments, body_text, header_text
from listd.distribute.render import parse

SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject")


@dataclass(frozen=True)
class PlainText:
    headers: tuple[tuple[str, str], ...]
    body: str
    attachments: tuple[str, ...]

    def as_text(self) -> str:
        head = "\n".join(f"{name}: {value}" for name, value in self.headers)
        return f"{head}\n\n{self.body}"


def to_plain_text(raw: bytes) -> PlainText:
    message = parse(raw)
    headers = tuple((name, value) for name in SHOWN_HEADERS
                    if (value := header_text(message, name)))
    files = tuple(f"{a.filename} ({a.content_type})" for a in attachments(raw))
    return PlainText(headers, body_text(message).strip(), files)
