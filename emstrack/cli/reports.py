"""`emstrack reports`: what recurs among the messages people reported from the scam checker, and
`emstrack reports export`, the messages themselves."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from emstrack.cli import _common
from emstrack.scamcheck import recurring, reports

app = typer.Typer(help="Messages reported from the scam checker.")

_AGO = re.compile(r"(\d{1,5})\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TITLES = {
    "domains": ("Domains linked or sending", "domain"),
    "phones": ("Phone numbers", "number"),
    "tracking_numbers": ("Tracking numbers quoted", "number"),
    "phrases": ("Phrases", "phrase"),
}


def since_time(value: str, now: datetime | None = None) -> datetime:
    """`7d`, `12h`, `30m`, `2w` before `now`, or a date (`2026-11-01`, midnight UTC) or an ISO
    time (UTC when it gives no offset). ValueError for anything else."""
    now = now or datetime.now(UTC)
    value = value.strip()
    if ago := _AGO.fullmatch(value.lower()):
        return now - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
    when = datetime.fromisoformat(value)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@app.callback(invoke_without_command=True)
def reports_summary(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(
            help="Only reports since then: 7d, 12h, 2w, or a date (2026-11-01) or time, UTC."
        ),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Rows shown of each table.")] = 15,
    min_reports: Annotated[
        int, typer.Option(min=1, help="Shown when seen in at least this many reports.")
    ] = 2,
    as_json: Annotated[bool, typer.Option("--json", help="Print it as JSON.")] = False,
) -> None:
    """Without a command: the domains, phone numbers, tracking numbers and phrases that recur
    among the reports, each with how many reports, first and last seen and an example."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        start = since_time(since) if since is not None else None
    except ValueError:
        _common.fail(f"--since {since!r}: give 7d, 12h, 30m, 2w, or a date such as 2026-11-01.", 2)
    settings = _common.settings()
    with _common.database(settings) as db, _common.one_line():
        summary = reports.recurring_summary(
            db,
            since=start,
            min_reports=min_reports,
            official_domains=settings.official_domain_list,
        ).top(top)
    if as_json:
        since_text = start.isoformat(timespec="seconds") if start else None
        document = {"since": since_text, **summary.to_dict()}
        sys.stdout.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return
    _print(summary, start)


def _print(summary: recurring.Summary, since: datetime | None) -> None:
    when = f" since {_time(since)}" if since else ""
    if not summary.reports:
        _common.out.print(f"No reports{when}.")
        return
    plural = "" if summary.reports == 1 else "s"
    _common.out.print(
        f"{summary.reports} report{plural}{when}; shown: what recurs in at least "
        f"{summary.min_reports} of them."
    )
    for kind, items in summary.kinds().items():
        title, name = _TITLES[kind]
        if not items:
            _common.out.print(f"{title}: none recurs.")
            continue
        # The value is what an operator will quote in a warning: folded, never cut to "…".
        table = Table(title=title, caption="dates in UTC; --json gives the times")
        widest = max(len(item.value) for item in items)
        table.add_column(name, overflow="fold", min_width=min(widest, 40))
        table.add_column("reports", justify="right", no_wrap=True)
        table.add_column("first seen", overflow="fold")
        table.add_column("last seen", overflow="fold")
        table.add_column("example", overflow="fold")
        officials = any(item.official for item in items)
        if officials:
            table.add_column("official domain of")
        for item in items:
            # Text, never markup: the values come from what strangers reported.
            row: list[Text | str] = [
                Text(item.value),
                str(item.reports),
                _cell_time(item.first_seen),
                _cell_time(item.last_seen),
                f"#{item.example}",
            ]
            if officials:
                row.append(Text(item.official or ""))
            table.add_row(*row)
        _common.out.print(table)


def _time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _cell_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d")


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
