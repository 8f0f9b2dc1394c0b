"""The short texts of command replies, read from `templates/LANG/phrases.txt`.

One `key: text` per line, with `$placeholders`; `#` starts a comment. An admin edits the file
as the other templates (read once per process: restart listd after editing); a key missing
from a language falls back to English.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from string import Template

from listd.templates import FALLBACK, TEMPLATE_DIR


@lru_cache(maxsize=8)
def _catalog(directory: Path, language: str) -> dict[str, str]:
    path = directory / language / "phrases.txt"
    if not path.is_file():
        return {}
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, text = line.partition(":")
        if not sep:
            raise ValueError(f"{path}: expected 'key: text', got {line!r}")
        found[key.strip()] = text.strip().replace("\\n", "\n")
    return found


def say(language: str, key: str, /, **values: object) -> str:
    text = _catalog(TEMPLATE_DIR, language).get(key)
    if text is None:
        text = _catalog(TEMPLATE_DIR, FALLBACK)[key]
    return Template(text).safe_substitute({k: str(v) for k, v in values.items()})
