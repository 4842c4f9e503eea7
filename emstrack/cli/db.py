"""`emstrack db upgrade|current`: the database schema."""

from __future__ import annotations

from typing import Annotated

import typer

from emstrack.cli import _common
from emstrack.store.engine import current_revision, make_engine, upgrade

app = typer.Typer(help="Database schema: upgrade, show the revision.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations."""
    engine = make_engine(_common.settings().database_url)
    try:
        with _common.one_line():
            upgrade(engine, revision)
            _common.out.print(f"Database at revision {current_revision(engine)}.")
    finally:
        engine.dispose()


@app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    engine = make_engine(_common.settings().database_url)
    try:
        with _common.one_line():
            _common.out.print(current_revision(engine) or "empty (no revision)")
    finally:
        engine.dispose()
