"""`emstrack import`: scan events from CSV and JSON Lines files, with a progress bar."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from emstrack.cli import _common
from emstrack.config import Settings
from emstrack.errors import DatabaseError, EmstrackError
from emstrack.ingest import profiles
from emstrack.ingest.files import import_file
from emstrack.store.database import Database

#: Exit status of `emstrack import` when every file was read but some rows were rejected.
EXIT_SOME_REJECTED = 3


def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV or JSON Lines files (.gz too).")],
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Events per transaction.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    profile: Annotated[
        str,
        typer.Option(
            help="Source profile: a built-in name (see `emstrack sources list`) or a .toml file."
        ),
    ] = profiles.DEFAULT,
) -> None:
    """Import scan events from files: nothing lost, nothing stored twice.

    Rejected rows go to NAME.rejects.csv / .jsonl next to each input. Exit status: 0 when all
    rows were imported, 3 when some were rejected, 1 when a file could not be read at all or
    the database could not take the events (the import stops there; run it again later).
    """
    try:
        chosen = profiles.load(profile)
    except EmstrackError as exc:
        _common.fail(str(exc))
    settings = _common.settings()
    if batch_size:
        settings = settings.model_copy(update={"import_batch_size": batch_size})
    with _common.database(settings) as db:
        failed, rejected = _import_files(db, files, settings, quiet, chosen)
    if failed:
        raise typer.Exit(1)
    if rejected:
        _common.err.print(
            "Some rows were rejected: see the rejects file for each line and its reason."
        )
        raise typer.Exit(EXIT_SOME_REJECTED)


def _advance(progress: Progress, task: TaskID, done: int) -> None:
    progress.update(task, completed=done)


def _import_files(
    db: Database, files: list[Path], settings: Settings, quiet: bool, profile: profiles.Profile
) -> tuple[bool, bool]:
    failed = rejected = False
    table = Table("file", "read", "new", "duplicate", "rejected", "rejects file")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=_common.err,
        disable=quiet,
        transient=True,
    )
    with progress:
        for path in files:
            size = path.stat().st_size if path.is_file() else None
            task = progress.add_task(path.name, total=size)
            try:
                summary = import_file(
                    db,
                    path,
                    settings,
                    on_progress=partial(_advance, progress, task),
                    profile=profile,
                )
            except DatabaseError:
                raise  # the next file would fail the same way: stop here, with one line
            except EmstrackError as exc:
                failed = True
                _common.err.print(f"[red]{exc}[/red]")
                continue
            finally:
                progress.remove_task(task)
            rejected = rejected or summary.rejected > 0
            table.add_row(
                path.name,
                f"{summary.read:,}",
                f"{summary.new:,}",
                f"{summary.duplicate:,}",
                f"{summary.rejected:,}",
                str(summary.rejects_path or "—"),
            )
    _common.out.print(table)
    return failed, rejected
