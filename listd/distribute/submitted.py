"""A post an owner sent through a signed-in door, made ready for the list's rendering.

Only such posts (the inbound row's peer names a signed-in door, doors.py) get merge
fields and link tracking: a member's post by mail keeps its braces and its links as written.
Here the list's own values are filled in, each member field becomes a placeholder for delivery
to replace per recipient (merge_fields.py, personal.py), and when the list asks, links are
rewritten through `/r/TOKEN` (tracking/links.py). A text part that changes is re-encoded 8bit
UTF-8, so no transfer encoding splits a placeholder or mangles a value put in its place.

Pure: bytes and a `ListView` in, bytes out; a post with neither fields nor tracking is returned
as it came (and then rendered once for all, as before).
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from email.message import EmailMessage, MIMEPart

from listd.deliverability.unsubscribe import unsubscribe_url
from listd.distribute.footer import TEXT_TYPES
from listd.distribute.render import PERSONAL_PLACEHOLDER, WRITE_POLICY, ListView, parse
from listd.merge_fields import MEMBER_FIELDS, Context, fill, has_fields, header_word, placeholder
from listd.tracking.links import LinkRewriter
from listd.tracking.tokens import LinkTokens


def prepare_submitted(raw: bytes, view: ListView, post: int, secret: str) -> bytes:
    """RAW (stored post POST) with its merge fields and, if the list tracks, its links done."""
    message = parse(raw)
    rewriter = _rewriter(view, post, secret)
    changed = _fill_subject(message, view)
    for part in text_parts(message):
        changed = _fill_part(part, view, rewriter) or changed
    return message.as_bytes(policy=WRITE_POLICY) if changed else raw


def _rewriter(view: ListView, post: int, secret: str) -> LinkRewriter | None:
    if view.settings.tracking == "off" or not view.base_url:
        return None
    return LinkRewriter(LinkTokens(secret), view.base_url, post,
                        per_member=view.settings.tracking == "per_member")


def _fill_subject(message: EmailMessage, view: ListView) -> bool:
    subject = str(message.get("Subject", ""))
    if not has_fields(subject):
        return False
    del message["Subject"]
    message["Subject"] = fill(subject, values(view, Context.HEADER))
    return True


def _fill_part(part: MIMEPart, view: ListView, rewriter: LinkRewriter | None) -> bool:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError):
        return False  # an undecodable body is sent as it came
    is_html = part.get_content_type() == "text/html"
    new = content
    if rewriter is not None:
        new = rewriter.html(new) if is_html else rewriter.text(new)
    if has_fields(new):
        new = fill(new, values(view, Context.HTML if is_html else Context.TEXT))
    if new == content:
        return False
    kept = [(k, v) for k, v in part.raw_items()
            if k.lower() in ("content-disposition", "content-id", "content-language")]
    part.set_content(new, subtype=part.get_content_subtype(), charset="utf-8", cte="8bit")
    for name, value in kept:
        del part[name]
        part[name] = value
    return True


def values(view: ListView, context: str) -> dict[str, str]:
    """What each field becomes in CONTEXT: the list's values, escaped, and placeholders."""
    url = unsubscribe_url(view.base_url, PERSONAL_PLACEHOLDER) if view.base_url else ""
    plain = {"list_name": view.name, "list_address": view.address(), "unsubscribe_url": url}
    if context == Context.HTML:
        filled = {k: html.escape(v, quote=True) for k, v in plain.items()}
    elif context == Context.HEADER:
        filled = {k: header_word(v) for k, v in plain.items()}
    else:
        filled = plain
    return {**filled, **{f: placeholder(f, context) for f in MEMBER_FIELDS}}


def text_parts(message: MIMEPart) -> Iterator[MIMEPart]:
    """The inline text/plain and text/html parts, not those of an attached message."""
    if message.is_multipart():
        for part in message.iter_parts():
            yield from text_parts(part)
    elif message.get_content_type() in TEXT_TYPES and \
            message.get_content_disposition() in (None, "inline"):
        yield message


def texts_of(raw: bytes) -> dict[str, str | None]:
    """RAW's subject and inline texts by where a merge field would be (subject, text, html),
    for `merge_fields.check_texts` before the post is queued."""
    message = parse(raw)
    texts: dict[str, str | None] = {"subject": str(message.get("Subject", ""))}
    for part in text_parts(message):
        try:
            content = part.get_content()
        except (LookupError, UnicodeError, ValueError):
            continue  # sent as it came (see _fill_part): no field in it is filled
        where = "html" if part.get_content_type() == "text/html" else "text"
        texts[where] = (texts.get(where) or "") + content
    return texts
