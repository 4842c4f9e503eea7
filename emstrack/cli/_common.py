"""What the commands share: the consoles, the settings, the database, one way to fail."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from emstrack.config import Settings, get_settings
from emstrack.errors import EmstrackError
from emstrack.lookup.bodies import install
from emstrack.store.database import Database
from emstrack.store.errors import mapped

out = Console()
err = Console(stderr=True)


def settings() -> Settings:
    """The settings from the environment, or a clear exit (status 2)."""
    try:
        return get_settings()
    except ValueError as exc:
        fail(f"Bad configuration: {exc}", 2)


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what is wrong on one line of stderr and exit with `code`."""
    # soft_wrap: one line even when stderr is a file (rich would break it at 80 columns).
    err.print(f"[red]{escape(message)}[/red]", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def one_line() -> Iterator[None]:
    """Our errors, a database that cannot serve us included, as one line and exit status 1."""
    try:
        with mapped():
            yield
    except EmstrackError as exc:
        fail(str(exc))


@contextmanager
def database(settings: Settings) -> Iterator[Database]:
    """The database with a current schema (or a clear exit), closed when the command ends."""
    with one_line():
        db = Database.open(settings)
        # Its writers keep the public answers the lookup sends (`lookup.bodies`).
        install(db, settings)
        try:
            yield db
        finally:
            db.close()
