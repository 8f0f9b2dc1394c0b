"""The pure parts of merge fields and link tracking: checking, escaping, tokens, rewriting."""

from __future__ import annotations

import pytest

from listd.errors import UserError
from listd.merge_fields import Context, Recipient, check_texts, header_word, placeholder, values_for
from listd.tracking.links import MEMBER_PLACEHOLDER, LinkRewriter
from listd.tracking.tokens import LinkTokens


def test_unknown_and_unusable_fields_are_refused_by_name() -> None:
    assert check_texts({"subject": "Hi {{name}}", "text": "{{ list_name }}", "html": None},
                       base_url=None) == {"name", "list_name"}
    with pytest.raises(UserError, match=r"^html: unknown merge field \{\{ first_name \}\}"):
        check_texts({"html": "<p>{{ first_name }}</p>"}, base_url=None)
    with pytest.raises(UserError, match=r"^text: \{\{ unsubscribe_url \}\} needs http.base_url"):
        check_texts({"text": "{{ unsubscribe_url }}"}, base_url=None)


def test_values_are_escaped_for_where_they_stand() -> None:
    markers = tuple(placeholder("name", c) for c in (Context.TEXT, Context.HTML, Context.HEADER))
    text, html, header = values_for(Recipient("a@example.org", "<b>Zoé</b>\r\nBcc: x"), markers)
    assert text[1] == "<b>Zoé</b> Bcc: x".encode()
    assert html[1] == "&lt;b&gt;Zoé&lt;/b&gt; Bcc: x".encode()
    assert b"\r" not in header[1] and b"\n" not in header[1] and header[1].isascii()
    assert header_word("Plain Name") == "Plain Name"


def test_link_tokens_verify_only_what_was_signed() -> None:
    tokens = LinkTokens("secret")
    token = tokens.link(7, 1, "https://example.org/page?a=1")
    link = tokens.verify(token)
    assert link is not None and (link.post, link.link, link.url) == (7, 1,
                                                                    "https://example.org/page?a=1")
    assert LinkTokens("other secret").verify(token) is None
    assert tokens.verify(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    member = tokens.link(7, 1, "https://example.org/") + "." + tokens.member(7, 42)
    assert (verified := tokens.verify(member)) is not None and verified.member_id == 42
    moved = tokens.link(8, 1, "https://example.org/") + "." + tokens.member(7, 42)
    assert (other := tokens.verify(moved)) is not None and other.member_id is None
    assert tokens.verify(tokens.link(7, 1, "javascript:alert(1)")) is None


def test_links_are_rewritten_once_per_url_and_our_own_are_kept() -> None:
    rewriter = LinkRewriter(LinkTokens("s"), "https://lists.example.org", 3)
    html = rewriter.html('<a class="x" href="https://example.org/?a=1&amp;b=2">x</a> '
                         '<a href="https://lists.example.org/unsubscribe/t">u</a>')
    text = rewriter.text("Go to https://example.org/?a=1&b=2. Or {{ x }} https://e.org/{{ name }}")
    assert rewriter.links == {"https://example.org/?a=1&b=2": 1}
    assert 'href="https://lists.example.org/unsubscribe/t"' in html
    assert html.count("https://lists.example.org/r/") == 1
    assert text.startswith("Go to https://lists.example.org/r/") and ". Or {{ x }}" in text
    per_member = LinkRewriter(LinkTokens("s"), "https://l.example", 3, per_member=True)
    assert per_member.text("https://example.org").endswith("." + MEMBER_PLACEHOLDER)
