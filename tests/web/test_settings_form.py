"""The owners' settings form is generated from listd.settings: every setting is on it, with
its allowed values, a French description, and the same checks as `listd list set`."""

from __future__ import annotations

import dataclasses

from listd.i18n import translate
from listd.settings import ListSettings
from listd.web import settings_form


def test_every_setting_is_on_the_form_with_its_allowed_values() -> None:
    names = {f.name for f in settings_form.fields()}
    assert {f.name for f in dataclasses.fields(ListSettings)} <= names
    assert {"subject", "description", "language"} <= names
    by_name = {f.name: f for f in settings_form.fields()}
    assert by_name["subscription"].choices == ("open", "approval", "closed")
    assert by_name["emergency"].kind == "bool"
    assert by_name["max_recipients"].kind == "number"


def test_every_setting_description_has_a_french_translation() -> None:
    untranslated = [f.name for f in settings_form.fields()
                    if translate("fr", f.description) == f.description]
    assert untranslated == []


def test_wrong_values_get_the_messages_of_list_set() -> None:
    errors = settings_form.errors_of({"max_recipients": "many", "language": "de",
                                      "posting": "members", "emergency": "maybe"})
    assert errors == {"max_recipients": "max_recipients must be a whole number, not 'many'",
                      "language": "language must be one of en, fr, not 'de'",
                      "emergency": "emergency must be true or false, not 'maybe'"}
