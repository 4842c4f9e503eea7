"""`emstrack serve`: the web server (API, pages, bots), optionally with a notification worker
and the page keeper."""

from __future__ import annotations

from typing import Annotated

import typer

from emstrack.cli import _common
from emstrack.cli.notify import start_worker_thread
from emstrack.store.items import sample_numbers
from emstrack.web import keptpages, server


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    worker: Annotated[
        bool,
        typer.Option(
            "--worker",
            help="Also deliver notifications and make the kept item pages (worker threads "
            "beside the server).",
        ),
    ] = False,
) -> None:
    """Start the web server (API and pages)."""
    settings = _common.settings()
    with _common.database(settings) as db, db.read() as conn:
        examples = [
            number
            for status in ("in_transit", "customs_import", "delivery_failed", "delivered")
            for number in sample_numbers(conn, status)
        ]
    base = f"http://{host}:{port}"
    _common.out.print(f"emstrack on [bold]{base}[/bold]  (API: {base}/openapi.json)")
    if examples:
        _common.out.print("Try: " + "  ".join(f"{base}/track/{n}" for n in examples[:2]))
        _common.out.print(f"     {base}/api/v1/tracking/{examples[0]}")
        _common.out.print("     emstrack track " + " ".join(examples))
    if worker:
        start_worker_thread(settings)
        keptpages.start_keeper_thread(settings)
        _common.out.print(
            "Delivering notifications and making the kept item pages in this process "
            "(emstrack worker does it alone)."
        )
    server.run(host, port, workers, settings)
