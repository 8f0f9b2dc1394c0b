"""Merge fields: `{{ name }}` and its kin in a post an owner sends through a signed-in door.

A strict, small substitution (no template language: nothing in a post can run code or read
anything but these values). Fields are checked when the post is submitted, so an unknown one is
refused with its name before anything is queued. Member fields become placeholders when the post
is rendered, one per field and per context (text, HTML, header), and delivery puts each
recipient's value in, escaped for that context (see `values_for`).

Only posts from a signed-in door (doors.py) get this; a post by mail keeps its braces as
written, so what a member writes to the list is never rendered as a template.
"""

from __future__ import annotations

import base64
import html
import re
import unicodedata
from dataclasses import dataclass

from listd.errors import UserError

# What each field is; the README lists the same.
FIELDS = {
    "name": "the member's name as the list knows it (empty when it has none)",
    "address": "the member's address",
    "list_name": "the list's name (its local part)",
    "list_address": "the list's posting address",
    "unsubscribe_url": "the member's own unsubscribe page (needs http.base_url)",
}
# Fields whose value differs per recipient; the others are filled once, when rendering.
MEMBER_FIELDS = ("name", "address")

_FIELD = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
# A name in a header: never longer than this, so a folded Subject stays within its line limit.
HEADER_VALUE_LIMIT = 120


class Context:
    """Where a placeholder stands, which decides how its value is escaped."""

    TEXT = "TEXT"
    HTML = "HTML"
    HEADER = "HEAD"


def placeholder(field: str, context: str) -> str:
    # Letters only, like render.PERSONAL_PLACEHOLDER: no transfer encoding changes them, and no
    # placeholder is a prefix of another.
    return f"LISTDMERGE{context}{field.replace('_', '').upper()}X"


ALL_PLACEHOLDERS = tuple(placeholder(f, c) for f in MEMBER_FIELDS
                         for c in (Context.TEXT, Context.HTML, Context.HEADER))


def fields_in(text: str) -> list[str]:
    """The field names TEXT uses, in order, as written between the braces (stripped)."""
    return [match.group(1).strip() for match in _FIELD.finditer(text)]


def check(where: str, text: str, *, base_url: str | None) -> set[str]:
    """The known fields TEXT uses; an unknown one is refused, naming WHERE and the field."""
    used = set()
    for field in fields_in(text):
        if field not in FIELDS:
            known = ", ".join(f"{{{{ {name} }}}}" for name in FIELDS)
            raise UserError(f"{where}: unknown merge field {{{{ {field} }}}}; "
                            f"known fields: {known}")
        if field == "unsubscribe_url" and not base_url:
            raise UserError(f"{where}: {{{{ unsubscribe_url }}}} needs http.base_url in the "
                            "configuration")
        used.add(field)
    return used


def check_texts(texts: dict[str, str | None], *, base_url: str | None) -> set[str]:
    """The fields a post's texts use, by where they are (subject, text, html); refuses an
    unknown one. A door calls this when the post is submitted, before it is queued."""
    used: set[str] = set()
    for where, text in texts.items():
        used |= check(where, text or "", base_url=base_url)
    return used


def fill(text: str, values: dict[str, str]) -> str:
    """TEXT with each field replaced by VALUES[field] (already escaped for where TEXT goes)."""
    return _FIELD.sub(lambda m: values.get(m.group(1).strip(), m.group(0)), text)


def has_fields(text: str) -> bool:
    return _FIELD.search(text) is not None


@dataclass(frozen=True)
class Recipient:
    """One recipient's own values."""

    address: str
    name: str = ""


def values_for(recipient: Recipient, used: tuple[str, ...]) -> list[tuple[bytes, bytes]]:
    """(placeholder, value) pairs for the placeholders in USED, each escaped for its place."""
    plain = {"name": one_line(recipient.name), "address": one_line(recipient.address)}
    pairs = []
    for marker in used:
        field = "name" if marker.endswith("NAMEX") else "address"
        value = plain[field]
        if Context.HTML in marker:
            pairs.append((marker.encode(), html.escape(value, quote=True).encode()))
        elif Context.HEADER in marker:
            pairs.append((marker.encode(), header_word(value).encode("ascii")))
        else:
            pairs.append((marker.encode(), value.encode()))
    return pairs


def one_line(value: str) -> str:
    """VALUE with no control characters and single spaces: it cannot end a line or a header,
    and replacing a placeholder by it commutes with DKIM's relaxed canonicalisation."""
    kept = "".join(" " if unicodedata.category(c).startswith("C") else c for c in value)
    return " ".join(kept.split())


def header_word(value: str) -> str:
    """VALUE for an unstructured header: itself if plain ASCII, else RFC 2047 words."""
    value = value[:HEADER_VALUE_LIMIT]
    if value.isascii():
        return value
    words, chunk = [], ""
    for char in value:
        if len((chunk + char).encode()) > 30:
            words.append(chunk)
            chunk = ""
        chunk += char
    words.append(chunk)
    return " ".join("=?utf-8?b?" + base64.b64encode(w.encode()).decode("ascii") + "?="
                    for w in words if w)
