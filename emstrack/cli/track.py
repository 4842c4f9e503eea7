"""`emstrack track`: where items are, for people or (`--json`) for scripts."""

from __future__ import annotations

import sys
from typing import Annotated

import orjson
import typer

from emstrack.cli import _common
from emstrack.cli.render import render_result


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
    from emstrack.domain.lang import lang_of
    from emstrack.domain.tracking_number import Scope
    from emstrack.lookup import Tracker

    language = lang_of(lang)
    settings = _common.settings()
    scope = Scope.ANY if domestic is None else Scope.DOMESTIC if domestic else Scope.INTERNATIONAL
    with _common.database(settings) as db:
        results = Tracker(db, settings).lookup_many(numbers, scope)
    if as_json:
        docs = [r.to_dict(language, stored_places=True) for r in results]
        payload = docs[0] if len(docs) == 1 else docs
        sys.stdout.write(orjson.dumps(payload, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for result in results:
            render_result(_common.out, result, language)
    if any(r.outcome == "invalid" for r in results):
        raise typer.Exit(1)
