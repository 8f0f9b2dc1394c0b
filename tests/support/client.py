"""A real SMTP client (smtplib) driven from async tests without blocking the server's loop."""

from __future__ import annotations

import asyncio
import smtplib
import socket
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


async def in_thread(fn: Callable[..., T], *args: object) -> T:
    return await asyncio.to_thread(fn, *args)


def dialogue(port: int, lines: list[bytes | tuple[bytes, int]],
             timeout: float = 10.0) -> list[str]:
    """Send raw lines; return the greeting and each reply, for exact protocol checks.

    A line given as (bytes, n) expects n replies (LMTP answers once per recipient after DATA).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        reader = sock.makefile("rb")
        replies = [_read_reply(reader)]
        for item in lines:
            line, expected = item if isinstance(item, tuple) else (item, 1)
            sock.sendall(line)
            replies.extend(_read_reply(reader) for _ in range(expected))
        return replies


def _read_reply(reader) -> str:  # type: ignore[no-untyped-def]
    lines = []
    while True:
        line = reader.readline().decode("utf-8", "replace").rstrip("\r\n")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            return "\n".join(lines)


def send(port: int, sender: str, recipients: list[str], message: bytes | str) -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        return client.sendmail(sender, recipients, message)


def post(port: int, sender: str, recipient: str, subject: str = "Hello",
         body: str = "Hello list.\n", headers: str = "") -> None:
    message = (f"From: {sender}\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
               f"Message-ID: <{abs(hash((sender, subject, body)))}@example.org>\r\n"
               f"{headers}\r\n{body}")
    send(port, sender, [recipient], message.encode())
