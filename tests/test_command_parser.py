"""The command parser and the token signatures: pure, literal messages in, values out."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from listd import tokens
from listd.commands.parser import html_to_text, parse_message
from listd.commands.registry import BY_NAME, COMMANDS, index


def message(text: str) -> EmailMessage:
    parsed = BytesParser(policy=policy.default).parsebytes(text.encode())
    assert isinstance(parsed, EmailMessage)
    return parsed


def lines(text: str) -> list[str]:
    return [c.text for c in parse_message(message(text), BY_NAME).commands]


def test_one_command_per_line_until_signature_quote_or_quit() -> None:
    assert lines("Subject: hi\n\nsub news Jeanne  Dupont\n\n  SIGNOFF other\n-- \nHELP\n") \
        == ["sub news Jeanne Dupont", "SIGNOFF other"]
    assert lines("Subject:\n\nWHICH\n> HELP\nLISTS\n") == ["WHICH"]
    assert lines("Subject:\n\nWHICH\nOn Monday, Jeanne wrote:\nHELP\n") == ["WHICH"]
    assert lines("Subject:\n\nwhich\nend\nhelp\n") == ["which"]
    assert lines("Subject:\n\nwhich\nQUIT\nhelp\n") == ["which"]


def test_subject_counts_when_it_is_a_command_and_only_once() -> None:
    assert lines("Subject: Re: SUBSCRIBE news\n\nSUBSCRIBE news\nhelp\n") \
        == ["SUBSCRIBE news", "help"]
    assert lines("Subject: a question\n\nhelp\n") == ["help"]
    assert lines("Subject: confirm abc\n\n") == ["confirm abc"]


def test_first_text_part_and_html_only_mail() -> None:
    multipart = ("Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/alternative; "
                 "boundary=b\n\n--b\nContent-Type: text/plain\n\nINFO news\n--b\n"
                 "Content-Type: text/html\n\n<p>HELP</p>\n--b--\n")
    assert lines(multipart) == ["INFO news"]
    html = ("Subject: x\nMIME-Version: 1.0\nContent-Type: text/html\n\n"
            "<html><head><style>p {}</style></head><body><p>INFO&nbsp;news</p>"
            "<p>which</p></body></html>\n")
    assert lines(html) == ["INFO\xa0news".replace("\xa0", " "), "which"]
    assert html_to_text("<blockquote>x</blockquote>").strip().startswith(">")


def test_a_mail_bomb_is_cut_at_the_limit() -> None:
    parsed = parse_message(message("Subject: x\n\n" + "HELP\n" * 500), BY_NAME)
    assert len(parsed.commands) == 100 and parsed.ignored_lines == 400


def test_broken_mime_gives_no_commands_rather_than_an_error() -> None:
    broken = ("Subject: x\nMIME-Version: 1.0\nContent-Type: text/plain; charset=bogus-8\n"
              "Content-Transfer-Encoding: base64\n\n!!!not base64\n")
    assert isinstance(lines(broken), list)


def test_every_command_name_is_unique_and_lowercase() -> None:
    names = [name for command in COMMANDS for name in command.names]
    assert len(names) == len(set(names)) and all(n == n.lower() for n in names)
    assert {"subscribe", "sub", "signoff", "unsubscribe", "unsub", "confirm", "auth", "help",
            "lists", "info", "review", "which", "set", "add", "del"} <= set(names)
    try:
        index((COMMANDS[0], COMMANDS[0]))
    except ValueError as exc:
        assert "claimed twice" in str(exc)
    else:
        raise AssertionError("a duplicate name was accepted")


def test_tokens_are_bound_to_action_and_address() -> None:
    token = tokens.make_token("s3cret", "subscribe", "a@example.org")
    assert tokens.looks_like_token(token) and token == token.lower()
    assert tokens.token_matches("s3cret", token, "subscribe", "a@example.org")
    assert tokens.token_matches("s3cret", token.upper(), "subscribe", "a@example.org")
    assert not tokens.token_matches("s3cret", token, "unsubscribe", "a@example.org")
    assert not tokens.token_matches("s3cret", token, "subscribe", "b@example.org")
    assert not tokens.token_matches("other", token, "subscribe", "a@example.org")
    assert token != tokens.make_token("s3cret", "subscribe", "a@example.org")
