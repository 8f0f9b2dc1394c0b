"""Errors a user or admin can fix: each carries the one clear line that is shown to them."""


class UserError(Exception):
    """Shown as it is (CLI error line, reply mail); never with a traceback."""


class NotFound(UserError):
    pass


class AlreadyExists(UserError):
    pass


class DatabaseError(UserError):
    """The database cannot be used as configured; the message says why."""
