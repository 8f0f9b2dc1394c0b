"""The pure parts of distribution: rendering, subject prefixes, VERP tokens, personalisation."""

from __future__ import annotations

import pytest

from listd.deliverability.unsubscribe import unsubscribe_token, verify_unsubscribe_token
from listd.distribute.footer import FooterPlacement
from listd.distribute.personal import UnsubscribeTokens, personalize
from listd.distribute.render import (
    PERSONAL_PLACEHOLDER,
    ListView,
    parse,
    prefixed_subject,
    render_post,
)
from listd.distribute.smtp_client import wire_body
from listd.distribute.transport import unstuffed
from listd.distribute.verp import MAX_LOCAL_PART, VerpSigner, decode_verp_token, verp_sender
from listd.settings import ListSettings

NEWSLETTER = ListView(name="news", domain="lists.example.org", description="News",
                      settings=ListSettings(posting="owners"),
                      base_url="https://lists.example.org")

POST = (b"From: a@example.org\r\nTo: news@lists.example.org\r\nSubject: Hi\r\n"
        b"Message-ID: <m1@example.org>\r\nList-Id: <other.example.net>\r\n"
        b"Disposition-Notification-To: a@example.org\r\n\r\nBody.\r\n")


@pytest.mark.parametrize(("subject", "expected"), [
    ("Hello", "[news] Hello"),
    ("[news] Hello", "[news] Hello"),
    ("Re: [news] Re: [news] Hello", "[news] Re: Hello"),
    ("RE: AW: [NEWS] Hello", "[news] Re: Hello"),
    ("Re: Re: Hello", "[news] Re: Hello"),
    ("", "[news]"),
])
def test_the_subject_prefix_is_never_doubled(subject: str, expected: str) -> None:
    assert prefixed_subject(subject, "[news]") == expected
    assert prefixed_subject(subject, "") == " ".join(subject.split())


def test_a_newsletter_with_https_gets_one_click_unsubscribe_and_list_post_no() -> None:
    rendered = render_post(POST, NEWSLETTER)
    message = parse(rendered.raw)
    assert rendered.personal and rendered.footer is FooterPlacement.APPENDED
    assert message["List-Post"] == "NO"
    assert message["List-Id"] == '"News" <news.lists.example.org>'
    assert message.get_all("List-Id") == ['"News" <news.lists.example.org>']
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Unsubscribe"].strip() == (
        f"<https://lists.example.org/unsubscribe/"
        f"{PERSONAL_PLACEHOLDER}>, <mailto:news-leave@lists.example.org>")
    assert message["Disposition-Notification-To"] is None
    assert message["Message-ID"] == "<m1@example.org>"
    # The placeholder is in the header and the footer, so one bytes.replace personalises both.
    assert rendered.raw.count(PERSONAL_PLACEHOLDER.encode()) == 2

    token = UnsubscribeTokens("s3cret").token(42, "Jeanne@example.org")
    assert token == unsubscribe_token("s3cret", 42, "jeanne@example.org")
    personal = personalize(wire_body(rendered.raw), token)
    assert PERSONAL_PLACEHOLDER.encode() not in personal
    assert personal.count(token.encode()) == 2
    claim = verify_unsubscribe_token("s3cret", token)
    assert claim is not None and (claim.list_id, claim.address) == (42, "jeanne@example.org")


def test_a_base64_body_gets_the_list_wide_footer_not_a_mangled_placeholder() -> None:
    import base64

    raw = (b"From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(b"Hello.\n"))
    rendered = render_post(raw, NEWSLETTER)
    body = parse(rendered.raw)
    assert body["Content-Transfer-Encoding"] == "base64"
    assert "news-leave@lists.example.org" in body.get_content()
    assert PERSONAL_PLACEHOLDER not in body.get_content()


def test_a_lone_attachment_is_wrapped_with_the_footer_beside_it() -> None:
    raw = (b"From: a@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           b"JVBERi0xLjQK\r\n")
    rendered = render_post(raw, NEWSLETTER)
    message = parse(rendered.raw)
    assert rendered.footer is FooterPlacement.WRAPPED
    pdf, footer = message.iter_parts()
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content() == b"%PDF-1.4\n"
    assert "news-leave@lists.example.org" in footer.get_content()


def test_unknown_charset_is_left_alone_and_the_footer_goes_beside_it() -> None:
    raw = (b"From: a@example.org\r\nSubject: x\r\n"
           b"Content-Type: text/plain; charset=x-made-up\r\n\r\n\xe9t\xe9\r\n")
    rendered = render_post(raw, NEWSLETTER)
    assert rendered.footer is FooterPlacement.WRAPPED
    assert b"\xe9t\xe9" in rendered.raw


def test_verp_tokens_decode_and_refuse_forgeries_and_stay_within_64() -> None:
    sender = verp_sender("news", "lists.example.org", 123456, "s3cret")
    local = sender.partition("@")[0]
    token = local.partition("+")[2]
    assert decode_verp_token(token, "s3cret") == 123456
    assert decode_verp_token(token.upper(), "s3cret") == 123456
    assert decode_verp_token(token, "other") is None
    assert decode_verp_token(token[:-1] + ("0" if token[-1] != "0" else "1"), "s3cret") is None
    assert decode_verp_token("zz-0123456789", "s3cret") is None
    assert decode_verp_token("", "s3cret") is None
    assert len(VerpSigner("s").sender("a" * 30, "d.org", 10**12).partition("@")[0]) \
        <= MAX_LOCAL_PART
    # A list name too long for a token falls back to the plain bounces address.
    assert VerpSigner("s").sender("a" * 50, "d.org", 1) == f"{'a' * 50}-bounces@d.org"


def test_wire_body_dot_stuffs_and_the_maildir_undoes_it() -> None:
    raw = b"Subject: x\n\n.leading dot\nmiddle\n..two\nend"
    wire = wire_body(raw)
    assert wire == b"Subject: x\r\n\r\n..leading dot\r\nmiddle\r\n...two\r\nend\r\n.\r\n"
    assert unstuffed(wire) == raw + b"\n"


def test_a_custom_footer_is_set_apart_from_the_body_by_a_blank_line() -> None:
    import dataclasses

    view = dataclasses.replace(NEWSLETTER, settings=ListSettings(footer="Our footer"))
    body = parse(render_post(POST, view).raw).get_content().replace("\r\n", "\n")
    assert "Body.\n\nOur footer\n\n____" in body
