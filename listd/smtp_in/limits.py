"""The structure one message may have, checked at DATA before it is stored.

A message nested 1,000 levels deep, or made of 200,000 empty parts, is small enough for the
size limit but costs the email package a RecursionError or a minute to parse. So the listener
measures the structure without parsing it: the header lines of the top-level header block, and
the RFC 2046 delimiter lines (`--BOUNDARY`, `--BOUNDARY--`) of the boundaries the message
declares. This counts what a parser would build, in one pass over the lines, and is exact for
well-formed MIME; for malformed MIME it can only overcount delimiters that parsers would also
see. What passes is parsed later by the workers, which guard themselves as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from listd.config import SmtpInConfig

_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))',
                       re.IGNORECASE)
_DELIMITER = re.compile(rb"^--(.{1,200}?)(--)?[ \t]*\r?$", re.MULTILINE)
_HEADER_LINE = re.compile(rb"^[^ \t\r\n][^:\r\n]*:", re.MULTILINE)


@dataclass(frozen=True)
class Shape:
    headers: int
    depth: int
    parts: int


def shape(raw: bytes) -> Shape:
    head = raw[: _header_end(raw)]
    boundaries = {m.group(1) or m.group(2) for m in _BOUNDARY.finditer(raw)}
    open_: list[bytes] = []
    depth = parts = 0
    for match in _DELIMITER.finditer(raw):
        boundary = match.group(1)
        if boundary not in boundaries:
            continue
        if boundary in open_:
            # A delimiter of an outer multipart ends every part opened inside it.
            del open_[open_.index(boundary) + 1:]
        if match.group(2):
            if open_ and open_[-1] == boundary:
                open_.pop()
            continue
        if boundary not in open_:
            open_.append(boundary)
        parts += 1
        depth = max(depth, len(open_))
    return Shape(headers=len(_HEADER_LINE.findall(head)), depth=depth, parts=parts)


def refusal(raw: bytes, limits: SmtpInConfig) -> str | None:
    """The SMTP reply refusing RAW for its structure, or None when it is within the limits."""
    measured = shape(raw)
    if measured.headers > limits.max_header_count:
        problem = f"{measured.headers} header fields (limit {limits.max_header_count})"
    elif measured.depth > limits.max_mime_depth:
        problem = f"MIME parts nested {measured.depth} levels deep " \
                  f"(limit {limits.max_mime_depth})"
    elif measured.parts > limits.max_mime_parts:
        problem = f"{measured.parts} MIME parts (limit {limits.max_mime_parts})"
    else:
        return None
    return f"554 5.6.0 Message refused: {problem}"


def _header_end(raw: bytes) -> int:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return min(ends) if ends else len(raw)
