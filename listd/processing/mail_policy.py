"""The email policy inbound mail is parsed with: `policy.default`, each header value parsed once.

`policy.default` parses a header's value again on every access, and builds a new class to do
it: `get_content_type()` reads Content-Type anew each time, and the parser, the readability
checks and the handlers ask it several times a part. A parsed header is an immutable `str`
with its parse tree (folding it copies the tree), so the same (name, value) met again is
served from a bounded cache shared by every message parsed with this policy.
"""

from __future__ import annotations

import threading
from email import policy
from email.headerregistry import BaseHeader, HeaderRegistry
from typing import Any

# Distinct (name, value) pairs kept; past this the cache starts again (most values of one
# message are met again within that message, a few, like a list's own headers, across many).
CACHE_SIZE = 4096


class ParsedOnce(HeaderRegistry):
    """A header factory that parses each distinct (name, value) once."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], BaseHeader] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if not isinstance(value, str):
            return self[name](name, value)
        key = (name, value)
        found = self._parsed.get(key)
        if found is None:
            # A value the parser raises on is not kept: it raises again on the next access.
            # Called as HeaderRegistry.__call__ does, not through it: no frame more on the
            # stack than policy.default takes (deeply nested mail parses as deep as before).
            found = self[name](name, value)
            with self._lock:
                if len(self._parsed) >= CACHE_SIZE:
                    self._parsed.clear()
                self._parsed[key] = found
        return found


INBOUND = policy.default.clone(header_factory=ParsedOnce())
