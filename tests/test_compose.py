"""compose_bytes writes a plain mail exactly as the email package writes compose()'s message,
and hands every other mail to it: compared byte for byte over generated mails."""

from __future__ import annotations

import random
import re

from listd.compose import compose, compose_bytes, plain_mail

DATE = re.compile(rb"^Date: [^\n]*\n", re.MULTILINE)
WORD_CHARS = "abcdefghijklmnopqrstuvwxyzABCXYZ0123456789().,:;!?<>@[]'\"/+-_#%&*~"


def _word(rng: random.Random) -> str:
    length = rng.choice((1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 20, 32)) if rng.random() < 0.95 else \
        rng.choice((60, 68, 69, 70, 76, 77, 78, 90))
    return "".join(rng.choice(WORD_CHARS) for _ in range(length))


def _text(rng: random.Random) -> str:
    words = [_word(rng) for _ in range(rng.randint(1, 16))]
    if rng.random() < 0.05:
        words.insert(rng.randrange(len(words)), rng.choice(("=?utf-8?q?x?=", "a=?b", "café",
                                                             "…", "=")))
    return rng.choice(("  ", " \t ")).join(words) if rng.random() < 0.05 else " ".join(words)


def _address(rng: random.Random) -> str:
    local = rng.choice(("ann", "news-confirm+" + "k" * 32, "a.b", "news-request", "o'neil",
                        "ann", "news-confirm+" + "k" * 32, "news-request", "user17",
                        "x" * 50, "bad@", "a=?b", "é", "a b"))
    domain = rng.choice(("example.org", "lists.example.org", "lists.example.org",
                         "d" * 40 + ".example.org"))
    return f"{local}@{domain}"


def _body(rng: random.Random) -> str:
    lines = [rng.choice(("", "Hello,", "x" * rng.choice((10, 77, 78, 78, 78, 79)), "  CONFIRM tok",
                         "To confirm, simply reply to this mail yourself.", "a=b " * 30,
                         "Someone asked to subscribe user1@example.net to the list "
                         "news@lists.example.org.", "==== " * 40, "trailing  ", "\tx"))
             for _ in range(rng.randint(0, 14))]
    if rng.random() < 0.05:
        lines.append("Grüße")
    return rng.choice(("\n", "\r\n")).join(lines) + rng.choice(("", "\n", "\n\n"))


def _kwargs(rng: random.Random) -> dict[str, object]:
    kwargs: dict[str, object] = {
        "sender": _address(rng), "to": ", ".join(_address(rng) for _ in range(
            rng.choice((1, 1, 1, 1, 1, 2, 5)))), "subject": _text(rng), "body": _body(rng),
        "auto_submitted": "auto-replied"}
    if rng.random() < 0.5:
        kwargs["in_reply_to"] = rng.choice(("<a@example.net>", f"<{'m' * 60}@example.net>",
                                            "not an id"))
    if rng.random() < 0.5:
        kwargs["reply_to"] = _address(rng)
    if rng.random() < 0.7:
        kwargs["headers"] = {"X-Loop": rng.choice(("listd@lists.example.org", _text(rng)))}
    return kwargs


def _without_date(raw: bytes) -> bytes:
    return DATE.sub(b"", raw, count=1)


def test_compose_bytes_is_the_email_packages_output() -> None:
    rng = random.Random(18)
    plain = 0
    for _ in range(3000):
        kwargs = _kwargs(rng)
        domain = str(kwargs["sender"]).rpartition("@")[2]
        message_id = f"<1796157597{rng.randint(0, 99)}.16116.92903783.listd-robot@{domain}>"
        message = compose(**kwargs)  # type: ignore[arg-type]
        message.replace_header("Message-ID", message_id)
        expected = _without_date(message.as_bytes())
        written = compose_bytes(message_id=message_id, **kwargs)  # type: ignore[arg-type]
        assert _without_date(written) == expected, kwargs
        direct = plain_mail(message_id=message_id, **{  # type: ignore[arg-type]
            "in_reply_to": None, "reply_to": None, "headers": None, **kwargs})
        if direct is not None:
            plain += 1
            assert _without_date(direct) == expected, kwargs
    # Many of the generated mails are plain, so the comparison covers the written path.
    assert plain > 150
