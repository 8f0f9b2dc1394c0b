"""Minimal malformed messages that once left accepted mail without an outcome (issue 19, 7)."""

from __future__ import annotations

SUBSCRIBER = "alice@example.org"


def message(headers: str, body: bytes = b"Hello.\r\n", sender: str = SUBSCRIBER,
            to: str = "club@lists.example.org") -> bytes:
    head = headers if "From:" in headers else f"From: {sender}\r\n{headers}"
    if "Message-ID:" not in head:
        head += f"Message-ID: <{abs(hash((headers, body)))}@example.org>\r\n"
    return (f"To: {to}\r\nSubject: broken\r\n{head}\r\n").encode("utf-8", "surrogateescape") \
        + body


def nested(levels: int) -> bytes:
    """LEVELS of multipart/mixed, one inside the other."""
    head = f"From: {SUBSCRIBER}\r\nTo: club@lists.example.org\r\nSubject: deep\r\n" \
        "Message-ID: <deep@example.org>\r\nMIME-Version: 1.0\r\n" \
        "Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
    out = [head.encode()]
    out += [f"--b{i - 1}\r\nContent-Type: multipart/mixed; boundary=b{i}\r\n\r\n".encode()
            for i in range(1, levels)]
    out.append(f"--b{levels - 1}\r\nContent-Type: text/plain\r\n\r\nhi\r\n".encode())
    out += [f"--b{i}--\r\n".encode() for i in reversed(range(levels))]
    return b"".join(out)


NO_BOUNDARY_MIXED = message(
    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n",
    b"just text, no parts\r\n")
NO_BOUNDARY_8BIT = message(
    "MIME-Version: 1.0\r\nContent-Type: multipart/alternative\r\n",
    "caf\u00e9 cr\u00e8me\r\n".encode())

# Each from a subscriber; the name says what is wrong.
POSTS: dict[str, bytes] = {
    "message-id-empty": message("Message-ID: <>\r\n"),
    "message-id-semicolon": message("Message-ID: <;a@b>\r\n"),
    "message-id-at": message("Message-ID: <@>\r\n"),
    "from-name-only": message("From: Just A Name\r\n"),
    "from-no-domain": message("From: Someone <nobody>\r\n"),
    "from-bad-utf8": message(f"From: Al\udcffice <{SUBSCRIBER}>\r\n"),
    "mixed-no-boundary": NO_BOUNDARY_MIXED,
    "alternative-no-boundary-8bit": NO_BOUNDARY_8BIT,
    "nested-300": nested(300),
}
