"""What handling one report did, as a typed value: per address, the effect taken."""

from __future__ import annotations

from dataclasses import dataclass

from listd.bounce.scoring import Effect


@dataclass(frozen=True)
class AddressEffect:
    address: str
    effect: Effect


@dataclass(frozen=True)
class BounceResult:
    """The effects of one report; `summary` is what logs and `listd queue status` show."""

    what: str
    effects: tuple[AddressEffect, ...] = ()
    note: str = ""
    # Sent on to the owners because it could not be acted on.
    forwarded: bool = False

    @property
    def queued_mail(self) -> bool:
        return self.forwarded or any(e.effect.queues_mail for e in self.effects)

    def effect_of(self, address: str) -> Effect | None:
        return next((e.effect for e in self.effects if e.address == address), None)

    @property
    def summary(self) -> str:
        parts = [f"{e.address}: {e.effect.value}" for e in self.effects]
        if self.note:
            parts.append(self.note)
        if self.forwarded:
            parts.append("forwarded to the owners")
        return f"{self.what}: " + ("; ".join(parts) or "nothing to do")
