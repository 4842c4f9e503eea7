"""`emstrack reports export`: the messages people reported from the scam checker."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from emstrack.cli import _common
from emstrack.scamcheck import reports

app = typer.Typer(help="Messages reported from the scam checker.", no_args_is_help=True)


@app.command("export")
def reports_export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV file to write (default: stdout).")
    ] = None,
) -> None:
    """Export the reported messages as CSV, safe to open in a spreadsheet."""
    with _common.database(_common.settings()) as db:
        if output is None:
            count = reports.export(db, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as f:
                count = reports.export(db, f)
    where = f" to {output}" if output else ""
    _common.err.print(f"Exported {count} report{'' if count == 1 else 's'}{where}.")
