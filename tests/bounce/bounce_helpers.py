"""Helpers shared by the bounce tests (a plain module: a conftest.py name could clash)."""

from __future__ import annotations

import textwrap


def eml(text: str) -> bytes:
    """A literal test message: dedented, LF line ends, as bytes."""
    return textwrap.dedent(text).lstrip("\n").encode("utf-8")
