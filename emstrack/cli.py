"""The `emstrack` command: track, import, serve, worker, outbox, telegram, keys, reports, db,
demo."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.markup import escape
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

from emstrack.config import Settings, get_settings
from emstrack.errors import DatabaseError, EmstrackError
from emstrack.store import queries
from emstrack.store.engine import current_revision, ensure_schema, make_engine, upgrade
from emstrack.store.errors import mapped

if TYPE_CHECKING:
    from sqlalchemy import Engine

app = typer.Typer(
    help="Track & trace for EMS and every UPU S10 postal item.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema: upgrade, show the revision.", no_args_is_help=True)
app.add_typer(db_app, name="db")
keys_app = typer.Typer(help="Operators' API keys: create, list, revoke.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
reports_app = typer.Typer(help="Messages reported from the scam checker.", no_args_is_help=True)
app.add_typer(reports_app, name="reports")

out = Console()
err = Console(stderr=True)

#: Exit status of `emstrack import` when every file was read but some rows were rejected.
EXIT_SOME_REJECTED = 3


def _settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:
        err.print(f"[red]Bad configuration:[/red] {exc}")
        raise typer.Exit(2) from exc


@contextmanager
def _one_line() -> Iterator[None]:
    """Our errors, a database that cannot serve us included, as one line and exit status 1."""
    try:
        with mapped():
            yield
    except EmstrackError as exc:
        # soft_wrap: one line even when stderr is a file (rich would break it at 80 columns).
        err.print(f"[red]{escape(str(exc))}[/red]", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc


@contextmanager
def _database(settings: Settings) -> Iterator[Engine]:
    """The database with a current schema (or a clear exit), closed when the command ends."""
    engine = make_engine(settings.database_url)
    try:
        with _one_line():
            ensure_schema(engine, auto_migrate=settings.auto_migrate)
            yield engine
    finally:
        engine.dispose()


@app.command()
def track(
    numbers: Annotated[list[str], typer.Argument(help="Tracking numbers, in any spelling.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
    domestic: Annotated[
        bool | None,
        typer.Option("--domestic/--international", help="Expect domestic or S10 numbers."),
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of labels: en or zh.")] = "en",
) -> None:
    """Show where items are: status and history, newest first."""
    from emstrack.domain.s10 import Scope
    from emstrack.lookup import Tracker

    settings = _settings()
    scope = Scope.ANY if domestic is None else Scope.DOMESTIC if domestic else Scope.INTERNATIONAL
    with _database(settings) as engine:
        results = Tracker(engine, settings).lookup_many(numbers, scope)
    if as_json:
        docs = [r.to_dict(lang, stored_places=True) for r in results]
        payload = docs[0] if len(docs) == 1 else docs
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        from emstrack.clirender import render_result

        for result in results:
            render_result(out, result, lang)
    if any(r.outcome == "invalid" for r in results):
        raise typer.Exit(1)


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV or JSON Lines files (.gz too).")],
    batch_size: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Events per transaction.")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Import scan events from files: nothing lost, nothing stored twice.

    Rejected rows go to NAME.rejects.csv / .jsonl next to each input. Exit status: 0 when all
    rows were imported, 3 when some were rejected, 1 when a file could not be read at all or
    the database could not take the events (the import stops there; run it again later).
    """
    settings = _settings()
    if batch_size:
        settings = settings.model_copy(update={"import_batch_size": batch_size})
    with _database(settings) as engine:
        failed, rejected = _import_files(engine, files, settings, quiet)
    if failed:
        raise typer.Exit(1)
    if rejected:
        err.print("Some rows were rejected: see the rejects file for each line and its reason.")
        raise typer.Exit(EXIT_SOME_REJECTED)


def _advance(progress: Progress, task: TaskID, done: int) -> None:
    progress.update(task, completed=done)


def _import_files(
    engine: Engine, files: list[Path], settings: Settings, quiet: bool
) -> tuple[bool, bool]:
    from emstrack.ingest.files import import_file

    failed = rejected = False
    table = Table("file", "read", "new", "duplicate", "rejected", "rejects file")
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err,
        disable=quiet,
        transient=True,
    )
    with progress:
        for path in files:
            size = path.stat().st_size if path.is_file() else None
            task = progress.add_task(path.name, total=size)
            try:
                summary = import_file(
                    engine,
                    path,
                    settings,
                    on_progress=partial(_advance, progress, task),
                )
            except DatabaseError:
                raise  # the next file would fail the same way: stop here, with one line
            except EmstrackError as exc:
                failed = True
                err.print(f"[red]{exc}[/red]")
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
    out.print(table)
    return failed, rejected


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker", help="Also deliver notifications (one worker thread beside the server)."
        ),
    ] = False,
) -> None:
    """Start the web server (API and pages)."""
    from emstrack.web import server

    settings = _settings()
    with _database(settings) as engine, engine.connect() as conn:
        examples = [
            number
            for status in ("in_transit", "customs_import", "delivery_failed", "delivered")
            for number in queries.sample_numbers(conn, status)
        ]
    base = f"http://{host}:{port}"
    out.print(f"emstrack on [bold]{base}[/bold]  (API: {base}/openapi.json)")
    if examples:
        out.print("Try: " + "  ".join(f"{base}/track/{n}" for n in examples[:2]))
        out.print(f"     {base}/api/v1/tracking/{examples[0]}")
        out.print("     emstrack track " + " ".join(examples))
    if worker:
        from emstrack.cli_notify import start_worker_thread

        start_worker_thread(settings)
        out.print("Delivering notifications in this process (emstrack worker does it alone).")
    server.run(host, port, workers, settings)


@app.command()
def demo(
    items: Annotated[int, typer.Option(min=1, help="How many items to create.")] = 5000,
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same data.")] = 1,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing if the database has items.")
    ] = False,
) -> None:
    """Fill the database with realistic synthetic tracking histories."""
    from emstrack.demo import load_demo

    settings = _settings()
    with _database(settings) as engine:
        with engine.connect() as conn:
            existing = queries.count_items(conn)
        if if_empty and existing:
            out.print(f"The database already has {existing:,} items; no demo data added.")
            return
        with Progress(console=err, transient=True) as progress:
            task = progress.add_task("Writing demo items", total=items)
            summary = load_demo(
                engine,
                items=items,
                seed=seed,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    out.print(f"Demo data: {summary.items:,} items, {summary.events:,} events.")
    table = Table("scenario", "tracking number")
    for scenario, number in summary.examples.items():
        table.add_row(scenario, number)
    out.print(table)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Who or what uses the key, e.g. a feed's name.")],
    scope: Annotated[
        str,
        typer.Option(
            help="ingest (push events), read_private (see personal fields), webhooks (subscribe "
            "webhooks), admin."
        ),
    ],
) -> None:
    """Make an API key. It is shown once: only a hash of it is kept."""
    from emstrack import keys

    try:
        key_scope = keys.KeyScope(scope)
    except ValueError:
        err.print(
            f"[red]Unknown scope {scope!r}:[/red] use ingest, read_private, webhooks or admin."
        )
        raise typer.Exit(2) from None
    with _database(_settings()) as engine:
        try:
            made = keys.create(engine, name, key_scope)
        except EmstrackError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    err.print(
        f"Key {made.row.id} ({made.row.prefix}…) for {made.row.name!r}, scope {made.row.scope}. "
        "Copy it now: it cannot be shown again."
    )
    # Alone on stdout, so that scripts can capture it.
    sys.stdout.write(made.key + "\n")


@keys_app.command("list")
def keys_list() -> None:
    """List the API keys (never the keys themselves)."""
    from emstrack import keys

    with _database(_settings()) as engine:
        rows = keys.list_keys(engine)
    table = Table("id", "prefix", "name", "scope", "created", "last used", "revoked")
    for row in rows:
        table.add_row(
            str(row.id),
            row.prefix,
            row.name,
            row.scope,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "—",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "—",
        )
    out.print(table if rows else "No API keys yet: make one with `emstrack keys create`.")


@keys_app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id, or its prefix (8+ characters).")],
) -> None:
    """Revoke an API key: it stops working at once."""
    from emstrack import keys

    with _database(_settings()) as engine:
        try:
            row = keys.revoke(engine, key)
        except EmstrackError as exc:
            err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    out.print(f"Key {row.id} ({row.prefix}…, {row.name!r}) is revoked.")


@reports_app.command("export")
def reports_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV file to write (default: stdout).")
    ] = None,
) -> None:
    """Export the reported messages as CSV, safe to open in a spreadsheet."""
    from emstrack.scamcheck import reports

    with _database(_settings()) as engine:
        if output is None:
            count = reports.export(engine, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as f:
                count = reports.export(engine, f)
    where = f" to {output}" if output else ""
    err.print(f"Exported {count} report{'' if count == 1 else 's'}{where}.")


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations."""
    engine = make_engine(_settings().database_url)
    try:
        with _one_line():
            upgrade(engine, revision)
            out.print(f"Database at revision {current_revision(engine)}.")
    finally:
        engine.dispose()


@db_app.command("current")
def db_current() -> None:
    """Show the database's schema revision."""
    engine = make_engine(_settings().database_url)
    try:
        with _one_line():
            out.print(current_revision(engine) or "empty (no revision)")
    finally:
        engine.dispose()


def _install_notify_commands() -> None:
    from emstrack import cli_notify

    app.command()(cli_notify.worker)
    app.add_typer(cli_notify.outbox_app, name="outbox")
    app.add_typer(cli_notify.telegram_app, name="telegram")


_install_notify_commands()


def main() -> None:
    app()
