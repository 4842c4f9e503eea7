"""`emstrack keys create|list|revoke`: operators' API keys."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from emstrack import keys
from emstrack.cli import _common
from emstrack.errors import EmstrackError

app = typer.Typer(help="Operators' API keys: create, list, revoke.", no_args_is_help=True)


@app.command("create")
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
    try:
        key_scope = keys.KeyScope(scope)
    except ValueError:
        _common.err.print(
            f"[red]Unknown scope {scope!r}:[/red] use ingest, read_private, webhooks or admin."
        )
        raise typer.Exit(2) from None
    with _common.database(_common.settings()) as db:
        try:
            made = keys.create(db, name, key_scope)
        except EmstrackError as exc:
            _common.err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    _common.err.print(
        f"Key {made.row.id} ({made.row.prefix}…) for {made.row.name!r}, scope {made.row.scope}. "
        "Copy it now: it cannot be shown again."
    )
    # Alone on stdout, so that scripts can capture it.
    sys.stdout.write(made.key + "\n")


@app.command("list")
def keys_list() -> None:
    """List the API keys (never the keys themselves)."""
    with _common.database(_common.settings()) as db:
        rows = keys.list_keys(db)
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
    _common.out.print(table if rows else "No API keys yet: make one with `emstrack keys create`.")


@app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id, or its prefix (8+ characters).")],
) -> None:
    """Revoke an API key: it stops working at once."""
    with _common.database(_common.settings()) as db:
        try:
            row = keys.revoke(db, key)
        except EmstrackError as exc:
            _common.err.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    _common.out.print(f"Key {row.id} ({row.prefix}…, {row.name!r}) is revoked.")
