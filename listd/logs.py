"""The daemon's log: what happened, one line each, not that nothing did."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# aiosmtpd's own logger: about 26 INFO lines a session (the peer, every command, an AUTH line
# about an extension listd does not offer). listd logs each refusal and acceptance itself.
AIOSMTPD_LOGGER = "mail.log"


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format=FORMAT)
    quiet_protocol_log(level)


def quiet_protocol_log(level: str) -> None:
    verbose = logging.getLevelName(level) == logging.DEBUG
    logging.getLogger(AIOSMTPD_LOGGER).setLevel(logging.DEBUG if verbose else logging.WARNING)
