"""The owners' settings form, generated from listd.settings (names, descriptions, allowed
values), so the page offers exactly what `listd list set` accepts and checks it the same way."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from listd.models import MailingList
from listd.settings import LANGUAGES, SETTING_HINTS, ListSettings, SettingError, parse_setting

COLUMN_FIELDS = (
    ("subject", "the list's subject, shown in the directory"),
    ("description", "what the list is about, shown on its page"),
    ("language", "the language of the list's mail and pages"),
)


@dataclass(frozen=True)
class Field:
    name: str
    description: str
    # "choice", "bool", "number" or "text"
    kind: str
    choices: tuple[str, ...] = ()
    optional: bool = False


def _field(name: str, description: str, hint: Any) -> Field:
    args = typing.get_args(hint)
    optional = type(None) in args
    if optional:
        hint = next(a for a in args if a is not type(None))
    if typing.get_origin(hint) is Literal:
        return Field(name, description, "choice", tuple(typing.get_args(hint)))
    if hint is bool:
        return Field(name, description, "bool", ("true", "false"))
    if hint is int:
        return Field(name, description, "number")
    return Field(name, description, "text", optional=optional)


@lru_cache(maxsize=1)
def fields() -> tuple[Field, ...]:
    found = [Field("subject", COLUMN_FIELDS[0][1], "text"),
             Field("description", COLUMN_FIELDS[1][1], "text"),
             Field("language", COLUMN_FIELDS[2][1], "choice", LANGUAGES)]
    found += [_field(f.name, f.metadata.get("doc", ""), SETTING_HINTS[f.name])
              for f in dataclasses.fields(ListSettings)]
    return tuple(found)


def as_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def current_values(mailing_list: MailingList) -> dict[str, str]:
    settings = ListSettings.of(mailing_list)
    values = {name: as_text(getattr(mailing_list, name)) for name, _ in COLUMN_FIELDS}
    values.update({f.name: as_text(getattr(settings, f.name))
                   for f in dataclasses.fields(ListSettings)})
    return values


def typed(key: str, text: str) -> Any:
    return parse_setting(key, text)


def errors_of(submitted: dict[str, str]) -> dict[str, str]:
    """Each wrong value's message, by setting name (the same checks as `listd list set`)."""
    errors = {}
    for key, text in submitted.items():
        try:
            parse_setting(key, text)
        except SettingError as error:
            errors[key] = str(error)
    return errors
