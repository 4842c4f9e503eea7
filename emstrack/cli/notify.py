"""The notification commands of `emstrack`: worker, outbox list|retry, telegram poll.

Here the notify worker gets its senders: notify's own (webhook, e-mail) and the chat bots'.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from emstrack.channels.telegram.polling import run_polling
from emstrack.channels.telegram.sender import TelegramSender
from emstrack.channels.wechat.sender import WeChatSender
from emstrack.cli import _common
from emstrack.config import Settings
from emstrack.notify.senders import Sender, senders_for
from emstrack.notify.worker import Worker
from emstrack.store import outbox
from emstrack.store.database import Database
from emstrack.web import keptpages
from emstrack.web.ratelimit import Limiter

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


def senders(settings: Settings, db: Database | None = None) -> dict[str, Sender]:
    """A sender for every channel, configured from `settings` (web push needs `db`, where the
    browsers' keys are)."""
    return {
        **senders_for(settings, db),
        "wechat": WeChatSender(settings),
        "telegram": TelegramSender(settings),
    }


@contextmanager
def _senders(settings: Settings, db: Database) -> Iterator[dict[str, Sender]]:
    made = senders(settings, db)
    try:
        yield made
    finally:
        for sender in made.values():
            sender.close()


def start_worker_thread(settings: Settings) -> threading.Event:
    """A notification worker in a daemon thread of this process (`emstrack serve --worker`),
    on a database and senders of its own that last as long as the process."""
    stop = threading.Event()
    db = Database.open(settings)
    worker = Worker(db, settings, senders=senders(settings, db))
    threading.Thread(target=worker.run, args=(stop,), name="emstrack-worker", daemon=True).start()
    return stop


def worker(
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit (for cron).")
    ] = False,
) -> None:
    """Deliver notices from the outbox: webhooks, e-mail, WeChat and Telegram messages, web push;
    and make the item pages the read model keeps (`EMSTRACK_KEEP_ITEM_PAGES`).

    Several workers may run at once, on one machine or many: each notice is claimed by one.
    Run them with the web servers' settings: pages made with others are never sent.
    """
    settings = _common.settings()
    with (
        _common.database(settings) as db,
        _senders(settings, db) as channels,
        Worker(db, settings, senders=channels) as runner,
    ):
        keeper = keptpages.Keeper(db, settings) if settings.keep_item_pages != "off" else None
        if once:
            made = keeper.catch_up() if keeper is not None else 0
            totals = dict.fromkeys(("sent", "retried", "dead", "suppressed", "deferred"), 0)
            while (summary := runner.run_once()).total:  # until nothing more is due
                for name in totals:
                    totals[name] += getattr(summary, name)
            _common.out.print(
                f"Sent {totals['sent']}, retrying {totals['retried']}, dead {totals['dead']}, "
                f"suppressed {totals['suppressed']}, held for quiet hours {totals['deferred']}."
            )
            if keeper is not None:
                _common.out.print(f"Made the item pages of {made:,} numbers.")
            return
        stop = _stop_on_signals()
        if keeper is not None:
            pages = threading.Thread(target=keeper.run, args=(stop,), name="emstrack-pages")
            pages.start()
        _common.out.print("Delivering notices and making item pages; Ctrl-C to stop.")
        runner.run(stop)
        if keeper is not None:
            pages.join()


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
        _common.fail(f"Unknown state {state!r}: use {', '.join(states)}.", 2)
    settings = _common.settings()
    with _common.database(settings) as db, db.read() as unit:
        rows = outbox.notices(unit, state=state, limit=limit)
        counts = outbox.count_by_state(unit)
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
    _common.out.print(table)
    _common.out.print(", ".join(f"{name}: {counts.get(name, 0)}" for name in states))


@outbox_app.command("retry")
def outbox_retry(
    ids: Annotated[list[str] | None, typer.Argument(help="Ids of dead notices.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead notice.")] = False,
) -> None:
    """Put dead notices back in the queue, with their attempts reset."""
    if not ids and not all_dead:
        _common.fail(
            "Name the notices to retry (ids from `emstrack outbox list --state dead`), "
            "or --all-dead.",
            2,
        )
    settings = _common.settings()
    with _common.database(settings) as db, db.write() as unit:
        count = outbox.retry(unit, None if all_dead else list(ids or ()), datetime.now(UTC))
    _common.out.print(f"{count} notice{'s' if count != 1 else ''} queued again.")
    if ids and count < len(ids):
        _common.err.print(
            "Some ids were not dead notices (unknown, pending or sent): they are unchanged."
        )
        if count == 0:
            raise typer.Exit(1)


@telegram_app.command("poll")
def telegram_poll() -> None:
    """Answer the Telegram bot by long polling (no public HTTPS address needed).

    Removes the bot's webhook first: Telegram delivers either to a webhook or to polling.
    """
    settings = _common.settings()
    if not settings.telegram_bot_token.get_secret_value():
        _common.fail("Set EMSTRACK_TELEGRAM_BOT_TOKEN (from @BotFather) first.", 2)
    with _common.database(settings) as db:
        _common.out.print("Polling Telegram for messages; Ctrl-C to stop.")
        # The web server's limits: shared with it through Redis when EMSTRACK_REDIS_URL is set.
        limits = Limiter(settings.redis_url)
        run_polling(settings, db, _stop_on_signals(), limits=limits)
