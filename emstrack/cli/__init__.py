"""The `emstrack` command: track, import, consume, serve, demo, worker, outbox, telegram, wechat,
webpush, keys, reports, sources, db. One module per command or group; what they share is in
`_common`."""

from __future__ import annotations

import typer

from emstrack.cli import (
    consume,
    db,
    demo,
    ingest,
    keys,
    notify,
    reports,
    serve,
    sources,
    track,
    webpush,
    wechat,
)
from emstrack.cli.ingest import EXIT_SOME_REJECTED

__all__ = ["EXIT_SOME_REJECTED", "app", "main"]

app = typer.Typer(
    help="Track & trace for EMS and every UPU S10 postal item.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(track.track)
app.command("import")(ingest.import_)
app.command()(consume.consume)
app.command()(serve.serve)
app.command()(demo.demo)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(reports.app, name="reports")
app.add_typer(sources.app, name="sources")
app.command()(notify.worker)
app.add_typer(notify.outbox_app, name="outbox")
app.add_typer(notify.telegram_app, name="telegram")
app.add_typer(wechat.app, name="wechat")
app.add_typer(webpush.app, name="webpush")


def main() -> None:
    app()
