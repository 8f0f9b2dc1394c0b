"""Delivery modes: which one a member may be put in, and reading one from a command or the CLI.

The modes are the `DeliveryMode` enum; this module is the one place that says which of them
listd serves and that turns a word ("digest", Mailman's "plain") into a mode. Every door (the
SET command, `listd member set`, the web and API later) parses through `parse_delivery_mode`,
so a mode no code delivers is refused the same way everywhere and no member can be left
waiting for mail that nothing will ever send.
"""

from __future__ import annotations

from listd.errors import UserError
from listd.i18n import N_
from listd.models import DeliveryMode

# The modes some part of listd delivers. A mode outside this set is refused when asked for.
SERVED: frozenset[DeliveryMode] = frozenset(DeliveryMode)
# The modes served by listd.digest, in the order their forms are queued.
DIGEST_MODES: tuple[DeliveryMode, ...] = (DeliveryMode.DIGEST, DeliveryMode.DIGESTPLAIN,
                                          DeliveryMode.SUMMARY)
# Mailman's `join digest=mime|plain|no`.
MAILMAN_DIGEST = {"mime": DeliveryMode.DIGEST, "plain": DeliveryMode.DIGESTPLAIN,
                  "no": DeliveryMode.MAIL}


class UnknownDeliveryMode(UserError):
    """A word that names no delivery mode."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(N_("unknown delivery mode {mode}; choose one of {modes}"),
                         mode=repr(text), modes=served_names())


class UnservedDeliveryMode(UserError):
    """A delivery mode that exists but that nothing in this listd delivers."""

    def __init__(self, mode: DeliveryMode) -> None:
        self.mode = mode
        super().__init__(N_("delivery mode {mode} is not available on this server; choose "
                            "one of {modes}"), mode=repr(mode.value), modes=served_names())


def served_names(separator: str = ", ") -> str:
    """The served modes, in the enum's order, for usage lines and help texts."""
    return separator.join(m.value for m in DeliveryMode if m in SERVED)


def parse_delivery_mode(text: str) -> DeliveryMode:
    """The served mode TEXT names (any case); raises UnknownDeliveryMode or
    UnservedDeliveryMode with a message naming the offending value."""
    try:
        mode = DeliveryMode(text.strip().lower())
    except ValueError:
        raise UnknownDeliveryMode(text) from None
    if mode not in SERVED:
        raise UnservedDeliveryMode(mode)
    return mode


def parse_mailman_digest(argument: str) -> DeliveryMode | None:
    """The mode of Mailman's `digest=mime|plain|no` argument; None when ARGUMENT is not one;
    UnknownDeliveryMode for another value."""
    key, sep, value = argument.partition("=")
    if not sep or key.strip().lower() != "digest":
        return None
    mode = MAILMAN_DIGEST.get(value.strip().lower())
    if mode is None:
        raise UnknownDeliveryMode(argument)
    if mode not in SERVED:
        raise UnservedDeliveryMode(mode)
    return mode


def receives_each_post() -> frozenset[DeliveryMode]:
    """Modes whose members get every post as it is distributed. A mode nothing serves (a
    member put in it before it was refused) gets each post rather than nothing."""
    unserved = frozenset(DeliveryMode) - SERVED
    return frozenset({DeliveryMode.MAIL}) | unserved
