"""A Sympa list directory: its `config` file and its subscribers.

The config file is Sympa's list configuration syntax: paragraphs separated by blank lines;
a paragraph is one simple parameter (`subject Our news`) or a compound one, its name alone on
the first line and `key value` lines after it (`owner` / `email …` / `gecos …`). Subscribers
come from a dump (`subscribers.db.dump`: paragraphs of `email`, `gecos`, `reception`), or from
a REVIEW reply or any file of `address Full Name` lines. Pure: text in, ImportedList out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from listd.addresses import scheme_address, try_normalize
from listd.errors import UserError
from listd.importers.model import ImportedList, ImportedMember
from listd.models import DeliveryMode, Role

SUBSCRIBER_FILES = ("subscribers.db.dump", "subscribers", "review.txt", "REVIEW")

# Sympa's scenario names for `send`, and what they mean in listd's terms.
SEND = {
    "public": {"posting": "anyone"},
    "public_nobcc": {"posting": "anyone"},
    "private": {"posting": "members", "nonmember_action": "reject"},
    "privateoredited": {"posting": "members", "nonmember_action": "hold"},
    "privateorpublickey": {"posting": "members", "nonmember_action": "hold"},
    "editorkey": {"posting": "moderated"},
    "editorkeyonly": {"posting": "moderated"},
    "publickey": {"posting": "moderated"},
    "newsletter": {"posting": "owners", "nonmember_action": "reject"},
    "newsletterkeyonly": {"posting": "owners", "nonmember_action": "hold"},
}
SUBSCRIBE = {"open": "open", "open_notify": "open", "auth": "open", "auth_notify": "open",
             "owner": "approval", "auth_owner": "approval", "closed": "closed"}
REVIEW = {"owner": "owners", "private": "members", "public": "public", "closed": "owners"}
VISIBILITY = {"noconceal": "public", "conceal": "hidden", "secret": "hidden"}
REPLY_TO = {"sender": "poster", "list": "list"}
RECEPTION = {"mail": DeliveryMode.MAIL, "digest": DeliveryMode.DIGEST,
             "nomail": DeliveryMode.NOMAIL}
# Parameters that are Sympa's bookkeeping, not a setting anyone chose.
BOOKKEEPING = {"creation", "update", "serial", "status", "host", "owner", "editor", "subject",
               "family_name", "latest_instantiation", "info"}


@dataclass(frozen=True)
class Parameter:
    name: str
    value: str
    fields: dict[str, str]


def parse_config(text: str) -> list[Parameter]:
    found: list[Parameter] = []
    for paragraph in _paragraphs(text):
        name, _, value = paragraph[0].partition(" ")
        if value.strip() or len(paragraph) == 1:
            # Simple parameters; Sympa writes one a paragraph but tolerates several.
            found += [_simple(line) for line in paragraph]
            continue
        fields = dict(_pair(line) for line in paragraph[1:])
        found.append(Parameter(name.lower(), "", fields))
    return found


def _simple(line: str) -> Parameter:
    name, _, value = line.partition(" ")
    return Parameter(name.lower(), value.strip(), {})


def _pair(line: str) -> tuple[str, str]:
    name, _, value = line.partition(" ")
    return name.lower(), value.strip()


def _paragraphs(text: str) -> Iterator[list[str]]:
    current: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if line:
            current.append(line)
        elif current:
            yield current
            current = []
    if current:
        yield current


def parse_subscribers(text: str) -> Iterator[ImportedMember | str]:
    """Members, or a line saying what could not be read."""
    paragraphs = list(_paragraphs(text))
    if paragraphs and paragraphs[0][0].lower().startswith("email "):
        for paragraph in paragraphs:
            yield _dumped(dict(_pair(line) for line in paragraph))
        return
    for paragraph in paragraphs:
        for line in paragraph:
            yield from _listed(line)


def _dumped(fields: dict[str, str]) -> ImportedMember | str:
    address = try_normalize(fields.get("email"))
    if address is None:
        return f"subscriber {fields.get('email')!r}: not a valid address"
    reception = fields.get("reception", "mail").lower()
    return ImportedMember(address, fields.get("gecos", ""), Role.SUBSCRIBER,
                          RECEPTION.get(reception, DeliveryMode.MAIL))


def _listed(line: str) -> Iterator[ImportedMember]:
    # REVIEW replies put text around the addresses; a line that starts with one is a member.
    first, _, rest = line.partition(" ")
    address = try_normalize(first.strip("<>"))
    if address is not None:
        yield ImportedMember(address, rest.strip().lstrip("-").strip())


def read_list(directory: Path, domain: str | None = None) -> ImportedList:
    config_file = directory / "config"
    if not config_file.is_file():
        raise UserError(f"{directory}: not a Sympa list directory (no config file)")
    parameters = parse_config(config_file.read_text(encoding="utf-8", errors="replace"))
    simple = {p.name: p.value for p in parameters if p.value}
    host = domain or simple.get("host")
    if not host:
        raise UserError(f"{config_file}: no 'host' parameter; give the domain with --domain")
    imported = ImportedList(scheme_address(directory.name.lower(), host.lower()),
                            subject=simple.get("subject", ""))
    for parameter in parameters:
        _translate(imported, parameter)
    _read_subscribers(imported, directory)
    return imported


def _translate(imported: ImportedList, parameter: Parameter) -> None:
    if parameter.name in ("owner", "editor"):
        role = Role.OWNER if parameter.name == "owner" else Role.MODERATOR
        address = try_normalize(parameter.fields.get("email"))
        if address is None:
            imported.unmapped.append(f"{parameter.name} {parameter.fields}: no valid email")
            return
        imported.members.append(ImportedMember(address, parameter.fields.get("gecos", ""),
                                               role))
        return
    if parameter.name in BOOKKEEPING:
        return
    mapped = _setting(parameter)
    if mapped is None:
        shown = parameter.value or " ".join(f"{k}={v}" for k, v in parameter.fields.items())
        imported.unmapped_setting(parameter.name, shown)
        return
    imported.settings.update(mapped)


def _setting(parameter: Parameter) -> dict[str, object] | None:
    name, value = parameter.name, parameter.value.lower()
    if name == "send":
        return dict(SEND[value]) if value in SEND else None
    if name == "subscribe":
        return {"subscription": SUBSCRIBE[value]} if value in SUBSCRIBE else None
    if name == "review":
        return {"review": REVIEW[value]} if value in REVIEW else None
    if name == "visibility":
        return {"visibility": VISIBILITY[value]} if value in VISIBILITY else None
    if name == "lang":
        return {"language": value.split("_")[0]}
    if name == "max_size" and value.isdigit():
        return {"max_message_size": int(value)}
    if name == "custom_subject":
        return {"subject_prefix": f"[{parameter.value}]"}
    if name == "reply_to_header":
        choice = REPLY_TO.get(parameter.fields.get("value", "").lower())
        return {"reply_to": choice} if choice else None
    return None


def _read_subscribers(imported: ImportedList, directory: Path) -> None:
    source = next((directory / n for n in SUBSCRIBER_FILES if (directory / n).is_file()), None)
    if source is None:
        imported.unmapped.append(f"no subscribers file in {directory} "
                                 f"(looked for {', '.join(SUBSCRIBER_FILES)})")
        return
    for item in parse_subscribers(source.read_text(encoding="utf-8", errors="replace")):
        if isinstance(item, str):
            imported.unmapped.append(item)
        else:
            imported.members.append(item)
