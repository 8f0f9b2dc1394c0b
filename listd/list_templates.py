"""List templates: named sets of policies (newsletter, discussion, …) a new list starts from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from listd.errors import UserError
from listd.i18n import N_
from listd.settings import SettingError, parse_setting


class TemplateError(UserError):
    """A template that does not exist or does not hold valid settings."""


@dataclass(frozen=True)
class ListTemplate:
    name: str
    description: str
    settings: dict[str, Any]


def available_templates(directory: Path) -> list[str]:
    return sorted(p.stem for p in directory.glob("*.yaml"))


def load_template(directory: Path, name: str) -> ListTemplate:
    path = directory / f"{name}.yaml"
    if not name.replace("-", "").replace("_", "").isalnum() or not path.is_file():
        known = ", ".join(available_templates(directory)) or "none"
        raise TemplateError(N_("unknown list template {name} (available: {known})"),
                            name=repr(name), known=known)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise TemplateError(f"{path}: not valid YAML: {exc}") from None
    raw_settings = data.get("settings") or {}
    if not isinstance(raw_settings, dict):
        raise TemplateError(f"{path}: 'settings' must be a mapping")
    try:
        settings = {key: parse_setting(key, value) for key, value in raw_settings.items()}
    except SettingError as exc:
        raise TemplateError(f"{path}: {exc}") from None
    return ListTemplate(name=name, description=str(data.get("description", "")),
                        settings=settings)
