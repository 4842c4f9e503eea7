"""`emstrack demo`: realistic synthetic tracking histories."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from emstrack.cli import _common
from emstrack.demo import load_demo
from emstrack.demo.feeds import load_feeds
from emstrack.store.items import count_items


def demo(
    items: Annotated[int, typer.Option(min=1, help="How many items to create.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same data.")] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if the database has items.")
    ] = False,
) -> None:
    """Fill the database with realistic synthetic tracking histories."""
    settings = _common.settings()
    with _common.database(settings) as db:
        with db.read() as conn:
            existing = count_items(conn)
        if if_empty and existing:
            _common.out.print(f"The database already has {existing:,} items; no demo data added.")
            return
        with Progress(console=_common.err, transient=True) as progress:
            task = progress.add_task("Writing demo items", total=items)
            summary = load_demo(
                db,
                items=items,
                seed=seed,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        # A few items as operators print them, read through source profiles (docs/import.md).
        feeds = load_feeds(db)
    _common.out.print(f"Demo data: {summary.items:,} items, {summary.events:,} events.")
    table = Table("scenario", "tracking number")
    for scenario, number in {**summary.examples, **feeds.numbers}.items():
        table.add_row(scenario, number)
    _common.out.print(table)
