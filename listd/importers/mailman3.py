"""Mailman 3: the JSON its REST API gives for a list, its members and its settings.

FILE is one JSON object: `list` (GET /3.1/lists/LIST_ID), `members` (GET
/3.1/lists/LIST_ID/roster/{owner,moderator,member} or /3.1/members?list_id=…; a collection
with `entries`, or a plain array; each entry has `email`, `role`, `display_name`,
`delivery_mode`) and `settings` (GET /3.1/lists/LIST_ID/config). Pure: JSON in, ImportedList
out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from listd.addresses import try_normalize
from listd.errors import UserError
from listd.importers.model import ImportedList, ImportedMember
from listd.models import DeliveryMode, Role

ROLES = {"owner": Role.OWNER, "moderator": Role.MODERATOR, "member": Role.SUBSCRIBER}
DELIVERY = {"regular": DeliveryMode.MAIL, "mime_digests": DeliveryMode.DIGEST,
            "plaintext_digests": DeliveryMode.DIGEST, "summary_digests": DeliveryMode.DIGEST}
SUBSCRIPTION = {"open": "open", "confirm": "open", "moderate": "approval",
                "confirm_then_moderate": "approval"}
NONMEMBER = {"hold": "hold", "reject": "reject", "discard": "discard"}
ROSTER = {"moderators": "owners", "members": "members", "public": "public"}
DMARC = {"no_mitigation": "none", "munge_from": "munge_from", "wrap_message": "wrap"}
REPLY_TO = {"no_munging": "poster", "point_to_list": "list"}
# REST bookkeeping and values that are facts about the list, not choices.
BOOKKEEPING = {"http_etag", "self_link", "list_id", "list_name", "mail_host", "fqdn_listname",
               "display_name", "description", "member_count", "volume", "created_at",
               "last_post_at", "digest_last_sent_at", "next_digest_number", "posting_address",
               "request_address", "owner_address", "join_address", "leave_address",
               "bounces_address", "no_reply_address", "scheme", "web_host", "style",
               "info", "subject_prefix", "preferred_language", "default_member_action",
               "reply_goes_to_list", "post_id", "digest_volume_frequency_changed_at"}

Translation = Callable[[Any], "dict[str, object] | None"]


def _choice(table: dict[str, str], key: str) -> Translation:
    return lambda value: {key: table[value]} if value in table else None


SETTINGS: dict[str, Translation] = {
    "subscription_policy": _choice(SUBSCRIPTION, "subscription"),
    "default_nonmember_action": _choice(NONMEMBER, "nonmember_action"),
    "member_roster_visibility": _choice(ROSTER, "review"),
    "dmarc_mitigate_action": _choice(DMARC, "dmarc_mitigation"),
    "advertised": lambda v: {"visibility": "public" if v else "hidden"},
    "emergency": lambda v: {"emergency": bool(v)},
    # Mailman counts kilobytes; 0 means no limit, which listd does not have.
    "max_message_size": lambda v: {"max_message_size": int(v) * 1024} if v else None,
    "max_num_recipients": lambda v: {"max_recipients": int(v)} if v else None,
}


def read_export(text: str) -> ImportedList:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("list"), dict):
        raise UserError("expected a JSON object with 'list', 'members' and 'settings'")
    about: dict[str, Any] = data["list"]
    settings: dict[str, Any] = data.get("settings") or {}
    address = try_normalize(about.get("fqdn_listname") or settings.get("fqdn_listname"))
    if address is None:
        raise UserError("the list's 'fqdn_listname' is missing or not an address")
    imported = ImportedList(address, subject=str(about.get("display_name") or ""))
    _translate_settings(imported, settings)
    for entry in _entries(data.get("members")):
        _member(imported, entry)
    return imported


def _entries(members: object) -> list[dict[str, Any]]:
    if isinstance(members, dict):
        members = members.get("entries", [])
    if not isinstance(members, list):
        return []
    return [e for e in members if isinstance(e, dict)]


def _member(imported: ImportedList, entry: dict[str, Any]) -> None:
    role = ROLES.get(str(entry.get("role", "member")))
    address = try_normalize(entry.get("email"))
    if role is None or address is None:
        imported.unmapped.append(f"{entry.get('role')} {entry.get('email')!r}: skipped "
                                 "(not an owner, moderator or member with a valid address)")
        return
    mode = str(entry.get("delivery_mode", "regular"))
    delivery = DELIVERY.get(mode, DeliveryMode.MAIL)
    if mode not in DELIVERY:
        imported.unmapped.append(f"delivery_mode {mode} of {address}: no listd equivalent, "
                                 "mail")
    imported.members.append(ImportedMember(address, str(entry.get("display_name") or ""),
                                           role, delivery))


def _translate_settings(imported: ImportedList, settings: dict[str, Any]) -> None:
    imported.subject = str(settings.get("display_name") or imported.subject)
    if settings.get("description"):
        imported.settings["description"] = str(settings["description"])
    if settings.get("preferred_language"):
        imported.settings["language"] = str(settings["preferred_language"]).split("_")[0]
    _special(imported, settings)
    for key, value in sorted(settings.items()):
        if key in BOOKKEEPING:
            continue
        translate = SETTINGS.get(key)
        mapped = translate(value) if translate is not None else None
        if mapped is None:
            imported.unmapped_setting(key, json.dumps(value))
        else:
            imported.settings.update(mapped)


def _special(imported: ImportedList, settings: dict[str, Any]) -> None:
    """Settings whose meaning depends on another (posting from two; the prefix's spaces)."""
    prefix = settings.get("subject_prefix")
    if prefix is not None:
        imported.settings["subject_prefix"] = str(prefix).strip()
    if settings.get("default_member_action") == "hold":
        imported.settings["posting"] = "moderated"
    elif settings.get("default_member_action") not in (None, "defer", "accept"):
        imported.unmapped_setting("default_member_action",
                                  settings["default_member_action"])
    reply = settings.get("reply_goes_to_list")
    if reply in REPLY_TO:
        imported.settings["reply_to"] = REPLY_TO[reply]
    elif reply is not None:
        imported.unmapped_setting("reply_goes_to_list", reply)
