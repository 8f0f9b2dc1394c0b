"""Email addresses as listd keeps them, and listd's own address scheme.

An address is validated once and compared in one normal form. The scheme — LIST@, LIST-request@,
LIST-owner@, LIST-bounces+TOKEN@, LIST-confirm+TOKEN@, LIST-join@, LIST-leave@ and the robot's
addresses — is built and parsed here and nowhere else.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr

from email_validator import EmailNotValidError, validate_email

from listd.errors import UserError
from listd.i18n import N_


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
        raise InvalidAddress(N_("empty address"))
    plain = _plain(candidate)
    if plain is not None:
        return plain
    try:
        valid = validate_email(candidate, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise InvalidAddress(N_("invalid address {address}"), address=repr(text.strip()),
                             detail=str(exc)) from None
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


class AddressKind(enum.StrEnum):
    """What an address of listd's own is for."""

    POST = "post"
    REQUEST = "request"
    ROBOT = "robot"
    OWNER = "owner"
    BOUNCES = "bounces"
    CONFIRM = "confirm"
    JOIN = "join"
    LEAVE = "leave"


# Suffixes of a list's (or the robot's) local part, longest match wins; a "+TOKEN" may follow
# the two that carry one (VERP bounces and confirmations).
SUFFIXES: dict[str, AddressKind] = {
    "-request": AddressKind.REQUEST,
    "-owner": AddressKind.OWNER,
    "-bounces": AddressKind.BOUNCES,
    "-confirm": AddressKind.CONFIRM,
    "-join": AddressKind.JOIN,
    "-leave": AddressKind.LEAVE,
}
_SUFFIX_OF = {kind: suffix for suffix, kind in SUFFIXES.items()}
TOKEN_KINDS = (AddressKind.BOUNCES, AddressKind.CONFIRM)
# A list name ending in one of these would make its own addresses ambiguous.
RESERVED_SUFFIXES = tuple(SUFFIXES)


def scheme_address(base: str, domain: str, kind: AddressKind = AddressKind.POST,
                   token: str | None = None) -> str:
    """BASE[-suffix][+TOKEN]@DOMAIN; BASE is a list name or the robot's local part."""
    return f"{scheme_local_part(base, kind, token)}@{domain}"


def scheme_local_part(base: str, kind: AddressKind = AddressKind.POST,
                      token: str | None = None) -> str:
    if token is not None and kind not in TOKEN_KINDS:
        raise ValueError(f"a {kind} address carries no token")
    local = base + _SUFFIX_OF.get(kind, "")
    return f"{local}+{token}" if token is not None else local


@dataclass(frozen=True)
class Destination:
    kind: AddressKind
    # None for the robot's own addresses (robot@, robot-owner@, robot-bounces@).
    list_name: str | None
    domain: str
    token: str | None = None

    @property
    def list_address(self) -> str | None:
        return scheme_address(self.list_name, self.domain) if self.list_name else None


def parse_local_part(local: str, domain: str, robot: str) -> Destination:
    """Split a (lowercase) local part into list name, role suffix and token."""
    base, plus, token = local.partition("+")
    for suffix, kind in SUFFIXES.items():
        if base.endswith(suffix) and len(base) > len(suffix):
            name = base[: -len(suffix)]
            if plus and kind not in TOKEN_KINDS:
                break
            return Destination(kind, None if name == robot else name, domain, token or None)
    if plus:
        # A plain list address does not take a +detail: it would be an alias nobody made.
        return Destination(AddressKind.POST, None, domain, "+" + token)
    if base == robot:
        return Destination(AddressKind.ROBOT, None, domain)
    return Destination(AddressKind.POST, base, domain)


def parse_address(address: str, robot: str) -> Destination:
    """The scheme's reading of a normalised address (whether or not its domain is served)."""
    local, _, domain = address.rpartition("@")
    return parse_local_part(local, domain, robot)


def is_scheme_address(address: str, robot: str, served: set[str] | frozenset[str],
                      list_names: set[str] | frozenset[str]) -> bool:
    """Whether ADDRESS is one of listd's own: the robot's, a list's, or a list's role address.

    SERVED are the domains listd serves; LIST_NAMES the list names in ADDRESS's domain.
    """
    destination = parse_address(address, robot)
    if destination.domain not in served:
        return False
    if destination.kind is not AddressKind.POST or destination.token is not None:
        return True
    return destination.list_name in list_names
