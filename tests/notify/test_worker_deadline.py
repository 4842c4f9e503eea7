"""A webhook receiver that trickles its answer (one byte at a time, each read quick) holds its
delivery no longer than the deadline, and holds no other subscriber's notice: the worker cuts it
off, delivers the next notice, and tries the slow one again after its back-off."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from factories import Loader, history
from hookreceiver import receiving, trickling

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.notify import subscriptions
from emstrack.notify.worker import Summary, Worker
from emstrack.store import outbox
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxRow, OutboxState


def _number(serial: int) -> str:
    digits = f"{serial:08d}"
    return f"EE{digits}{s10.check_digit(digits)}CN"


SLOW, GOOD = _number(1), _number(2)


def _posted(number: str) -> list[dict[str, str]]:
    """A posting scan three hours ago: news, so a notice."""
    when = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M+00:00")
    return history(number, ("EMA", when, "DEBERB", "DE"))


def _notices(db: Database) -> list[OutboxRow]:
    with db.read() as conn:
        return outbox.notices(conn)


def test_a_trickling_receiver_is_cut_off_and_holds_no_other_subscribers_notice(
    db: Database, settings: Settings, load: Loader
) -> None:
    s = settings.model_copy(
        update={
            "secret_key": "test-secret-key-0123456789",
            "notify_allow_private_urls": True,
            "notify_quiet_hours": "",
            "notify_retry_seconds": 30,
            "notify_webhook_timeout_seconds": 0.5,
        }
    )
    # One byte every 0.05 s: each read is well within the 0.5 s, the whole answer takes 20 s.
    with trickling() as slow, receiving() as good:
        subscriptions.subscribe(db, s, number=SLOW, channel="webhook", target=slow.url("/in"))
        created = subscriptions.subscribe(
            db, s, number=GOOD, channel="webhook", target=good.url("/in")
        )
        assert created.secret is not None
        good.secrets["/in"] = created.secret
        load(*_posted(SLOW))
        load(*_posted(GOOD))
        first = min(_notices(db), key=lambda row: (row.next_attempt_at, row.id))
        assert first.number == SLOW  # the slow receiver's notice is the first in line

        now = datetime.now(UTC)
        with Worker(db, s, rand=lambda: 0.5, clock=lambda: now) as worker:
            done = worker.run_once()

        assert done == Summary(sent=1, retried=1)
        assert [(hit.body["number"], hit.verified) for hit in good.hits] == [(GOOD, True)]
        # Delivered while the slow receiver was still trickling: the sender let go of it in
        # the middle of its answer.
        assert slow.requests == 1
        assert slow.hung_up.wait(10)
        assert not slow.finished.is_set()

    (late,) = (row for row in _notices(db) if row.number == SLOW)
    assert (late.state, late.attempts) == (OutboxState.PENDING, 1)
    assert late.last_error == "timed out after 0.5 s"
    assert late.next_attempt_at == now + timedelta(seconds=30)  # the first back-off
