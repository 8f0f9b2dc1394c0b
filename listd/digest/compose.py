"""The three forms of one digest, built from its posts. Pure: posts in, messages out.

- MIME (RFC 2046): multipart/mixed of a table of contents and a multipart/digest holding each
  post as a message/rfc822 part, as Mailman sends it.
- Plain (RFC 1153): one text/plain body; 70 hyphens after the table of contents, 30 between
  messages, an "End of … Digest" line and a line of asterisks.
- Summary: the subjects, authors and archive links only.

Each post keeps the From its author wrote (the digest is the list's own message, so DMARC
mitigation never needs to rewrite the authors' addresses in it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime, make_msgid

from listd.addresses import AddressKind
from listd.archive.text import body_text, header_text
from listd.distribute.render import ListView, parse
from listd.models import DeliveryMode

TOC_SEPARATOR = "-" * 70
MESSAGE_SEPARATOR = "-" * 30
# Headers of a post kept in a digest (Mailman's mime_digest_keep_headers, plus MIME's own).
KEPT_HEADERS = ("Date", "From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To",
                "References", "Reply-To", "MIME-Version", "Content-Type",
                "Content-Transfer-Encoding", "Content-Disposition")
PLAIN_HEADERS = ("Date", "From", "Subject", "To", "Cc", "Message-ID")


@dataclass(frozen=True)
class DigestPostView:
    """One post of a digest, read once: the headers and text the plain forms show."""

    raw: bytes
    subject: str
    author: str
    # RFC 1153's header lines (Date, From, Subject, …) and the post's text.
    headers: str
    text: str
    archive_url: str | None = None

    @classmethod
    def of(cls, raw: bytes, archive_url: str | None = None) -> DigestPostView:
        post = parse(raw)
        headers = "\n".join(f"{name}: {header_text(post, name)}" for name in PLAIN_HEADERS
                            if header_text(post, name))
        return cls(raw, header_text(post, "Subject") or "(no subject)",
                   header_text(post, "From"), headers, body_text(post), archive_url)


@dataclass(frozen=True)
class DigestIssue:
    volume: int
    issue: int
    date: dt.datetime


def digest_subject(view: ListView, issue: DigestIssue) -> str:
    prefix = view.settings.prefix_for(view.name) or view.name
    return f"{prefix} Digest, Vol {issue.volume}, Issue {issue.issue}"


def compose(mode: DeliveryMode, view: ListView, issue: DigestIssue,
            posts: list[DigestPostView]) -> EmailMessage:
    builders = {DeliveryMode.DIGEST: _mime, DeliveryMode.DIGESTPLAIN: _plain,
                DeliveryMode.SUMMARY: _summary}
    message = builders[mode](view, issue, posts)
    return message


def _envelope(view: ListView, issue: DigestIssue) -> EmailMessage:
    message = EmailMessage()
    message["From"] = view.address(AddressKind.REQUEST)
    message["To"] = view.address()
    message["Subject"] = digest_subject(view, issue)
    message["Date"] = format_datetime(issue.date.replace(tzinfo=dt.UTC))
    message["Message-ID"] = make_msgid("digest", domain=view.domain)
    return message


def _trimmed(raw: bytes) -> EmailMessage:
    post = parse(raw)
    for name in {k.lower() for k in post} - {h.lower() for h in KEPT_HEADERS}:
        del post[name]
    return post


def table_of_contents(view: ListView, issue: DigestIssue,
                      posts: list[DigestPostView]) -> str:
    lines = [f"Send {view.name} mailing list submissions to", f"\t{view.address()}", "",
             f"Today's Topics ({len(posts)} messages):", ""]
    for number, post in enumerate(posts, start=1):
        lines.append(f"  {number:>2}. {post.subject} ({post.author})")
    return "\n".join(lines) + "\n"


def _mime(view: ListView, issue: DigestIssue, posts: list[DigestPostView]) -> EmailMessage:
    message = _envelope(view, issue)
    message.set_content(table_of_contents(view, issue, posts))
    message.make_mixed()
    digest = MIMEPart()
    digest.make_mixed()
    digest.replace_header("Content-Type", "multipart/digest")
    for post in posts:
        part = MIMEPart()
        part.set_content(_trimmed(post.raw))
        digest.attach(part)  # type: ignore[arg-type]  # typeshed: Self
    message.attach(digest)  # type: ignore[arg-type]  # typeshed: Self
    return message


def _plain(view: ListView, issue: DigestIssue, posts: list[DigestPostView]) -> EmailMessage:
    message = _envelope(view, issue)
    chunks = [table_of_contents(view, issue, posts), TOC_SEPARATOR, ""]
    for post in posts:
        chunks += [_plain_post(post), MESSAGE_SEPARATOR, ""]
    end = f"End of {digest_subject(view, issue)}"
    chunks += [end, "*" * len(end), ""]
    message.set_content("\n".join(chunks))
    return message


def _plain_post(post: DigestPostView) -> str:
    # A line that looks like a separator inside a message would end it early (RFC 1153).
    body = "\n".join(" " + line if line.startswith(MESSAGE_SEPARATOR) else line
                     for line in post.text.splitlines())
    return post.headers + "\n\n" + body + "\n"


def _summary(view: ListView, issue: DigestIssue, posts: list[DigestPostView]) -> EmailMessage:
    message = _envelope(view, issue)
    lines = [f"{view.name}: {len(posts)} messages", ""]
    for number, post in enumerate(posts, start=1):
        lines.append(f"{number:>3}. {post.subject}")
        lines.append(f"     {post.author}")
        if post.archive_url:
            lines.append(f"     {post.archive_url}")
    message.set_content("\n".join(lines) + "\n")
    return message
