"""Rewriting a post's links to go through `/r/TOKEN` (the list setting `tracking`).

Pure: text in, text out. In text/html the `href` of each `<a>` with an http(s) URL is
rewritten; in text/plain each bare http(s) URL. listd's own links (anything under
http.base_url, such as the unsubscribe page) and links holding a merge field are left alone.
The same URL in several places (or in both alternatives) is one link, counted once per click.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from listd.tracking.tokens import LinkTokens, redirect_url

# With per_member, each recipient's signed member id is put here by delivery (personal.py).
MEMBER_PLACEHOLDER = "LISTDTRACKMEMBERX"
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"'<>\s]+)\2""",
                   re.IGNORECASE)
_BARE_URL = re.compile(r"""https?://[^\s<>"'\]\[]+""", re.IGNORECASE)
# Punctuation that ends a sentence rather than a URL written in running text.
_TRAILING = ".,;:!?)"


@dataclass
class LinkRewriter:
    """Numbers a post's distinct links and gives each its redirect URL."""

    tokens: LinkTokens
    base_url: str
    post: int
    per_member: bool = False
    links: dict[str, int] = field(default_factory=dict)

    def tracked(self, url: str) -> str:
        if url.startswith(self.base_url.rstrip("/") + "/") or "{{" in url:
            return url
        number = self.links.setdefault(url, len(self.links) + 1)
        token = self.tokens.link(self.post, number, url)
        if self.per_member:
            token += "." + MEMBER_PLACEHOLDER
        return redirect_url(self.base_url, token)

    def html(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            url = html.unescape(match.group(3))
            return match.group(1) + match.group(2) + html.escape(self.tracked(url)) \
                + match.group(2)
        return _HREF.sub(one, text)

    def text(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            url = match.group(0)
            kept = url.rstrip(_TRAILING)
            return self.tracked(kept) + url[len(kept):]
        return _BARE_URL.sub(one, text)
