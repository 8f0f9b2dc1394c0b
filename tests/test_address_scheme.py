"""listd's own address scheme: every address it builds parses back to what it was built from."""

from __future__ import annotations

import pytest

from listd.addresses import (
    AddressKind,
    is_scheme_address,
    parse_address,
    scheme_address,
)

ROBOT = "listd"
DOMAIN = "lists.example.org"


@pytest.mark.parametrize("kind", list(AddressKind))
@pytest.mark.parametrize("base", ["news", "a.b-c", ROBOT])
def test_built_addresses_parse_back(kind: AddressKind, base: str) -> None:
    if kind is AddressKind.ROBOT:
        return
    token = "1f-abcdef0123" if kind in (AddressKind.BOUNCES, AddressKind.CONFIRM) else None
    address = scheme_address(base, DOMAIN, kind, token)
    parsed = parse_address(address, ROBOT)
    expected_kind = AddressKind.ROBOT if base == ROBOT and kind is AddressKind.POST else kind
    assert (parsed.kind, parsed.token, parsed.domain) == (expected_kind, token, DOMAIN)
    assert parsed.list_name == (None if base == ROBOT else base)


def test_a_token_only_on_bounces_and_confirm() -> None:
    with pytest.raises(ValueError):
        scheme_address("news", DOMAIN, AddressKind.OWNER, "x")
    assert parse_address(f"news-owner+x@{DOMAIN}", ROBOT).list_name is None


@pytest.mark.parametrize(("address", "ours"), [
    (f"news@{DOMAIN}", True), (f"news-owner@{DOMAIN}", True), (f"listd@{DOMAIN}", True),
    (f"news-bounces+x@{DOMAIN}", True), (f"listd-confirm+t@{DOMAIN}", True),
    (f"other-request@{DOMAIN}", True), (f"bob+news@{DOMAIN}", True),
    (f"bob@{DOMAIN}", False), ("news@example.org", False), ("news-owner@example.org", False),
])
def test_is_scheme_address(address: str, ours: bool) -> None:
    assert is_scheme_address(address, ROBOT, {DOMAIN}, {"news"}) is ours
