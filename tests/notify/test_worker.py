"""The outbox worker end to end: events recorded through the real ingest path, notices delivered
to real servers on loopback (a webhook receiver that checks signatures, an SMTP server), on SQLite
and PostgreSQL. The chat bots' senders are tested with theirs, in tests/channels."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from factories import Loader, history
from hookreceiver import Receiver, receiving
from mailserver import Mailbox, parts, smtp_server

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.domain.lang import Lang
from emstrack.notify import messages, subscriptions, tokens
from emstrack.notify.mail import Mail
from emstrack.notify.senders import EmailSender, Result, Sender, WebhookSender
from emstrack.notify.worker import Summary, Worker, backoff, event_instant, shown
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxRow, OutboxState, notices, retry
from emstrack.store.subscriptions import SubscriptionState

NUMBER = "EE123456785CN"
PUBLIC = "https://track.example.org"


def number(serial: int) -> str:
    digits = f"{serial:08d}"
    return f"EE{digits}{s10.check_digit(digits)}CN"


def ago(hours: float) -> str:
    """An event time `hours` before now, with its offset, as a source would write it."""
    return (datetime.now(UTC) - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M+00:00")


def scans(num: str, *steps: tuple[str, float]) -> list[dict[str, str]]:
    """Events for `num` from (code, hours ago) steps, all at one Berlin office."""
    return history(num, *((code, ago(hours), "DEBERB", "DE") for code, hours in steps))


@pytest.fixture
def notify_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "secret_key": "test-secret-key-0123456789",
            "notify_allow_private_urls": True,
            "public_url": PUBLIC,
            "notify_quiet_hours": "",
            "notify_retry_seconds": 30,
            "notify_max_attempts": 4,
        }
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def hook(db: Database, s: Settings, receiver: Receiver, num: str, path: str = "/hook") -> str:
    """Subscribe the receiver's `path` to `num`; the subscription's id."""
    created = subscriptions.subscribe(
        db, s, number=num, channel="webhook", target=receiver.url(path)
    )
    assert created.secret is not None
    receiver.secrets[path] = created.secret
    return created.row.id


_workers: list[Worker] = []


@pytest.fixture(autouse=True)
def _close_workers() -> Iterator[None]:
    yield
    while _workers:
        _workers.pop().close()


def worker(db: Database, s: Settings, **options: Any) -> Worker:
    """A worker closed at the end of the test. rand 0.5: the jitter factor is then exactly 1;
    a clock that stands still: time is what each round is told it is. So waits are exact."""
    frozen = datetime.now(UTC)
    w = Worker(db, s, rand=lambda: 0.5, clock=lambda: frozen, **options)
    _workers.append(w)
    return w


def drain(w: Worker, now: datetime | None = None) -> Summary:
    """Run rounds until one finds nothing due; the rounds' totals."""
    total = Summary()
    while (done := w.run_once(now)).total:
        total = Summary(*(a + b for a, b in zip(_fields(total), _fields(done), strict=True)))
    return total


def _fields(s: Summary) -> tuple[int, ...]:
    return (s.sent, s.retried, s.dead, s.suppressed, s.deferred)


def queued(db: Database, state: str | None = None) -> list[OutboxRow]:
    with db.read() as conn:
        return notices(conn, state=state)


# --- webhooks --------------------------------------------------------------------------------


def test_one_signed_notice_per_change_of_status_not_per_scan(
    db: Database, notify_settings: Settings, load: Loader, receiver: Receiver
) -> None:
    sub_id = hook(db, notify_settings, receiver, NUMBER)
    load(*scans(NUMBER, ("EMA", 30)))
    load(*scans(NUMBER, ("EMB", 20)))
    load(*scans(NUMBER, ("EMC", 10)))  # still in transit: no notice

    assert drain(worker(db, notify_settings)) == Summary(sent=2)

    assert all(hit.verified for hit in receiver.hits)
    first, second = receiver.bodies()
    assert [first["status"], second["status"]] == ["accepted", "in_transit"]
    assert second["previous_status"] == "accepted"
    assert second["status_label"] == "In transit"
    assert second["type"] == "status_changed"
    assert second["number"] == NUMBER
    assert second["event"]["code"] == "EMB"
    assert second["event"]["label"] == "Arrived at outward office of exchange"
    assert second["event"]["utc_offset_min"] == 0
    assert second["page_url"] == f"{PUBLIC}/track/{NUMBER}"
    token = parse_qs(urlsplit(second["unsubscribe_url"]).query)["token"][0]
    # The unsubscribe link works without logging in: its token names the subscription.
    ended = subscriptions.unsubscribe(db, notify_settings, token)
    assert (ended.id, ended.ended_reason) == (sub_id, "unsubscribed")
    assert [hit.event_id for hit in receiver.hits] == [first["id"], second["id"]]
    assert {row.id for row in queued(db, OutboxState.SENT)} == {first["id"], second["id"]}


def test_delivery_sends_one_final_notice_and_ends_the_subscription(
    db: Database, notify_settings: Settings, load: Loader, receiver: Receiver
) -> None:
    sub_id = hook(db, notify_settings, receiver, NUMBER)
    load(*scans(NUMBER, ("EDG", 5), ("EMI", 2)))
    load(*scans(NUMBER, ("EMH", 1)))  # a stray scan after delivery: nothing more is said

    assert drain(worker(db, notify_settings)) == Summary(sent=1)

    (body,) = receiver.bodies()
    assert (body["status"], body["status_label"]) == ("delivered", "Delivered")
    row = subscriptions.by_id(db, sub_id)
    assert row is not None
    assert (row.state, row.ended_reason) == (SubscriptionState.ENDED, "delivered")


def test_old_news_is_suppressed_with_a_reason(
    db: Database, notify_settings: Settings, load: Loader, receiver: Receiver
) -> None:
    hook(db, notify_settings, receiver, NUMBER)
    load(*scans(NUMBER, ("EMA", 24 * 10)))  # a backlog import of a ten-day-old scan

    assert drain(worker(db, notify_settings)) == Summary(suppressed=1)

    (row,) = queued(db)
    assert row.state == OutboxState.SUPPRESSED
    assert row.last_error is not None
    assert row.last_error.startswith("old news: event of ")
    assert receiver.hits == []


def test_a_notice_for_an_unsubscribed_recipient_is_suppressed(
    db: Database, notify_settings: Settings, load: Loader, receiver: Receiver
) -> None:
    sub_id = hook(db, notify_settings, receiver, NUMBER)
    load(*scans(NUMBER, ("EMA", 3)))
    subscriptions.end(db, NUMBER, sub_id, "unsubscribed")

    assert drain(worker(db, notify_settings)) == Summary(suppressed=1)
    assert receiver.hits == []


def test_failures_are_retried_with_exponential_back_off_then_delivered(
    db: Database, notify_settings: Settings, load: Loader, receiver: Receiver
) -> None:
    hook(db, notify_settings, receiver, NUMBER)
    load(*scans(NUMBER, ("EMA", 3)))
    receiver.fail = 2
    w = worker(db, notify_settings)
    now = datetime.now(UTC)

    assert w.run_once(now) == Summary(retried=1)
    (row,) = queued(db)
    assert (row.state, row.attempts) == (OutboxState.PENDING, 1)
    assert row.next_attempt_at == now + timedelta(seconds=30)
    assert row.last_error is not None
    assert row.last_error.startswith("HTTP 500")
    assert w.run_once(now + timedelta(seconds=29)) == Summary()  # not due yet

    later = now + timedelta(seconds=30)
    assert w.run_once(later) == Summary(retried=1)
    (row,) = queued(db)
    assert row.next_attempt_at == later + timedelta(seconds=60)  # twice as long

    assert w.run_once(later + timedelta(seconds=60)) == Summary(sent=1)
    assert [hit.verified for hit in receiver.hits] == [True]
    assert queued(db)[0].attempts == 3


@pytest.mark.parametrize(
    ("attempts", "retry_after", "rand", "seconds"),
    [
        (1, None, 0.5, 30),
        (2, None, 0.5, 60),
        (4, None, 0.0, 240 * 0.75),
        (4, None, 1.0, 240 * 1.25),
        (30, None, 1.0, 6 * 3600),  # capped
        (1, 600.0, 0.5, 600),  # the far side asked for longer
        (3, 5.0, 0.5, 120),
    ],
)
def test_backoff(attempts: int, retry_after: float | None, rand: float, seconds: float) -> None:
    wait = backoff(attempts, 30, retry_after=retry_after, rand=lambda: rand)
    assert wait == timedelta(seconds=seconds)


def test_after_max_attempts_a_notice_is_dead_until_an_operator_retries_it(
    db: Database, notify_settings: Settings, load: Loader, receiver: Receiver
) -> None:
    hook(db, notify_settings, receiver, NUMBER)
    load(*scans(NUMBER, ("EMA", 3)))
    receiver.fail = 100
    w = worker(db, notify_settings)
    now = datetime.now(UTC)
    outcomes = [w.run_once(now + timedelta(hours=7 * i)) for i in range(5)]

    assert outcomes == [Summary(retried=1)] * 3 + [Summary(dead=1), Summary()]
    with db.read() as conn:
        (dead,) = notices(conn, state=OutboxState.DEAD)
    assert dead.attempts == notify_settings.notify_max_attempts
    assert dead.last_error is not None
    assert "HTTP 500" in dead.last_error

    receiver.fail = 0
    with db.write() as conn:
        assert retry(conn, None, now) == 1
    assert w.run_once(now + timedelta(days=2)) == Summary(sent=1)
    assert len(receiver.ids()) == 1


def test_a_failure_that_cannot_pass_is_dead_at_once(
    db: Database, notify_settings: Settings, load: Loader, receiver: Receiver
) -> None:
    hook(db, notify_settings, receiver, NUMBER)
    load(*scans(NUMBER, ("EMA", 3)))
    receiver.fail, receiver.fail_status = 1, 410

    assert worker(db, notify_settings).run_once() == Summary(dead=1)
    assert queued(db)[0].last_error == "HTTP 410:"


def test_concurrent_workers_never_deliver_a_notice_twice(
    db: Database, notify_settings: Settings, load: Loader, receiver: Receiver
) -> None:
    numbers = [number(n) for n in range(1, 25)]
    for num in numbers:
        hook(db, notify_settings, receiver, num, path=f"/hook/{num}")
    load(*(event for num in numbers for event in scans(num, ("EMA", 5))))
    load(*(event for num in numbers for event in scans(num, ("EMB", 4))))
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with Worker(db, notify_settings, owner=name, batch=3) as w:
                drain(w)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert errors == []
    counts = receiver.ids()
    assert len(counts) == 2 * len(numbers)
    assert set(counts.values()) == {1}
    assert all(hit.verified for hit in receiver.hits)
    assert {row.state for row in queued(db)} == {OutboxState.SENT}


# --- quiet hours -----------------------------------------------------------------------------


class Outbox:
    """A MailBackend that keeps what it is given."""

    def __init__(self) -> None:
        self.mails: list[Mail] = []

    def send(self, mail: Mail) -> None:
        self.mails.append(mail)


def test_quiet_hours_hold_email_but_not_webhooks(
    request: pytest.FixtureRequest,
    db: Database,
    notify_settings: Settings,
    load: Loader,
    receiver: Receiver,
) -> None:
    s = notify_settings.model_copy(update={"notify_quiet_hours": "22:00-07:00"})
    hook(db, s, receiver, NUMBER)
    mail_sub = subscriptions.subscribe(
        db, s, number=NUMBER, channel="email", target="ann@example.com",
        timezone="Asia/Shanghai",
    )  # fmt: skip
    backend = Outbox()
    senders: dict[str, Sender] = {"webhook": WebhookSender(s), "email": EmailSender(s, backend)}
    w = worker(db, s, senders=senders)
    request.addfinalizer(senders["webhook"].close)
    shanghai = ZoneInfo("Asia/Shanghai")
    night = (datetime.now(shanghai) + timedelta(days=1)).replace(
        hour=3, minute=0, second=0, microsecond=0
    )

    # The confirmation mail answers what someone just did: it is never held.
    assert drain(w, night) == Summary(sent=1)
    assert [m.subject for m in backend.mails] == [f"Confirm e-mails about {NUMBER}"]
    subscriptions.confirm(db, s, _token(subscriptions.links(s, mail_sub.row)["confirm"]))
    load(*scans(NUMBER, ("EMA", 3)))

    assert drain(w, night) == Summary(sent=1, deferred=1)
    assert len(receiver.hits) == 1
    (held,) = queued(db, OutboxState.PENDING)
    assert (held.channel, held.attempts) == ("email", 0)
    assert held.next_attempt_at == night.replace(hour=7).astimezone(UTC)
    assert held.last_error is not None
    assert "quiet hours" in held.last_error

    assert drain(w, night.replace(hour=6, minute=59)) == Summary()
    assert drain(w, night.replace(hour=7)) == Summary(sent=1)
    assert backend.mails[-1].subject == f"{NUMBER}: Posted"


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


# --- e-mail through SMTP ---------------------------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with smtp_server() as server:
        yield server


def test_confirmation_and_status_mails_reach_an_smtp_server_in_the_recipients_language(
    db: Database, notify_settings: Settings, load: Loader, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    s = notify_settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
    )
    created = subscriptions.subscribe(
        db, s, number=NUMBER, channel="email", target="li@example.cn", lang="zh-CN"
    )
    load(*scans(NUMBER, ("EMA", 3)))  # not confirmed yet: nothing but the confirmation
    w = worker(db, s)

    assert drain(w) == Summary(sent=1)
    (confirm,) = mailbox.messages
    assert confirm["To"] == "li@example.cn"
    assert confirm["Content-Language"] == "zh"
    assert confirm.get_content_type() == "multipart/alternative"
    text = parts(confirm)["text/plain"]
    assert "请确认" in text
    assert "未经确认" in text
    confirm_url = next(line for line in text.splitlines() if "/subscriptions/confirm?" in line)
    subscriptions.confirm(db, s, _token(confirm_url.strip()))

    load(*scans(NUMBER, ("EMI", 1)))
    assert drain(w, datetime.now(UTC)) == Summary(sent=1)
    status = mailbox.messages[1]
    assert str(status["Subject"]) == f"{NUMBER}：已妥投"
    shown = parts(status)
    assert "已妥投" in shown["text/plain"]
    assert "已妥投" in shown["text/html"]
    assert f"{PUBLIC}/track/{NUMBER}" in shown["text/html"]
    header = status["List-Unsubscribe"]
    assert header.startswith(f"<{PUBLIC}/subscriptions/unsubscribe?token=")
    token = _token(header.strip("<>"))
    assert tokens.read(s.secret_key.get_secret_value(), tokens.UNSUBSCRIBE, token) == (
        NUMBER,
        created.row.id,
    )
    assert status["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


# --- rendering and logging, without servers --------------------------------------------------


def _row(**changes: Any) -> OutboxRow:
    row = OutboxRow(
        id="evt_1", number=NUMBER, subscription_id="sub1", channel="email",
        target="ann@example.com", kind="status",
        payload={
            "number": NUMBER, "status": "delivered", "status_detail": None,
            "previous_status": "out_for_delivery",
            "event": {
                "code": "EMI", "local_time": "2026-11-20T14:05:00", "utc_offset_min": 60,
                "office_code": "FR75001", "office_name": "Paris <Louvre> & Co", "country": "FR",
            },
        },
        state="pending", attempts=1, next_attempt_at=datetime(2026, 11, 20, tzinfo=UTC),
        lease_owner=None, lease_until=None, last_error=None,
        created_at=datetime(2026, 11, 20, 13, 10, tzinfo=UTC), sent_at=None,
    )  # fmt: skip
    return replace(row, **changes)


def test_the_html_mail_escapes_what_sources_wrote(notify_settings: Settings) -> None:
    mail = messages.mail(_row(), notify_settings, "en")
    assert "Paris &lt;Louvre&gt; &amp; Co" in mail.html
    assert "Paris <Louvre> & Co" in mail.text
    assert "&amp;" not in mail.text
    assert mail.subject == f"{NUMBER}: Delivered"


def test_chat_text_reads_as_one_line_then_the_links(notify_settings: Settings) -> None:
    text = messages.chat_text(_row(), notify_settings, "en")
    assert text.splitlines() == [
        f"{NUMBER}: Delivered — Paris <Louvre> & Co, FR, 2026-11-20 14:05 (local)",
        f"{PUBLIC}/track/{NUMBER}",
        f"Unsubscribe: send 'unsubscribe {NUMBER}'",
    ]
    assert messages.chat_text(_row(), notify_settings, "zh").startswith(f"{NUMBER}：已妥投 — ")


@pytest.mark.parametrize(
    ("status", "lang", "subject", "last"),
    [
        ("returning", "en", f"{NUMBER}: Being returned to sender", None),
        ("returning", "zh", f"{NUMBER}：退回中", None),
        ("returned", "en", f"{NUMBER}: Returned to sender",
         "The item is back with its sender: this is the last e-mail about it."),
        ("returned", "zh", f"{NUMBER}：已退回寄件人",
         "邮件已退回寄件人，这是关于该邮件的最后一封通知。"),
        ("delivered", "en", f"{NUMBER}: Delivered",
         "The item has been delivered: this is the last e-mail about it."),
    ],
)  # fmt: skip
def test_a_return_is_worded_and_the_sender_having_it_back_closes(
    notify_settings: Settings, status: str, lang: Lang, subject: str, last: str | None
) -> None:
    row = _row(payload={**_row().payload, "status": status})
    mail = messages.mail(row, notify_settings, lang)
    assert mail.subject == subject
    assert ("last e-mail" in mail.text or "最后一封" in mail.text) is (last is not None)
    if last:
        assert last in mail.text
        assert last in mail.html


def test_event_instant_uses_the_offset_or_else_takes_local_time_as_utc() -> None:
    event: dict[str, object] = {"local_time": "2026-11-20T14:05:00", "utc_offset_min": 60}
    assert event_instant(event) == datetime(2026, 11, 20, 13, 5, tzinfo=UTC)
    assert event_instant({**event, "utc_offset_min": None}) == datetime(
        2026, 11, 20, 14, 5, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("channel", "target", "expected"),
    [
        ("email", "ann.smith@example.com", "a***@example.com"),
        (
            "webhook",
            "https://user:pw@hooks.example.org/p/SECRET?k=1",
            "https://hooks.example.org/…",
        ),
        ("telegram", "123456789", "***6789"),
    ],
)
def test_logs_show_targets_without_their_secrets(channel: str, target: str, expected: str) -> None:
    assert shown(channel, target) == expected


def test_a_sender_that_raises_is_retried_not_fatal(
    db: Database, notify_settings: Settings, load: Loader
) -> None:
    class Broken:
        def send(self, row: OutboxRow, *, lang: str = "en") -> Result:
            raise RuntimeError("bug")

        def close(self) -> None:
            pass

    hook_url = "http://127.0.0.1:9/never"
    subscriptions.subscribe(db, notify_settings, number=NUMBER, channel="webhook", target=hook_url)
    load(*scans(NUMBER, ("EMA", 1)))
    assert worker(db, notify_settings, senders={"webhook": Broken()}).run_once() == Summary(
        retried=1
    )
    assert queued(db)[0].last_error == "RuntimeError in the webhook sender"
