"""The one Jinja2 environment of the web pages: autoescaping on, texts through listd.i18n.

`_` and `ngettext` are bound per page to the language the page is in, so a template says
`{{ _("Members of {list}", list=address) }}` and the catalog supplies the French. Values are
filled before escaping, so a subject or a name from a mail is escaped like any other text.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from listd.archive.text import obfuscate
from listd.i18n import translate, translate_plural

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def jinja_environment() -> Environment:
    environment = Environment(loader=FileSystemLoader(TEMPLATES),
                              autoescape=select_autoescape(default=True,
                                                           default_for_string=True),
                              trim_blocks=True, lstrip_blocks=True)
    # Addresses in archived mail are shown as "name at domain" (archive/text.py).
    environment.filters["obfuscate"] = lambda value: obfuscate(str(value))
    return environment


def render_page(name: str, language: str, **context: Any) -> str:
    def gettext(message: str, **values: object) -> str:
        return translate(language, message, **values)

    def ngettext(singular: str, plural: str, count: int, **values: object) -> str:
        return translate_plural(language, singular, plural, count, **values)

    template = jinja_environment().get_template(name)
    return template.render(_=gettext, ngettext=ngettext, language=language, **context)
