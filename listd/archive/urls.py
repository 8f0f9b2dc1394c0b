"""The web addresses of a list's archive (under the fixed /lists/LIST@DOMAIN/archive path)."""

from __future__ import annotations

from urllib.parse import quote

from listd.settings import ListSettings


def archive_path(list_address: str) -> str:
    return f"/lists/{quote(list_address, safe='@')}/archive"


def archive_base(base_url: str | None, list_address: str) -> str | None:
    if not base_url:
        return None
    return base_url.rstrip("/") + archive_path(list_address)


def web_archive(settings: ListSettings, base_url: str | None, list_address: str) -> str | None:
    """The archive's URL for List-Archive, when the list has one readers can open: its own
    archive_url, or listd's pages of a public archive."""
    if settings.archive_url:
        return settings.archive_url
    if settings.archive != "public":
        return None
    return archive_base(base_url, list_address)


def message_url(settings: ListSettings, base_url: str | None, list_address: str,
                number: int) -> str | None:
    """Archived-At (RFC 5064) for message NUMBER, when listd's web archive serves it."""
    if settings.archive != "public":
        return None
    base = archive_base(base_url, list_address)
    return f"{base}/{number}" if base else None
