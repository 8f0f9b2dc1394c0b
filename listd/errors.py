"""Errors a user or admin can fix: each carries the one clear line that is shown to them.

An error that can reach a person by mail (a command's refusal quotes it) is raised with its
English text marked for the catalog (`i18n.N_`) and its placeholders' values, so the reply
reads it in the list's language: `error.in_language(language)`. `str(error)` is the English,
for the CLI and the logs.
"""

from __future__ import annotations

from listd.i18n import Term, fill, translate


class UserError(Exception):
    """Shown as it is (CLI error line, reply mail); never with a traceback."""

    def __init__(self, message: str = "", /, *, detail: str = "", **values: object) -> None:
        self.message = message
        self.values = values
        # Words from elsewhere (a library's diagnosis) that have no translation: English only.
        self.detail = detail
        english = fill(message, {k: str(v) for k, v in values.items()})
        super().__init__(f"{english}: {detail}" if detail else english)

    def in_language(self, language: str) -> str:
        if not self.values and not self.detail:
            return translate(language, self.message) if self.message else str(self)
        words = {k: translate(language, v) if isinstance(v, Term) else v
                 for k, v in self.values.items()}
        text = translate(language, self.message, **words)
        return f"{text}: {self.detail}" if self.detail and language == "en" else text


class NotFound(UserError):
    pass


class AlreadyExists(UserError):
    pass


class DatabaseError(UserError):
    """The database cannot be used as configured; the message says why."""
