"""Email addresses as listd keeps them: validated once, compared in one normal form."""

from __future__ import annotations

from email.utils import getaddresses, parseaddr

from email_validator import EmailNotValidError, validate_email

from listd.errors import UserError


class InvalidAddress(UserError):
    """An address that cannot be used; the message says what is wrong with it."""


def normalize_address(text: str) -> str:
    """Validate an address and return it in the form listd stores and compares.

    The whole address is lowercased, as Sympa does: mailbox providers treat local parts
    case-insensitively in practice, and one person must not become two members.
    """
    candidate = text.strip()
    if candidate.startswith("<") and candidate.endswith(">"):
        candidate = candidate[1:-1]
    if not candidate:
        raise InvalidAddress("empty address")
    try:
        valid = validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidAddress(f"invalid address {text.strip()!r}: {exc}") from None
    return valid.normalized.lower()


def try_normalize(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return normalize_address(text)
    except InvalidAddress:
        return None


def header_address(value: str | None) -> str | None:
    """The normalised address in a From:-like header, or None when there is none usable."""
    if not value:
        return None
    return try_normalize(parseaddr(str(value))[1])


def header_addresses(values: list[str]) -> list[str]:
    found = []
    for _name, addr in getaddresses([str(v) for v in values]):
        norm = try_normalize(addr)
        if norm:
            found.append(norm)
    return found


def split_list_address(text: str) -> tuple[str, str]:
    """LIST@DOMAIN → (list name, domain), both lowercase; raises InvalidAddress."""
    address = normalize_address(text)
    name, _, domain = address.rpartition("@")
    return name, domain
