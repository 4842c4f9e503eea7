"""The error tree of emstrack.

    EmstrackError            code + message (+ hint): rendered as problem+json, a page, a CLI line
    ├── InputError           the caller sent something we cannot use (a bad file, a bad field)
    └── DatabaseError        the database is unreachable, or its schema is not the one we need
        └── DatabaseUnavailable  it cannot serve us now (gone, locked, read-only, disk full)

Foreign exceptions (SQLAlchemy, the file system) are mapped onto these at the boundary where they
happen, so the layers above see only these.
"""

from __future__ import annotations


class EmstrackError(Exception):
    """Base of our errors: a stable `code`, a sentence for people, an optional hint."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InputError(EmstrackError):
    """The input cannot be used as it is."""


class DatabaseError(EmstrackError):
    """The database cannot serve us right now, or needs an operator's action first."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot serve us now: the message says why, the hint what an operator can do.

    Made from the driver's error by `emstrack.store.errors`; never carries the driver's text,
    which can hold the URL, paths, SQL or the statement's values.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__("database_unavailable", message, hint)
