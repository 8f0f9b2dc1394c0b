"""Inbound mail parsed with listd's policy (each header value parsed once) reads and writes
out exactly as with `policy.default`, malformed mail included."""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

import pytest

from listd.processing.mail_policy import INBOUND
from listd.processing.readability import FOR_POSTS, READ_ERRORS, unreadable
from tests.malformed.samples import POSTS, message

SAMPLES = {
    **POSTS,
    "folded-long-subject": message("Subject: " + "word " * 60 + "\r\n"),
    "encoded-words": message("Subject: =?utf-8?q?caf=C3=A9_cr=C3=A8me?=\r\n"
                             "Cc: =?utf-8?b?SsO2cmc=?= <jorg@example.net>\r\n"),
    "multipart": message("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n",
                         b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
                         b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nho\r\n--b--\r\n"),
}


def read(raw: bytes, parse_policy: policy.EmailPolicy) -> list[object]:
    """Everything a handler reads of RAW, each failure as its type and text."""
    def attempt(fn):  # type: ignore[no-untyped-def]
        try:
            return fn()
        except READ_ERRORS as exc:
            return (type(exc).__name__, str(exc))
    parsed = BytesParser(policy=parse_policy).parsebytes(raw)
    assert isinstance(parsed, EmailMessage)
    headers = attempt(lambda: [(name, str(value), [type(d).__name__ for d in value.defects])
                               for name, value in parsed.items()])
    types = attempt(lambda: [part.get_content_type() for part in parsed.walk()])
    written = attempt(lambda: parsed.as_bytes(policy=policy.SMTP))
    problem = unreadable(lambda: parsed, FOR_POSTS)
    return [headers, types, written, str(problem)]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_sample_reads_as_with_the_default_policy(name: str) -> None:
    raw = SAMPLES[name]
    expected = read(raw, policy.default)
    # Twice: the second time the header values come from the cache.
    assert read(raw, INBOUND) == expected
    assert read(raw, INBOUND) == expected
