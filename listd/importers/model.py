"""What an importer reads from another server, before anything is written: pure values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from listd.models import DeliveryMode, Role


@dataclass(frozen=True)
class ImportedMember:
    address: str
    name: str = ""
    role: Role = Role.SUBSCRIBER
    delivery: DeliveryMode = DeliveryMode.MAIL


@dataclass
class ImportedList:
    """A list as the other server describes it, translated into listd's terms."""

    address: str
    subject: str = ""
    members: list[ImportedMember] = field(default_factory=list)
    # listd setting name → value (checked by settings.parse_setting when applied).
    settings: dict[str, Any] = field(default_factory=dict)
    # One line per setting or value that listd has no equivalent for.
    unmapped: list[str] = field(default_factory=list)

    def unmapped_setting(self, name: str, value: object, why: str = "") -> None:
        self.unmapped.append(f"{name} {value!s}: no listd equivalent" + (f" ({why})" if why
                                                                             else ""))

    def with_role(self, role: Role) -> list[ImportedMember]:
        return [m for m in self.members if m.role is role]
