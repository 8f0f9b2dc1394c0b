"""Rendering an accepted post once per list: list headers, subject prefix, Reply-To, the
owners' header text and the footer.

Pure: bytes and a `ListView` in, bytes out. What differs per recipient (the VERP envelope
sender, and with personalisation the unsubscribe token) is not rendered here: a personal
message carries `PERSONAL_PLACEHOLDER`, which delivery replaces per recipient in the bytes,
so a fan-out to 100,000 members renders the post once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser

from listd import header_values, list_texts
from listd.addresses import AddressKind, scheme_address
from listd.archive.urls import web_archive
from listd.config import Config
from listd.deliverability.unsubscribe import unsubscribe_url
from listd.distribute.footer import FooterPlacement, add_footer, add_header
from listd.i18n import SOURCE_LANGUAGE, translate
from listd.models import MailingList
from listd.processing.mail_policy import INBOUND, WRITE
from listd.settings import ListSettings

# Stands for a member's own unsubscribe token until delivery; letters only, so no transfer
# encoding that keeps short ASCII lines (7bit, 8bit, quoted-printable) can alter it.
PERSONAL_PLACEHOLDER = "LISTDPERSONALUNSUBSCRIBETOKEN"

# Parse leniently (defects recorded, not raised), each header value parsed once
# (mail_policy.py); write with CRLF and never refold a header the sender wrote, since signed
# parts must keep their exact bytes.
PARSE_POLICY = INBOUND
WRITE_POLICY = WRITE

# Headers that would reveal subscribers or the original envelope, or ask for a receipt from
# every recipient.
PRIVATE_HEADERS = ("Bcc", "Resent-Bcc", "Return-Path", "Delivered-To", "X-Original-To",
                   "Envelope-To", "X-Envelope-To", "X-Envelope-From",
                   "Disposition-Notification-To", "Return-Receipt-To",
                   "X-Confirm-Reading-To")
# Ours to set: whatever the post carried under these names is replaced.
LIST_HEADERS = ("List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe",
                "List-Unsubscribe-Post", "List-Post", "List-Owner", "List-Archive",
                "Archived-At", "Precedence")
_REPLY_MARKERS = re.compile(r"^\s*(?:(?:re|aw|sv|antw)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class ListView:
    """What rendering needs to know about a list, read once from the database and config."""

    name: str
    domain: str
    description: str
    settings: ListSettings
    # The public web address of listd (http.base_url), if any.
    base_url: str | None = None
    # The list's language: the footer's words.
    language: str = SOURCE_LANGUAGE
    # The owners' footer (`listd list text LIST footer`), its placeholders filled.
    owners_footer: str = ""
    # The owners' header (`listd list text LIST header`), at the top of each post's body.
    owners_header: str = ""

    @classmethod
    def of(cls, mailing_list: MailingList, config: Config) -> ListView:
        return cls(name=mailing_list.name, domain=mailing_list.domain.name,
                   description=mailing_list.subject, settings=ListSettings.of(mailing_list),
                   base_url=config.http.base_url, language=mailing_list.language,
                   owners_footer=_owners_text(mailing_list, "footer"),
                   owners_header=_owners_text(mailing_list, "header"))

    def address(self, kind: AddressKind = AddressKind.POST) -> str:
        return scheme_address(self.name, self.domain, kind)

    @property
    def list_id(self) -> str:
        # As processing.guards.list_id_of, which recognises the post when it comes back.
        return f"{self.name}.{self.domain}"

    @property
    def one_click(self) -> bool:
        """RFC 8058 needs an HTTPS URL that names the recipient: a personal one."""
        return bool(self.base_url and self.base_url.lower().startswith("https://"))

    def unsubscribe_url(self, token: str) -> str | None:
        if not self.one_click:
            return None
        assert self.base_url is not None
        return unsubscribe_url(self.base_url, token)


@dataclass(frozen=True)
class RenderedPost:
    raw: bytes
    # True when raw carries PERSONAL_PLACEHOLDER for delivery to replace.
    personal: bool
    footer: FooterPlacement


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=PARSE_POLICY).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    return message


def render_post(raw: bytes, view: ListView, archived_at: str | None = None) -> RenderedPost:
    """The post as every subscriber of VIEW's list receives it; ARCHIVED_AT is its archive
    page (RFC 5064), when it has one."""
    rendered = _render(raw, view, view.one_click, archived_at)
    if rendered.personal and rendered.raw.count(PERSONAL_PLACEHOLDER.encode()) < 2:
        # The footer landed in a base64 (or otherwise re-encoded) body where the placeholder
        # cannot be found again: give it the list-wide unsubscribe address instead.
        rendered = _render(raw, view, False, archived_at)
    return rendered


def with_archived_at(rendered: bytes, url: str) -> bytes:
    """RENDERED (a post as `render_post` wrote it) with its RFC 5064 Archived-At header."""
    line_end = b"\r\n" if b"\r\n" in rendered[:2000] else b"\n"
    value = header_values.header_text(url, 900)
    return b"Archived-At: <" + value.encode("ascii", "replace") + b">" + line_end + rendered


def _render(raw: bytes, view: ListView, personal_footer: bool,
            archived_at: str | None = None) -> RenderedPost:
    message = parse(raw)
    for name in PRIVATE_HEADERS + LIST_HEADERS:
        del message[name]
    _set_list_headers(message, view)
    if archived_at:
        message["Archived-At"] = f"<{archived_at}>"
    subject = str(message.get("Subject", ""))
    del message["Subject"]
    message["Subject"] = prefixed_subject(subject, view.settings.prefix_for(view.name))
    if view.settings.reply_to == "list":
        del message["Reply-To"]
        message["Reply-To"] = view.address()
    if view.owners_header.strip():
        add_header(message, view.owners_header.strip() + "\n")
    placement = add_footer(message, footer_text(view, personal_footer))
    return RenderedPost(message.as_bytes(policy=WRITE_POLICY), view.one_click, placement)


def _set_list_headers(message: EmailMessage, view: ListView) -> None:
    description = view.description.replace('"', "'").strip()
    message["List-Id"] = f'"{description}" <{view.list_id}>' if description else \
        f"<{view.list_id}>"
    message["List-Help"] = f"<mailto:{view.address(AddressKind.REQUEST)}?subject=help>"
    message["List-Subscribe"] = f"<mailto:{view.address(AddressKind.JOIN)}>"
    unsubscribe = [f"<mailto:{view.address(AddressKind.LEAVE)}>"]
    url = view.unsubscribe_url(PERSONAL_PLACEHOLDER)
    if url:
        unsubscribe.insert(0, f"<{url}>")
    message["List-Unsubscribe"] = ", ".join(unsubscribe)
    if url:
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # RFC 2369: NO for a list where subscribers cannot post (a newsletter).
    message["List-Post"] = "NO" if view.settings.posting == "owners" else \
        f"<mailto:{view.address()}>"
    message["List-Owner"] = f"<mailto:{view.address(AddressKind.OWNER)}>"
    archive = web_archive(view.settings, view.base_url, view.address())
    if archive:
        message["List-Archive"] = f"<{archive}>"
    message["Precedence"] = "list"
    # Our own loop guard, checked by processing.guards when a post comes back to us.
    message["X-Loop"] = view.address()


def _owners_text(mailing_list: MailingList, name: str) -> str:
    """The owners' header or footer text, its placeholders filled; '' when they wrote none."""
    written = list_texts.stored(mailing_list, name)
    if not written:
        return ""
    domain = mailing_list.domain.name
    return list_texts.fill(written, list=mailing_list.address,
                           request=scheme_address(mailing_list.name, domain, AddressKind.REQUEST),
                           leave=scheme_address(mailing_list.name, domain, AddressKind.LEAVE))


def footer_text(view: ListView, personal: bool) -> str:
    lines = []
    for text in (view.owners_footer, view.settings.footer):
        if text.strip():
            lines += [text.strip(), ""]
    lines.append("_______________________________________________")
    lines.append(translate(view.language, "{name} mailing list -- {address}", name=view.name,
                           address=view.address()))
    lines.append(translate(view.language, "To unsubscribe send an email to {leave}",
                           leave=view.address(AddressKind.LEAVE)))
    url = view.unsubscribe_url(PERSONAL_PLACEHOLDER) if personal else None
    if url:
        lines.append(translate(view.language, "or visit"))
        lines.append(url)
    return "\n".join(lines) + "\n"


def prefixed_subject(subject: str, prefix: str) -> str:
    """SUBJECT with PREFIX once in front: "Re: [news] Re: [news] x" becomes "[news] Re: x"."""
    # A post's subject is kept whole (a line's 998 octets), but never a control character.
    subject = header_values.header_text(subject, limit=900)
    if not prefix:
        return subject
    bare = " ".join(re.sub(re.escape(prefix), " ", subject, flags=re.IGNORECASE).split())
    marker = _REPLY_MARKERS.match(bare)
    if marker:
        bare = "Re: " + bare[marker.end():]
    return f"{prefix} {bare}".strip()


def render_digest(message: EmailMessage, view: ListView) -> RenderedPost:
    """A digest (listd's own message) with the list's headers and footer, as a post gets."""
    for name in LIST_HEADERS:
        del message[name]
    _set_list_headers(message, view)
    if view.settings.reply_to == "list":
        message["Reply-To"] = view.address()
    placement = add_footer(message, footer_text(view, view.one_click))
    return RenderedPost(message.as_bytes(policy=WRITE_POLICY), view.one_click, placement)
