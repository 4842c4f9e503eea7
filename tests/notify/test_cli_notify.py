"""`emstrack worker --once`, `emstrack outbox list|retry`, `emstrack telegram poll`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from factories import Loader, history
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.config import Settings
from emstrack.notify import subscriptions
from emstrack.store import outbox
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxState

NUMBER = "EE123456785CN"


@pytest.fixture
def dead_notice(db: Database, settings: Settings, load: Loader) -> str:
    """A webhook notice that failed for good."""
    hooked = settings.model_copy(update={"secret_key": "k" * 40, "notify_allow_private_urls": True})
    subscriptions.subscribe(
        db, hooked, number=NUMBER, channel="webhook", target="http://127.0.0.1:9/hook"
    )
    recent = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M+00:00")
    load(*history(NUMBER, ("EMA", recent, "CNBJSD", "CN")))  # news, not a backlog
    now = datetime.now(UTC) + timedelta(seconds=1)
    with db.write() as conn:
        [notice] = outbox.claim(conn, "cli-test", now, timedelta(minutes=1), 10)
        outbox.finish(
            conn, notice.id, "cli-test", state=OutboxState.DEAD, now=now, error="HTTP 410"
        )
    return notice.id


def test_outbox_list_shows_dead_notices_with_their_error(
    runner: CliRunner, dead_notice: str
) -> None:
    result = runner.invoke(app, ["outbox", "list", "--state", "dead"])
    assert result.exit_code == 0, result.output
    assert dead_notice in result.stdout
    assert "HTTP 410" in result.stdout
    assert "dead: 1" in result.stdout


def test_outbox_retry_puts_a_dead_notice_back(
    runner: CliRunner, db: Database, dead_notice: str
) -> None:
    result = runner.invoke(app, ["outbox", "retry", dead_notice])
    assert result.exit_code == 0, result.output
    assert "1 notice queued again" in result.stdout
    with db.read() as conn:
        notice = outbox.notice(conn, dead_notice)
    assert notice is not None
    assert (notice.state, notice.attempts) == (OutboxState.PENDING, 0)


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["outbox", "list", "--state", "lost"], 2, "Unknown state 'lost'"),
        (["outbox", "retry"], 2, "Name the notices to retry"),
        (["outbox", "retry", "evt_unknown"], 1, "were not dead notices"),
        (["telegram", "poll"], 2, "EMSTRACK_TELEGRAM_BOT_TOKEN"),
    ],
)
def test_wrong_use_says_what_to_do(
    runner: CliRunner, db: Database, args: list[str], code: int, says: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code
    assert says in " ".join(result.stderr.split())


def test_worker_once_delivers_what_is_due_and_reports(
    runner: CliRunner, db: Database, dead_notice: str
) -> None:
    runner.invoke(app, ["outbox", "retry", "--all-dead"])
    # Nothing listens on port 9: the notice is tried, and waits for its next attempt.
    result = runner.invoke(
        app, ["worker", "--once"], env={"EMSTRACK_NOTIFY_ALLOW_PRIVATE_URLS": "true",
                                        "EMSTRACK_SECRET_KEY": "k" * 40},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Sent 0, retrying 1, dead 0" in result.stdout
    with db.read() as conn:
        notice = outbox.notice(conn, dead_notice)
    assert notice is not None
    assert (notice.state, notice.attempts) == (OutboxState.PENDING, 1)
    assert notice.last_error
