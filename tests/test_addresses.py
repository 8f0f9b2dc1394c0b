"""Address normalisation: the fast path never accepts what email-validator refuses."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email

from listd.addresses import InvalidAddress, _plain, normalize_address

CASES = [
    "jeanne@example.org", "Jeanne.Dupont@Example.ORG", "a+tag@lists.example.org",
    "o'brien@example.ie", "x@sub-domain.example.co.uk", "a..b@example.org", ".a@example.org",
    "a.@example.org", "a@example", "a@-example.org", "a@example-.org", "a@example.123",
    "a@xn--bcher-kva.example", "a@ab--cd.example.org", "a@localhost", "a@b.test",
    "a@foo.local", "a@example.onion", "a" * 64 + "@example.org", "a" * 65 + "@example.org",
    "a@" + "b" * 63 + ".org", "a@" + "b" * 64 + ".org", "a@example.org.", "a b@example.org",
    "a@exa_mple.org", "{weird}@example.org", "a@1.2.3.4", "a@[192.0.2.1]", "a@example.x1",
    "a@example.o-r-g", "a@ex.a-", "ab@c.d",
]


@pytest.mark.parametrize("address", CASES)
def test_fast_path_agrees_with_email_validator(address: str) -> None:
    fast = _plain(address)
    try:
        reference = validate_email(address, check_deliverability=False,
                                   allow_smtputf8=True).normalized.lower()
    except EmailNotValidError:
        reference = None
    if fast is not None:
        assert fast == reference, address
    found: str | None
    try:
        found = normalize_address(address)
    except InvalidAddress:
        found = None
    assert found == reference, address


def test_unicode_addresses_go_through_the_full_check() -> None:
    assert normalize_address("Zoé@Exemple.fr") == "zoé@exemple.fr"
    assert normalize_address("<jeanne@example.org>") == "jeanne@example.org"
    with pytest.raises(InvalidAddress, match=r"invalid address 'bob@@example\.org'"):
        normalize_address("bob@@example.org")
