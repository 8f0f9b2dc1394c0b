"""What the archive reads from a message: its threading headers, author, date and text.

Pure: bytes in, values out. HTML parts are converted to text (never shown as sent); other
non-text parts are attachments, listed with a safe content type for download.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from listd import header_values
from listd.distribute.render import parse

_MESSAGE_ID = re.compile(r"<[^<>\s\x00]+>")
MAX_HEADER = 998
# Content types an attachment may be served as; anything else is application/octet-stream.
SAFE_TYPES = frozenset({"text/plain", "application/pdf", "image/png", "image/jpeg",
                        "image/gif", "application/zip"})


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ArchiveFacts:
    """The archive's view of one message."""

    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    author_name: str
    author_address: str
    date: dt.datetime | None
    body_text: str


def header_text(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # a header the parser cannot decode is shown as nothing, not an error
        return ""
    # One line without control characters: a NUL cannot even be stored by PostgreSQL.
    return header_values.header_text(value, MAX_HEADER) if value is not None else ""


def message_ids(text: str) -> tuple[str, ...]:
    return tuple(_MESSAGE_ID.findall(text))


def stable_message_id(message: EmailMessage, raw: bytes) -> str:
    """The Message-ID, or one made from the bytes: the same message always gets the same id."""
    found = message_ids(header_text(message, "Message-ID"))
    if found:
        return found[0]
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@listd.invalid>"


def facts(raw: bytes) -> ArchiveFacts:
    message = parse(raw)
    in_reply_to = message_ids(header_text(message, "In-Reply-To"))
    name, address = _author(message)
    return ArchiveFacts(
        message_id=stable_message_id(message, raw),
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=message_ids(header_text(message, "References")),
        subject=header_text(message, "Subject"), author_name=name, author_address=address,
        date=_date(message), body_text=body_text(message))


def _author(message: EmailMessage) -> tuple[str, str]:
    # The original author of a DMARC-munged post is in X-Original-From or Reply-To.
    for header in ("X-Original-From", "From"):
        pairs = getaddresses([header_text(message, header)])
        if pairs and pairs[0][1]:
            return pairs[0][0], pairs[0][1].lower()
    return "", ""


def _date(message: EmailMessage) -> dt.datetime | None:
    text = header_text(message, "Date")
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def body_text(message: EmailMessage) -> str:
    """The message's readable text: its text/plain parts, and HTML parts converted to text."""
    texts = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain":
            texts.append(_decoded(part))
        elif ctype == "text/html" and not _has_plain_sibling(message, part):
            texts.append(html_to_text(_decoded(part)))
    return "\n\n".join(t.strip("\n") for t in texts if t.strip())


def _has_plain_sibling(message: EmailMessage, part: MIMEPart) -> bool:
    for parent in message.walk():
        if parent.get_content_type() == "multipart/alternative":
            children = list(parent.iter_parts())  # type: ignore[attr-defined]
            if part in children:
                return any(c.get_content_type() == "text/plain" for c in children)
    return False


def _decoded(part: MIMEPart) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:
        text = payload.decode("utf-8", errors="replace")
    # PostgreSQL text cannot hold NUL, and no reader wants it.
    return text.replace("\x00", "")


def attachments(raw: bytes) -> list[Attachment]:
    message = parse(raw)
    found: list[Attachment] = []
    for part in message.walk():
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        ctype = part.get_content_type()
        is_body_text = ctype in ("text/plain", "text/html") and \
            part.get_content_disposition() != "attachment"
        if is_body_text:
            continue
        payload = part.get_payload(decode=True)
        name = part.get_filename() or f"attachment-{len(found) + 1}"
        found.append(Attachment(safe_filename(name), safe_type(ctype),
                                payload if isinstance(payload, bytes) else b""))
    return found


def safe_type(ctype: str) -> str:
    return ctype if ctype in SAFE_TYPES else "application/octet-stream"


def safe_filename(name: str) -> str:
    cleaned = re.sub(r"[^\w.\- ]", "_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip(" .")
    return cleaned[:120] or "attachment"


class _TextOfHtml(HTMLParser):
    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "blockquote",
                        "pre", "table", "ul", "ol"})
    HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.out).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def obfuscate(text: str) -> str:
    """Addresses in TEXT made unreadable to harvesters: jeanne at example.net."""
    return re.sub(r"([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)", r"\1 at \2", text)


def display_author(name: str, address: str) -> str:
    return name or address

