"""`emstrack db upgrade|current|refresh-answers`: the database schema, and the read model's kept
public answers and item pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from emstrack.cli import _common
from emstrack.lookup import Tracker
from emstrack.lookup.bodies import PublicBodies, forget_all, remake
from emstrack.store import pages
from emstrack.store.answers import kept_count, stale_count
from emstrack.store.engine import current_revision, make_engine, upgrade
from emstrack.store.partitions import upgrade_partitioned
from emstrack.web import keptpages

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
    """Make again the public answers and item pages the read model keeps, where another
    release or other settings made them (or none were made): run after an upgrade, with the
    servers' settings. Lookups and pages are right meanwhile, only slower; the items and their
    versions are not touched. With EMSTRACK_KEEP_PUBLIC_ANSWERS=false, remove the answers
    instead; with EMSTRACK_KEEP_ITEM_PAGES=off, the pages. With EMSTRACK_KEEP_ITEM_PAGES=viewed
    (the default), only the pages kept already are made again."""
    settings = _common.settings()
    keep = settings.keep_public_answers
    keep_pages = settings.keep_item_pages != "off"
    # `viewed`: the pages of the items viewed, those kept already; `all`: every found item's.
    viewed = settings.keep_item_pages == "viewed"
    with _common.database(settings) as db, _common.one_line():
        render = PublicBodies(settings)
        page_render = keptpages.PageRender(Tracker(db, settings))
        with db.read() as conn:
            todo = stale_count(conn, render.stamp) if keep else kept_count(conn)
            pages_todo = (
                pages.stale_count(conn, page_render.stamp, kept_only=viewed)
                if keep_pages
                else pages.kept_count(conn)
            )
        if not todo:
            _common.out.print(
                "Every kept answer is current." if keep else "No public answers are kept."
            )
        else:
            with _progress("Kept answers" if keep else "Removing kept answers", todo, quiet) as on:
                done = remake(db, render, on) if keep else forget_all(db, on)
            what = "number" if done == 1 else "numbers"
            if keep:
                _common.out.print(f"Made the public answers of {done:,} {what} again.")
            else:
                _common.out.print(f"Removed the kept public answers of {done:,} {what}.")
        if not pages_todo:
            _common.out.print("Every kept page is current." if keep_pages else "No pages are kept.")
            return
        label = "Kept pages" if keep_pages else "Removing kept pages"
        step = (
            partial(keptpages.remake, db, page_render, kept_only=viewed)
            if keep_pages
            else partial(keptpages.forget_all, db)
        )
        with _progress(label, pages_todo, quiet) as on:
            done = step(on)
    what = "number" if done == 1 else "numbers"
    if keep_pages:
        _common.out.print(f"Made the item pages of {done:,} {what} again.")
    else:
        _common.out.print(f"Removed the kept item pages of {done:,} {what}.")


@contextmanager
def _progress(label: str, total: int, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar of `total` steps on stderr (none when `quiet`), and what advances it."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_common.err,
        transient=True,
        disable=quiet,
    ) as progress:
        task = progress.add_task(label, total=total)

        def advance(count: int) -> None:
            progress.update(task, completed=count)

        yield advance
