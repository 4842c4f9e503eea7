"""`emstrack db upgrade|current|refresh-answers`: the database schema, and the read model's kept
public answers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from emstrack.cli import _common
from emstrack.lookup.bodies import PublicBodies, forget_all, remake
from emstrack.store.answers import kept_count, stale_count
from emstrack.store.engine import current_revision, make_engine, upgrade
from emstrack.store.partitions import upgrade_partitioned

app = typer.Typer(
    help="Database schema: upgrade, show the revision; remake the kept public answers.",
    no_args_is_help=True,
)


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


@app.command("refresh-answers")
def db_refresh_answers(
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Make again the public answers the read model keeps, where another release or other
    settings made them (or none were made): run after an upgrade. Lookups are right meanwhile,
    only slower; the items and their versions are not touched. With
    EMSTRACK_KEEP_PUBLIC_ANSWERS=false, remove the kept answers instead."""
    settings = _common.settings()
    keep = settings.keep_public_answers
    with _common.database(settings) as db, _common.one_line():
        render = PublicBodies(settings)
        with db.read() as conn:
            todo = stale_count(conn, render.stamp) if keep else kept_count(conn)
        if not todo:
            _common.out.print(
                "Every kept answer is current." if keep else "No public answers are kept."
            )
            return
        with Progress(
            TextColumn("Kept answers" if keep else "Removing kept answers"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=_common.err,
            transient=True,
            disable=quiet,
        ) as progress:
            task = progress.add_task("answers", total=todo)

            def advance(count: int) -> None:
                progress.update(task, completed=count)

            done = remake(db, render, advance) if keep else forget_all(db, advance)
    what = "number" if done == 1 else "numbers"
    if keep:
        _common.out.print(f"Made the public answers of {done:,} {what} again.")
    else:
        _common.out.print(f"Removed the kept public answers of {done:,} {what}.")
