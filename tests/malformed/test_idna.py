"""A From: whose domain is not valid IDNA is an unusable domain, answered at once, not an
exception in the DMARC lookup thread that leaves the post waiting the whole DNS timeout."""

from __future__ import annotations

import time

import pytest

from listd.config import Config
from listd.database import Database
from listd.deliverability.dmarc import DmarcResolver, Policy
from listd.serve import Daemon
from tests.support.client import in_thread, send
from tests.support.lists import make_list
from tests.support.outbox import sent_to, settle

LIST = "club@lists.example.org"
ALICE = "alice@example.org"
BOB = "bob@example.org"
NOT_IDNA = ("\u2603.example", "xn--55qx5d\u00e9.example")


@pytest.mark.parametrize("domain", NOT_IDNA)
def test_lookup_of_a_domain_that_is_not_idna_fails_at_once(config: Config, domain: str) -> None:
    resolver = DmarcResolver(config.dns)
    started = time.monotonic()
    lookup = resolver.policy_within(domain, timeout=config.dns.timeout)
    assert time.monotonic() - started < config.dns.timeout / 2
    assert lookup.policy is Policy.UNKNOWN
    assert "IDNA" in lookup.reason, lookup.reason


async def test_post_from_a_domain_that_is_not_idna_goes_out_munged(
        daemon: Daemon, db: Database, config: Config) -> None:
    make_list(db, config, LIST, subscribers=(ALICE, BOB))
    raw = (f"From: Alice <alice@{NOT_IDNA[0]}>\r\nTo: {LIST}\r\nSubject: snow\r\n"
           "Message-ID: <snow@example.org>\r\n\r\nHi.\r\n").encode()
    started = time.monotonic()
    await in_thread(send, daemon.port, ALICE, [LIST], raw)
    await settle(db)

    assert time.monotonic() - started < config.dns.timeout
    copy, = sent_to(config, BOB)
    assert LIST in str(copy.message["From"])
