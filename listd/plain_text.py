"""A mail shown to a person as text: a few headers, the readable body, the attachments' names.

Used wherever listd shows a message it received (held posts in the API and the pages): HTML is
turned into text here and never passed on to be rendered, so a post's markup or scripts cannot
run in a moderator's browser.
"""

from __future__ import annotations

from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser
from html.parser import HTMLParser

SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject")
MAX_PARTS = 200
BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}


@dataclass(frozen=True)
class PlainText:
    headers: tuple[tuple[str, str], ...]
    body: str
    attachments: tuple[str, ...]

    def as_text(self) -> str:
        head = "\n".join(f"{name}: {value}" for name, value in self.headers)
        return f"{head}\n\n{self.body}"


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skipping += 1
        elif tag in BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line).strip()


def _safe_header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
    except (ValueError, IndexError, TypeError):
        return None
    return " ".join(str(value).split()) if value is not None else None


def _content(part: Message) -> str:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError):
        return ""
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def to_plain_text(raw: bytes) -> PlainText:
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    headers = tuple((name, value) for name in SHOWN_HEADERS
                    if (value := _safe_header(message, name)) is not None)
    texts: list[str] = []
    htmls: list[str] = []
    attachments: list[str] = []
    for number, part in enumerate(message.walk()):
        if number >= MAX_PARTS:
            break
        if part.is_multipart():
            continue
        filename = part.get_filename()
        kind = part.get_content_type()
        if filename or part.get_content_disposition() == "attachment":
            attachments.append(f"{filename or '(unnamed)'} ({kind})")
        elif kind == "text/plain":
            texts.append(_content(part))
        elif kind == "text/html":
            htmls.append(html_to_text(_content(part)))
        else:
            attachments.append(f"(unnamed) ({kind})")
    body = "\n\n".join(texts) if texts else "\n\n".join(htmls)
    return PlainText(headers, body.strip(), tuple(attachments))


