"""The email policies listd parses and writes mail with: `policy.default`'s, each header value
parsed once and each header folded once.

`policy.default` parses a header's value again on every access, and builds a new class to do
it: `get_content_type()` reads Content-Type anew each time, and the parser, the readability
checks and the handlers ask it several times a part. A parsed header is an immutable `str`
with its parse tree (folding it copies the tree), so the same (name, value) met again is
served from a bounded cache shared by every message parsed with this policy. A header set by
listd (a list's List-Id, a notice's X-Loop) is the same value on every post, so it too is
parsed once, and folded once per writing policy (the fold is kept on the immutable header).
"""

from __future__ import annotations

import threading
from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import EmailPolicy
from typing import Any

# Distinct (name, value) pairs kept; past this the cache starts again (most values of one
# message are met again within that message, a few, like a list's own headers, across many).
CACHE_SIZE = 4096


class ParsedOnce(HeaderRegistry):
    """A header factory that parses each distinct (name, value) once."""

    def __init__(self) -> None:
        super().__init__()
        self._parsed: dict[tuple[str, str], BaseHeader] = {}
        self._classes: dict[str, type[BaseHeader]] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> type[BaseHeader]:
        # HeaderRegistry builds a new class on every call (each header set, and each
        # header_max_count() asked when one is set); one class per header name does the same.
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found

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

    # Shared, never copied: a message deep-copied (DMARC mitigation) keeps the one cache.
    def __deepcopy__(self, memo: dict[int, Any]) -> ParsedOnce:
        return self

    def __reduce__(self) -> tuple[type[ParsedOnce], tuple[()]]:
        return ParsedOnce, ()


class FoldsOnce(EmailPolicy):
    """`EmailPolicy` that keeps a header object's folded text on the object, per policy: a
    header is an immutable value, so its fold under one policy never changes, and the
    cached headers of ParsedOnce are written out again on every post."""

    def _fold(self, name: str, value: Any, refold_binary: bool = False) -> str:
        if not isinstance(value, BaseHeader):
            return super()._fold(name, value, refold_binary)  # type: ignore[misc]
        folds: dict[EmailPolicy, str] = value.__dict__.setdefault("_listd_folds", {})
        folded = folds.get(self)
        if folded is None:
            folded = folds[self] = value.fold(policy=self)
        return folded

    # A policy is immutable (clone() makes a new one): copies of a message share it.
    def __deepcopy__(self, memo: dict[int, Any]) -> FoldsOnce:
        return self


# For reading mail and composing listd's own: policy.default with both caches.
INBOUND = FoldsOnce(header_factory=ParsedOnce())
# For writing a post out: CRLF, and a header the sender wrote never refolded (signed parts
# must keep their exact bytes).
WRITE = FoldsOnce(linesep="\r\n", refold_source="none")
