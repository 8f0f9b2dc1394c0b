"""Email addresses as listd keeps them: validated once, compared in one normal form."""

from __future__ import annotations

import re
from email.utils import getaddresses, parseaddr

from email_validator import EmailNotValidError, validate_email

from listd.errors import UserError


class InvalidAddress(UserError):
    """An address that cannot be used; the message says what is wrong with it."""


# The everyday address — ASCII dot-atom local part, plain LDH labels — is checked by this
# pattern alone, 100 times faster than email-validator's full IDNA checks (a 100,000-line
# import spends most of its time there). Anything else, or anything near an edge case
# (punycode, "--" in a label, special-use names), goes through email-validator.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN_ADDRESS = re.compile(
    rf"{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z])?")
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")


def _plain(candidate: str) -> str | None:
    lowered = candidate.lower()
    if len(lowered) > 254 or not _PLAIN_ADDRESS.fullmatch(lowered):
        return None
    local, _, domain = lowered.rpartition("@")
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    if domain.rpartition(".")[2] in _SPECIAL_USE:
        return None
    return lowered


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
    plain = _plain(candidate)
    if plain is not None:
        return plain
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
