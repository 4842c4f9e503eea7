"""Subscriptions and the outbox: notices are written with the events that cause them, once per
change of status, and claimed by one worker at a time — on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from factories import DELIVERED_TO_DE, Loader, history

from emstrack.config import Settings
from emstrack.errors import InputError, NotConfigured
from emstrack.notify import subscriptions, tokens
from emstrack.store import outbox
from emstrack.store.channel_seen import first_sighting, forget_seen
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxState
from emstrack.store.subscriptions import (
    SubscriptionState,
    current_status,
    end_subscription,
    subscription,
)

NUMBER = "EE123456785CN"
SECRET = "s" * 40


@pytest.fixture
def notify_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "secret_key": SECRET,
            "notify_allow_private_urls": True,
            "public_url": "https://track.example",
        }
    )


def _notices(db: Database, state: str | None = None) -> list[outbox.OutboxRow]:
    with db.read() as conn:
        return sorted(outbox.notices(conn, state=state, limit=1000), key=lambda r: r.created_at)


def _subscribe(
    db: Database, settings: Settings, channel: str = "webhook", target: str = ""
) -> subscriptions.Created:
    target = target or {"webhook": "http://127.0.0.1:9/hook", "email": "ana@example.com"}.get(
        channel, "1111"
    )
    return subscriptions.subscribe(db, settings, number=NUMBER, channel=channel, target=target)


# --- subscribing -----------------------------------------------------------------------------


def test_a_webhook_subscription_is_active_with_a_secret_shown_once(
    db: Database, notify_settings: Settings
) -> None:
    first = _subscribe(db, notify_settings)
    assert first.created
    assert first.row.state == SubscriptionState.ACTIVE
    assert first.secret == tokens.webhook_secret(SECRET, first.row.id)
    again = _subscribe(db, notify_settings)
    assert not again.created
    assert again.row.id == first.row.id
    assert again.secret is None


def test_an_email_subscription_waits_for_its_confirmation_link(
    db: Database, notify_settings: Settings
) -> None:
    made = subscriptions.subscribe(
        db,
        notify_settings,
        number="ee 123 456 785 cn",
        channel="email",
        target="Ana@Example.COM",
    )
    assert made.row.number == NUMBER
    assert made.row.target == "Ana@example.com"
    assert made.row.state == SubscriptionState.PENDING
    [confirm] = _notices(db)
    assert confirm.kind == "confirm"
    assert confirm.payload["confirm"].startswith(
        "https://track.example/subscriptions/confirm?token="
    )
    token = confirm.payload["confirm"].split("token=")[1]
    row = subscriptions.confirm(db, notify_settings, token)
    assert row.state == SubscriptionState.ACTIVE
    assert subscriptions.confirm(db, notify_settings, token).state == SubscriptionState.ACTIVE
    # The unsubscribe link works without logging in, and again.
    unsub = confirm.payload["unsubscribe"].split("token=")[1]
    assert subscriptions.unsubscribe(db, notify_settings, unsub).state == SubscriptionState.ENDED
    assert subscriptions.unsubscribe(db, notify_settings, unsub).ended_reason == "unsubscribed"


@pytest.mark.parametrize(
    ("channel", "target", "code"),
    [
        ("webhook", "ftp://example.com/hook", "bad_url"),
        ("webhook", "https://user:pw@example.com/hook", "bad_url"),
        ("email", "not-an-address", "bad_email"),
        ("email", "ana@example.com\r\nBcc: eve@example.com", "bad_email"),
        ("telegram", "abc", "bad_chat"),
        ("wechat", "o user", "bad_chat"),
        ("pigeon", "x", "bad_channel"),
    ],
)
def test_bad_targets_are_refused_with_a_reason(
    db: Database, notify_settings: Settings, channel: str, target: str, code: str
) -> None:
    with pytest.raises(InputError) as caught:
        subscriptions.subscribe(db, notify_settings, number=NUMBER, channel=channel, target=target)
    assert caught.value.code == code


def test_private_webhook_addresses_are_refused_unless_allowed(
    db: Database, notify_settings: Settings
) -> None:
    strict = notify_settings.model_copy(update={"notify_allow_private_urls": False})
    with pytest.raises(InputError, match=r"private|loopback|public"):
        _subscribe(db, strict, target="http://127.0.0.1:8080/hook")


def test_an_invalid_number_is_refused(db: Database, notify_settings: Settings) -> None:
    with pytest.raises(InputError) as caught:
        subscriptions.subscribe(
            db, notify_settings, number="EE123456789CN", channel="telegram", target="1"
        )
    assert caught.value.code == "invalid_number"


def test_without_a_secret_key_subscriptions_are_unavailable(
    db: Database, settings: Settings
) -> None:
    with pytest.raises(NotConfigured) as caught:
        _subscribe(db, settings)
    assert caught.value.code == "subscriptions_unavailable"


def test_forged_wrong_purpose_and_expired_tokens_are_refused(notify_settings: Settings) -> None:
    good = tokens.make(SECRET, tokens.CONFIRM, NUMBER, "abc", now=1_000_000)
    assert tokens.read(SECRET, tokens.CONFIRM, good, now=1_000_001) == (NUMBER, "abc")
    forged = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    for token, code in [
        (forged, "bad_token"),
        ("nonsense", "bad_token"),
        (tokens.make("other" * 10, tokens.CONFIRM, NUMBER, "abc"), "bad_token"),
    ]:
        with pytest.raises(tokens.TokenError) as caught:
            tokens.read(SECRET, tokens.CONFIRM, token)
        assert caught.value.code == code
    with pytest.raises(tokens.TokenError):
        tokens.read(SECRET, tokens.UNSUBSCRIBE, good)  # a confirm link cannot unsubscribe
    with pytest.raises(tokens.TokenError) as caught:
        tokens.read(SECRET, tokens.CONFIRM, good, max_age=60, now=1_000_061)
    assert caught.value.code == "expired_token"


# --- the writer queues notices with the events -----------------------------------------------


def test_one_notice_per_change_of_status_not_per_scan(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    made = _subscribe(db, notify_settings)
    steps = DELIVERED_TO_DE
    load(*history(NUMBER, *steps[:1]))  # posted
    load(*history(NUMBER, *steps[1:3]))  # two scans, both "in transit"
    load(*history(NUMBER, *steps[1:3]))  # the same scans again: nothing new
    statuses = [n.payload["status"] for n in _notices(db)]
    assert statuses == ["accepted", "in_transit"]
    first = _notices(db)[0]
    assert first.id.startswith("evt_")
    assert first.subscription_id == made.row.id
    assert first.payload["previous_status"] is None
    assert first.payload["event"]["code"] == "EMA"
    assert "signatory" not in first.payload["event"]


def test_delivery_sends_a_last_notice_and_ends_the_subscription(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    made = _subscribe(db, notify_settings)
    load(*history(NUMBER, *DELIVERED_TO_DE))  # the whole history in one batch
    [last] = _notices(db)
    assert last.payload["status"] == "delivered"
    with db.read() as conn:
        row = subscription(conn, NUMBER, made.row.id)
    assert row is not None
    assert (row.state, row.ended_reason) == (SubscriptionState.ENDED, "delivered")
    load(*history(NUMBER, ("EMH", "2026-11-08T10:00", "DEBERB", "DE")))
    assert len(_notices(db)) == 1


#: After `DELIVERED_TO_DE[:9]` (out for delivery in Berlin): refused, and back to Beijing.
_RETURNED_TO_CN = (
    ("EMH", "2026-11-07T11:45", "DEBERB", "DE"),  # "Refused by addressee", "Returned to sender"
    ("EMB", "2026-11-09T10:00", "DEFRAA", "DE"),
    ("EMC", "2026-11-10T22:00", "DEFRAA", "DE"),
    ("EMD", "2026-11-12T07:00", "CNBJSD", "CN"),
    ("EMI", "2026-11-14T15:00", "CNBJSD", "CN"),
)


def test_a_return_is_told_once_and_the_sender_having_it_back_is_the_last_notice(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    made = _subscribe(db, notify_settings)
    load(*history(NUMBER, *DELIVERED_TO_DE[:9]))
    back = history(NUMBER, *_RETURNED_TO_CN)
    back[0].update(reason_text="Refused by addressee", action_text="Returned to sender")
    for record in back[:4]:  # the refusal, then three scans on the way back: one notice
        load(record)
    told = [n.payload["status"] for n in _notices(db)]
    assert told[-1] == "returning"
    assert told.count("returning") == 1
    load(back[4])
    assert [n.payload["status"] for n in _notices(db)][-1] == "returned"
    with db.read() as conn:
        row = subscription(conn, NUMBER, made.row.id)
    assert row is not None
    assert (row.state, row.ended_reason) == (SubscriptionState.ENDED, "returned")


def test_subscribing_after_the_first_scans_notifies_only_later_changes(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE[:2]))
    made = _subscribe(db, notify_settings)
    assert made.row.last_status == "in_transit"
    load(*history(NUMBER, *DELIVERED_TO_DE[2:3]))  # still in transit
    assert _notices(db) == []
    load(*history(NUMBER, *DELIVERED_TO_DE[3:5]))  # import customs
    assert [n.payload["status"] for n in _notices(db)] == ["customs_import"]


def test_an_unsubscribed_or_pending_subscription_gets_no_notice(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    hook = _subscribe(db, notify_settings)
    subscriptions.end(db, NUMBER, hook.row.id, "unsubscribed")
    subscriptions.subscribe(
        db, notify_settings, number=NUMBER, channel="email", target="ana@example.com"
    )
    load(*history(NUMBER, *DELIVERED_TO_DE[:1]))
    assert [n.kind for n in _notices(db)] == ["confirm"]


def test_events_and_their_notices_are_stored_together_or_not_at_all(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    _subscribe(db, notify_settings)
    # The outbox cannot be written (renamed away): the events must not be stored either.
    with db.write() as conn:
        conn.execute(text("ALTER TABLE outbox RENAME TO outbox_away"))
    try:
        with pytest.raises(DBAPIError):
            load(*history(NUMBER, *DELIVERED_TO_DE[:2]))
    finally:
        with db.write() as conn:
            conn.execute(text("ALTER TABLE outbox_away RENAME TO outbox"))
    with db.read() as conn:
        assert current_status(conn, NUMBER) is None
    load(*history(NUMBER, *DELIVERED_TO_DE[:2]))  # sent again: stored, with its notices
    assert [n.payload["status"] for n in _notices(db)] == ["in_transit"]


def test_a_chat_user_unsubscribes_from_one_number_or_all(
    db: Database, notify_settings: Settings
) -> None:
    _subscribe(db, notify_settings, "telegram", "42")
    subscriptions.subscribe(
        db, notify_settings, number="EE000000005CN", channel="telegram", target="42"
    )
    assert subscriptions.unsubscribe_target(db, "telegram", "42", NUMBER) == [NUMBER]
    assert subscriptions.unsubscribe_target(db, "telegram", "42") == ["EE000000005CN"]
    assert subscriptions.unsubscribe_target(db, "telegram", "42") == []


# --- claiming ----------------------------------------------------------------------------------


def _claim(db: Database, owner: str, now: datetime, lease: int = 60) -> list[outbox.OutboxRow]:
    with db.write() as conn:
        return outbox.claim(conn, owner, now, timedelta(seconds=lease), limit=10)


def test_a_claimed_notice_is_not_claimed_again_until_its_lease_runs_out(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    _subscribe(db, notify_settings)
    load(*history(NUMBER, *DELIVERED_TO_DE[:1]))
    now = datetime.now(UTC) + timedelta(seconds=1)
    [mine] = _claim(db, "a", now)
    assert mine.attempts == 1
    assert _claim(db, "b", now + timedelta(seconds=59)) == []
    [again] = _claim(db, "b", now + timedelta(seconds=61))  # "a" died: "b" takes over
    assert (again.id, again.attempts) == (mine.id, 2)
    with db.write() as conn:
        # "a" comes back late: its outcome no longer counts.
        assert not outbox.finish(conn, mine.id, "a", state=OutboxState.SENT, now=now)
        assert outbox.finish(conn, mine.id, "b", state=OutboxState.SENT, now=now)
    assert [n.state for n in _notices(db)] == [OutboxState.SENT]
    assert _claim(db, "c", now + timedelta(hours=1)) == []


def test_dead_notices_are_retried_on_request(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    _subscribe(db, notify_settings)
    load(*history(NUMBER, *DELIVERED_TO_DE[:1]))
    now = datetime.now(UTC) + timedelta(seconds=1)
    [notice] = _claim(db, "a", now)
    with db.write() as conn:
        outbox.finish(conn, notice.id, "a", state=OutboxState.DEAD, now=now, error="HTTP 410")
        assert outbox.count_by_state(conn) == {OutboxState.DEAD: 1}
        assert outbox.retry(conn, [notice.id], now) == 1
        assert outbox.retry(conn, None, now) == 0
    [back] = _claim(db, "b", now)
    assert (back.attempts, back.last_error) == (1, "HTTP 410")


def test_a_redelivered_chat_message_is_seen_once(db: Database) -> None:
    now = datetime.now(UTC)
    with db.write() as conn:
        assert first_sighting(conn, "wechat", "msg:1", now)
        assert not first_sighting(conn, "wechat", "msg:1", now)
        assert first_sighting(conn, "telegram", "msg:1", now)
        assert forget_seen(conn, now + timedelta(seconds=1)) == 2
        assert first_sighting(conn, "wechat", "msg:1", now)


# --- two writers at once (PostgreSQL: SQLite lets one writer in at a time) -----------------


def _wait_until_blocked(db: Database) -> None:
    """Until some transaction waits for a row lock (the interleaving the test needs)."""
    from sqlalchemy import text

    deadline = time.monotonic() + 10
    with db.engine.connect() as probe:
        while time.monotonic() < deadline:
            waiting = probe.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted"))
            if waiting.scalar_one():
                return
            probe.rollback()
            time.sleep(0.02)
    raise AssertionError("the second writer never waited for the first")


def _change(status: str) -> outbox.StatusChange:
    return outbox.StatusChange(NUMBER, 1, None, status, None, None)


def _enqueue_in_thread(db: Database, status: str) -> tuple[threading.Thread, list[int]]:
    written: list[int] = []

    def run() -> None:
        with db.write() as conn:
            written.append(
                outbox.enqueue_status_changes(conn, [_change(status)], datetime.now(UTC))
            )

    thread = threading.Thread(target=run)
    thread.start()
    return thread, written


def test_two_writers_of_one_change_queue_one_notice(
    db: Database, notify_settings: Settings
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no such race there")
    _subscribe(db, notify_settings)
    with db.write() as first:
        assert outbox.enqueue_status_changes(first, [_change("in_transit")], datetime.now(UTC)) == 1
        thread, written = _enqueue_in_thread(db, "in_transit")  # read the same last_status
        _wait_until_blocked(db)
    thread.join(10)
    assert written == [0]
    assert len(_notices(db)) == 1


def test_an_unsubscribe_during_a_write_is_not_undone(
    db: Database, notify_settings: Settings
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no such race there")
    made = _subscribe(db, notify_settings)
    with db.write() as leaving:
        end_subscription(leaving, NUMBER, made.row.id, "unsubscribed", datetime.now(UTC))
        thread, written = _enqueue_in_thread(db, "delivered")  # still sees it active
        _wait_until_blocked(db)
    thread.join(10)
    assert written == [0]
    with db.read() as conn:
        row = subscription(conn, NUMBER, made.row.id)
    assert row is not None
    assert (row.state, row.ended_reason) == (SubscriptionState.ENDED, "unsubscribed")
    assert _notices(db) == []


# --- limits against abuse ----------------------------------------------------------------------


def _confirmations(db: Database, address: str) -> int:
    return sum(1 for n in _notices(db) if n.kind == "confirm" and n.target == address)


def test_confirmation_mails_to_one_address_are_throttled(
    db: Database, notify_settings: Settings
) -> None:
    # A stranger asks for many items, from many places: the inbox gets a few mails, not a flood.
    numbers = ("EE123456785CN", "EE000000005CN", "RR473124829GB", "CP123456785DE")
    start = datetime.now(UTC)
    for number in numbers:
        subscriptions.subscribe(
            db, notify_settings, number=number, channel="email", target="ann@example.com",
            now=start,
        )  # fmt: skip
    assert _confirmations(db, "ann@example.com") == subscriptions.CONFIRMATIONS_PER_HOUR
    later = start + timedelta(hours=2)
    subscriptions.subscribe(
        db, notify_settings, number=NUMBER, channel="email", target="ann@example.com",
        now=later,
    )  # fmt: skip
    # Asking again for a pending one sends its link again (the first may have been lost).
    assert _confirmations(db, "ann@example.com") == subscriptions.CONFIRMATIONS_PER_HOUR + 1


def test_an_unconfirmed_subscription_expires_with_its_link(
    db: Database, notify_settings: Settings
) -> None:
    start = datetime.now(UTC)
    first = subscriptions.subscribe(
        db, notify_settings, number=NUMBER, channel="email", target="ann@example.com",
        now=start,
    )  # fmt: skip
    later = start + timedelta(seconds=tokens.CONFIRM_MAX_AGE + 60)
    again = subscriptions.subscribe(
        db, notify_settings, number=NUMBER, channel="email", target="ann@example.com",
        now=later,
    )  # fmt: skip
    assert again.created
    assert again.row.id != first.row.id
    with db.read() as conn:
        old = subscription(conn, NUMBER, first.row.id)
    assert old is not None
    assert (old.state, old.ended_reason) == (SubscriptionState.ENDED, "unconfirmed")


def test_another_key_never_gets_someone_elses_subscription(
    db: Database, notify_settings: Settings
) -> None:
    mine = subscriptions.subscribe(
        db, notify_settings, number=NUMBER, channel="webhook",
        target="http://127.0.0.1:9/hook", key_id=1,
    )  # fmt: skip
    theirs = subscriptions.subscribe(
        db, notify_settings, number=NUMBER, channel="webhook",
        target="http://127.0.0.1:9/hook", key_id=2,
    )  # fmt: skip
    assert theirs.created
    assert theirs.row.id != mine.row.id
    assert theirs.unsubscribe_url != mine.unsubscribe_url


def test_a_late_scan_of_an_earlier_item_of_a_reused_number_tells_nothing(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    load(*history(NUMBER, ("EMA", "2024-05-02T09:12", "CNBJSD", "CN")))  # the first item
    load(*history(NUMBER, ("EMA", "2026-11-02T09:12", "CNBJSD", "CN")))  # reused: the second
    made = _subscribe(db, notify_settings)
    assert made.row.last_status == "accepted"
    load(*history(NUMBER, ("EMI", "2024-05-12T09:12", "DEBERB", "DE")))  # the first, delivered
    assert _notices(db) == []
    with db.read() as conn:
        row = subscription(conn, NUMBER, made.row.id)
    assert row is not None
    assert (row.state, row.last_status) == (SubscriptionState.ACTIVE, "accepted")


def test_a_worker_tidies_old_sent_notices_and_seen_messages_but_keeps_dead_ones(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    from emstrack.notify.worker import Worker

    _subscribe(db, notify_settings)
    load(*history(NUMBER, *DELIVERED_TO_DE[:1]))
    load(*history(NUMBER, *DELIVERED_TO_DE[1:2]))
    now = datetime.now(UTC) + timedelta(seconds=1)
    sent, dead = _claim(db, "a", now)
    with db.write() as conn:
        outbox.finish(conn, sent.id, "a", state=OutboxState.SENT, now=now)
        outbox.finish(conn, dead.id, "a", state=OutboxState.DEAD, now=now, error="HTTP 410")
        first_sighting(conn, "telegram", "update:1", now)
    with Worker(db, notify_settings, senders={}) as worker:
        assert worker.tidy(now + timedelta(days=3)) == 0
        assert worker.tidy(now + timedelta(days=31)) == 2  # the message id, the sent notice
    assert [n.id for n in _notices(db)] == [dead.id]
