"""The notification commands of `emstrack`: worker, outbox list|retry, telegram poll."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from emstrack.cli._common import database, err, out
from emstrack.cli._common import settings as _settings
from emstrack.config import Settings
from emstrack.store import notify as store

outbox_app = typer.Typer(
    help="Notices waiting, sent or dead: list them, retry dead ones.", no_args_is_help=True
)
telegram_app = typer.Typer(
    help="The Telegram bot without a public HTTPS address.", no_args_is_help=True
)


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C or SIGTERM, so the loops finish their current notice and stop."""
    stop = threading.Event()

    def _handler(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)
    return stop


def start_worker_thread(settings: Settings) -> threading.Event:
    """A notification worker in a daemon thread of this process (`emstrack serve --worker`)."""
    from emstrack.notify.worker import Worker
    from emstrack.store.engine import make_engine

    stop = threading.Event()
    engine = make_engine(settings.database_url)
    worker = Worker(engine, settings)
    threading.Thread(target=worker.run, args=(stop,), name="emstrack-worker", daemon=True).start()
    return stop


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit (for cron).")
    ] = False,
) -> None:
    """Deliver notices from the outbox: webhooks, e-mail, WeChat and Telegram messages.

    Several workers may run at once, on one machine or many: each notice is claimed by one.
    """
    from emstrack.notify.worker import Worker

    settings = _settings()
    with database(settings) as db, Worker(db.engine, settings) as runner:
        if once:
            totals = dict.fromkeys(("sent", "retried", "dead", "suppressed", "deferred"), 0)
            while (summary := runner.run_once()).total:  # until nothing more is due
                for name in totals:
                    totals[name] += getattr(summary, name)
            out.print(
                f"Sent {totals['sent']}, retrying {totals['retried']}, dead {totals['dead']}, "
                f"suppressed {totals['suppressed']}, held for quiet hours {totals['deferred']}."
            )
            return
        out.print("Delivering notices; Ctrl-C to stop.")
        runner.run(_stop_on_signals())


@outbox_app.command("list")
def outbox_list(
    state: Annotated[
        str | None,
        typer.Option(help="pending, sent, dead or suppressed; all when not given."),
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many.")] = 50,
) -> None:
    """Notices, newest first, with their attempts and last error."""

    states = ("pending", "sent", "dead", "suppressed")
    if state is not None and state not in states:
        err.print(f"[red]Unknown state {state!r}:[/red] use {', '.join(states)}.")
        raise typer.Exit(2)
    settings = _settings()
    with database(settings) as db, db.read() as conn:
        rows = store.notices(conn, state=state, limit=limit)
        counts = store.count_by_state(conn)
    table = Table(
        "id", "number", "channel", "kind", "state", "attempts", "next attempt", "last error"
    )
    for row in rows:
        table.add_row(
            row.id,
            row.number,
            row.channel,
            row.kind,
            row.state,
            str(row.attempts),
            row.next_attempt_at.isoformat(timespec="seconds") if row.state == "pending" else "",
            row.last_error or "",
        )
    out.print(table)
    out.print(", ".join(f"{name}: {counts.get(name, 0)}" for name in states))


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[str] | None, typer.Argument(help="Ids of dead notices.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead notice.")] = False,
) -> None:
    """Put dead notices back in the queue, with their attempts reset."""
    if not ids and not all_dead:
        err.print(
            "[red]Name the notices to retry[/red] (ids from "
            "`emstrack outbox list --state dead`), or --all-dead."
        )
        raise typer.Exit(2)
    settings = _settings()
    with database(settings) as db, db.write() as conn:
        count = store.retry(conn, None if all_dead else list(ids or ()), datetime.now(UTC))
    out.print(f"{count} notice{'s' if count != 1 else ''} queued again.")
    if ids and count < len(ids):
        err.print("Some ids were not dead notices (unknown, pending or sent): they are unchanged.")
        if count == 0:
            raise typer.Exit(1)


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Answer the Telegram bot by long polling (no public HTTPS address needed).

    Removes the bot's webhook first: Telegram delivers either to a webhook or to polling.
    """
    from emstrack.channels.telegram_polling import run_polling

    settings = _settings()
    if not settings.telegram_bot_token.get_secret_value():
        err.print("[red]Set EMSTRACK_TELEGRAM_BOT_TOKEN[/red] (from @BotFather) first.")
        raise typer.Exit(2)
    with database(settings) as db:
        out.print("Polling Telegram for messages; Ctrl-C to stop.")
        run_polling(settings, db.engine, _stop_on_signals())
