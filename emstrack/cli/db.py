"""`emstrack db upgrade|current`: the database schema."""

from __future__ import annotations

from typing import Annotated

import typer

from emstrack.cli import _common
from emstrack.store.engine import current_revision, make_engine, upgrade
from emstrack.store.partitions import upgrade_partitioned

app = typer.Typer(help="Database schema: upgrade, show the revision.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    partitions: Annotated[
        int | None,
        typer.Option(
            help="PostgreSQL: on a new, empty database, hash-partition the tables keyed by "
            "tracking number into N partitions each (docs/scale.md).",
            min=0,
        ),
    ] = None,
) -> None:
    """Apply the database migrations."""
    engine = make_engine(_common.settings().database_url)
    try:
        with _common.one_line():
            if partitions is not None:
                if revision != "head":
                    _common.fail("--partitions lays out the schema at head; leave out REVISION.")
                _common.out.print(upgrade_partitioned(engine, partitions))
            else:
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
