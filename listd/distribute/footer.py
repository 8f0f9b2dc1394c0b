"""The list footer and the owners' header, added without breaking a message's MIME structure
or its encoding.

A text/plain or text/html body (alone, or as an alternative of multipart/alternative) gets the
footer appended to its decoded text (the header put before it), re-encoded with the same
charset and transfer encoding. Anything else — multipart/signed or encrypted (whose signed
bytes must not change), mixed, related, a lone attachment, an unknown charset — gets the text
as a part of its own: the last part for a footer, the first for a header.
"""

from __future__ import annotations

import enum
import html
import re
from email.message import EmailMessage, MIMEPart

from listd.processing.mail_policy import INBOUND

TEXT_TYPES = ("text/plain", "text/html")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_BODY_START = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
# Headers set_content() clears along with Content-Type that a footer must not lose.
_TYPE_HEADERS = ("content-type", "content-transfer-encoding")


class FooterPlacement(enum.StrEnum):
    """Where the footer went; tests and logs say which rule applied."""

    APPENDED = "appended"          # to the text itself (each alternative, if several)
    OWN_PART = "own-part"          # a text/plain part of its own at the end of multipart/mixed
    WRAPPED = "wrapped"            # the original became the first part of a new multipart/mixed


def add_footer(message: EmailMessage, text: str) -> FooterPlacement:
    """Add TEXT to MESSAGE in place, choosing the placement that keeps the message intact."""
    return _add(message, text, top=False)


def add_header(message: EmailMessage, text: str) -> FooterPlacement:
    """Put TEXT at the top of MESSAGE's body in place, by the same rules as the footer."""
    return _add(message, text, top=True)


def _add(message: EmailMessage, text: str, top: bool) -> FooterPlacement:
    ctype = message.get_content_type()
    if message.is_multipart():
        if ctype == "multipart/alternative":
            targets = [p for p in message.iter_parts() if _is_inline_text(p)]
            if targets and all(_can_append(p) for p in targets):
                for part in targets:
                    _append(part, text, top)
                return FooterPlacement.APPENDED
        elif ctype == "multipart/mixed":
            _attach(message, text, top)
            return FooterPlacement.OWN_PART
    elif _is_inline_text(message) and _can_append(message):
        _append(message, text, top)
        return FooterPlacement.APPENDED
    message.make_mixed()
    _attach(message, text, top)
    return FooterPlacement.WRAPPED


def _attach(message: EmailMessage, text: str, top: bool) -> None:
    if top:
        parts = message.get_payload()
        assert isinstance(parts, list)
        parts.insert(0, footer_part(text))
    else:
        message.attach(footer_part(text))  # type: ignore[arg-type]  # typeshed: Self


def footer_part(text: str) -> MIMEPart:
    part = MIMEPart(policy=INBOUND)
    part.set_content(text, disposition="inline")
    return part


def _is_inline_text(part: MIMEPart) -> bool:
    return (part.get_content_type() in TEXT_TYPES
            and part.get_content_disposition() in (None, "inline"))


def _can_append(part: MIMEPart) -> bool:
    try:
        part.get_content()
    except (LookupError, UnicodeError, ValueError):
        # An unknown charset or an undecodable body: leave its bytes alone.
        return False
    return True


def _with_html(content: str, text: str, top: bool) -> str:
    lines = "<br>\n".join(html.escape(line) for line in text.splitlines())
    if top:
        start = _BODY_START.search(content)
        cut = start.end() if start else 0
        return content[:cut] + f'<div class="list-header">{lines}<hr></div>\n' + content[cut:]
    ends = list(_BODY_END.finditer(content))
    cut = ends[-1].start() if ends else len(content)
    return content[:cut] + f'<div class="list-footer"><hr>{lines}</div>\n' + content[cut:]


def _with_plain(content: str, text: str, top: bool) -> str:
    # A blank line between the body and the text, so neither reads as part of the other.
    if not content.strip():
        return text
    if top:
        return text.rstrip("\n") + "\n\n" + content
    return content.rstrip("\n") + "\n\n" + text


def _append(part: MIMEPart, text: str, top: bool = False) -> None:
    content = part.get_content()
    if part.get_content_type() == "text/html":
        new = _with_html(content, text, top)
    else:
        new = _with_plain(content, text, top)
    charset = part.get_content_charset() or "us-ascii"
    try:
        new.encode(charset)
    except (UnicodeEncodeError, LookupError):
        charset = "utf-8"
    cte = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if cte == "7bit" and not new.isascii():
        cte = "quoted-printable"
    elif cte not in ("7bit", "8bit", "base64", "quoted-printable"):
        cte = None  # binary or a made-up value: let the email package choose a safe one
    kept = [(k, v) for k, v in part.raw_items() if k.lower().startswith("content-")
            and k.lower() not in _TYPE_HEADERS]
    params = {k: v for k, v in (part.get_params(header="content-type") or [])[1:]
              if k.lower() != "charset"}
    subtype = part.get_content_subtype()
    part.set_content(new, subtype=subtype, charset=charset, cte=cte, params=params)
    for name, value in kept:
        del part[name]
        part[name] = value
