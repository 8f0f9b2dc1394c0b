"""The web link a confirmation mail may carry besides its reply address: it opens a page on
listd's site whose button confirms (a GET does nothing, so mail scanners that fetch every link
confirm nothing). Only when `http.base_url` says where the site is."""

from __future__ import annotations

from listd.config import Config
from listd.i18n import translate


def confirmation_url(config: Config, token: str) -> str | None:
    base = (config.http.base_url or "").rstrip("/")
    return f"{base}/confirm/{token}" if base and config.http.enabled else None


def web_confirmation_text(config: Config, language: str, token: str) -> str:
    """The paragraph for the mail, or nothing without a site."""
    url = confirmation_url(config, token)
    if url is None:
        return ""
    return "\n" + translate(language, "Or open this page and press its button:\n{url}",
                            url=url) + "\n"
