"""`emstrack sources`: the source profiles, the texts they leave unmapped, and remapping them
(docs/import.md, "Profiles")."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from emstrack.cli import _common
from emstrack.domain.events import Event
from emstrack.errors import EmstrackError
from emstrack.ingest import profiles
from emstrack.ingest.writer import remap as remap_events
from emstrack.store.events import unmapped_numbers, unmapped_texts

app = typer.Typer(help="Source profiles: operators' own texts read as events.")

#: Numbers per transaction of `remap`: an interrupted run keeps what it finished.
_REMAP_CHUNK = 500


def _load(name: str) -> profiles.Profile:
    try:
        return profiles.load(name)
    except EmstrackError as exc:
        _common.fail(str(exc))


@app.command("list")
def list_() -> None:
    """The built-in profiles."""
    table = Table("name", "title", "rules")
    for name in profiles.builtin_names():
        profile = profiles.builtin(name)
        table.add_row(name, profile.title, str(len(profile.rules)))
    _common.out.print(table)


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="A built-in profile's name, or a .toml file.")],
) -> None:
    """Print a profile's TOML: a start for one of your own."""
    _common.out.print(escape(_load(name).text), end="", highlight=False, soft_wrap=True)


@app.command()
def unmapped(
    source: Annotated[str | None, typer.Option(help="Only events of this source.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one text a line.")] = False,
) -> None:
    """The distinct texts no rule mapped, with their counts, newest first."""
    with _common.database(_common.settings()) as db, db.read() as conn:
        found = unmapped_texts(conn, source)
    if as_json:
        for t in found:
            row: dict[str, Any] = {
                "profile": t.profile,
                "text": t.text,
                "count": t.count,
                "last_ingested_at": t.last_ingested_at,
            }
            typer.echo(orjson.dumps(row).decode())
        return
    table = Table("profile", "count", "last stored", "text")
    for t in found:
        when = t.last_ingested_at.isoformat(timespec="minutes") if t.last_ingested_at else ""
        table.add_row(t.profile, f"{t.count:,}", when, escape(t.text))
    _common.out.print(table)


@app.command()
def remap(
    profile: Annotated[
        str | None,
        typer.Option(help="Apply this profile (a name or a .toml file) to its events only."),
    ] = None,
) -> None:
    """Apply the current rules to stored unmapped events and settle their items' status again.

    Runs in chunks of items, each one transaction: stop it at any time and run it again.
    """
    chosen = _load(profile) if profile else None
    known: dict[str, profiles.Profile | None] = {}

    def change(event: Event) -> Event | None:
        if event.profile is None:
            return None
        if chosen is not None:
            return chosen.remap(event) if event.profile == chosen.name else None
        if event.profile not in known:
            try:
                known[event.profile] = profiles.builtin(event.profile)
            except EmstrackError:
                known[event.profile] = None  # a profile file: name it with --profile
        rules = known[event.profile]
        return rules.remap(event) if rules else None

    with _common.database(_common.settings()) as db:
        with db.read() as conn:
            numbers = unmapped_numbers(conn, chosen.name if chosen else None)
        events = items = 0
        with Progress(console=_common.err, transient=True) as progress:
            task = progress.add_task("Remapping items", total=len(numbers))
            for start in range(0, len(numbers), _REMAP_CHUNK):
                chunk = numbers[start : start + _REMAP_CHUNK]
                done = remap_events(db, chunk, change)
                events, items = events + done[0], items + done[1]
                progress.advance(task, len(chunk))
    _common.out.print(f"{events:,} events mapped; {items:,} items' status settled again.")
