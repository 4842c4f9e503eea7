"""Web push end to end: scans recorded through the real ingest path, the outbox worker (in this
process, and as processes killed and restarted), and a push service stand-in on loopback
(tests/notify/pushservice.py) that checks each VAPID signature and opens each payload with the
browser's keys, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import trustme
from crashing import LEASE_SECONDS, kill_then_restart
from factories import Loader, history
from pushservice import Browser, PushService, push_service, trusting
from test_worker import ago, number, scans

from emstrack.config import Settings
from emstrack.notify import webpush
from emstrack.notify.senders import WebPushSender, senders_for
from emstrack.notify.webhook import WebhookPoster
from emstrack.notify.worker import Summary, Worker
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxRow, OutboxState, notices
from emstrack.store.push import endpoint_row
from emstrack.store.subscriptions import subscriptions_of

NUMBER = "EE123456785CN"
SUBJECT = "mailto:ops@example.org"
KEYS = webpush.new_keys()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def service(ca: trustme.CA) -> Iterator[PushService]:
    with push_service(ca, KEYS[0]) as running:
        yield running


@pytest.fixture
def push_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "webpush_public_key": KEYS[0],
            "webpush_private_key": KEYS[1],
            "webpush_subject": SUBJECT,
            "webpush_ttl_seconds": 3600,
            "notify_allow_private_urls": True,  # the stand-in is on loopback
            "notify_quiet_hours": "",
            "notify_retry_seconds": 30,
            "notify_max_attempts": 4,
        }
    )


#: Workers, senders and posters to close after the test.
_closing: list[Any] = []


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    while _closing:
        _closing.pop().close()


def sender(db: Database, s: Settings, ca: trustme.CA) -> WebPushSender:
    """The real sender, trusting the stand-in's certificate authority."""
    poster = WebhookPoster(timeout=5, allow_private=True, verify=trusting(ca))
    made = WebPushSender(s, db, poster)
    _closing.append(poster)
    return made


def worker(db: Database, s: Settings, ca: trustme.CA, **options: Any) -> Worker:
    """A worker whose clock stands still and whose jitter is nil: waits are exact."""
    frozen = datetime.now(UTC)
    made = Worker(
        db,
        s,
        senders={"webpush": sender(db, s, ca)},
        rand=lambda: 0.5,
        clock=lambda: frozen,
        **options,
    )
    _closing.append(made)
    return made


def drain(w: Worker, now: datetime | None = None) -> Summary:
    """Rounds until one finds nothing due, at `now` (by default the real now: notices queued
    since the worker was made are due); the rounds' totals."""
    now = now or datetime.now(UTC)
    total = [0] * 5
    while (done := w.run_once(now)).total:
        for i, n in enumerate((done.sent, done.retried, done.dead, done.suppressed, done.deferred)):
            total[i] += n
    return Summary(*total)


def follow(
    db: Database, s: Settings, browser: Browser, *numbers: str, lang: str = "en", tz: str = "UTC"
) -> str:
    """The browser follows `numbers` as the API would have it; the endpoint's id."""
    sub = browser.subscription()
    checked = webpush.check_browser(sub["endpoint"], sub["keys"]["p256dh"], sub["keys"]["auth"], s)
    return webpush.subscribe(db, s, checked, list(numbers), lang=lang, timezone=tz).endpoint_id


def queued(db: Database, state: str | None = None) -> list[OutboxRow]:
    with db.read() as conn:
        return notices(conn, state=state)


def test_a_change_of_status_is_one_sealed_signed_push_in_the_subscribers_language(
    db: Database,
    push_settings: Settings,
    load: Loader,
    service: PushService,
    ca: trustme.CA,
) -> None:
    en, zh = service.browser("en"), service.browser("zh")
    follow(db, push_settings, en, NUMBER)
    follow(db, push_settings, zh, NUMBER, lang="zh-Hans")
    load(*scans(NUMBER, ("EMA", 3)))

    assert drain(worker(db, push_settings, ca)) == Summary(sent=2)

    assert [p.status for p in service.pushes] == [201, 201]
    assert all(p.claims is not None for p in service.pushes)  # VAPID verified
    # One signature per push service for an hour, not one per push (as Apple asks).
    assert len({p.headers["Authorization"] for p in service.pushes}) == 1
    assert service.delivered("en") == [
        {
            "title": f"{NUMBER}: Posted",
            "body": f"DEBERB, DE, {ago(3)[:10]} {ago(3)[11:16]} (local)",
            "url": f"/track/{NUMBER}?lang=en",
            "number": NUMBER,
            "status": "accepted",
            "tag": NUMBER,
            "lang": "en",
        }
    ]
    (chinese,) = service.delivered("zh")
    assert chinese["title"] == f"{NUMBER}：已收寄"
    assert chinese["body"].endswith("（当地时间）")
    assert (chinese["url"], chinese["lang"]) == (f"/track/{NUMBER}?lang=zh", "zh-Hans")
    for push in service.pushes:
        assert push.headers["Content-Encoding"] == "aes128gcm"
        assert push.headers["TTL"] == "3600"
        assert push.headers["Urgency"] == "normal"
        assert push.headers["Topic"] == NUMBER
        assert push.claims is not None
        assert push.claims["sub"] == SUBJECT
        assert push.claims["exp"] <= datetime.now(UTC).timestamp() + 24 * 3600
        assert len(push.body) < 4096  # one record, as push services require
    # The push service sees sealed bytes only: nothing of what the notice says.
    for push in service.pushes:
        assert NUMBER.encode() not in push.body
        assert b"DEBERB" not in push.body
    assert {row.state for row in queued(db)} == {OutboxState.SENT}


def test_a_scan_that_does_not_change_the_status_pushes_nothing(
    db: Database, push_settings: Settings, load: Loader, service: PushService, ca: trustme.CA
) -> None:
    follow(db, push_settings, service.browser("b"), NUMBER)
    load(*scans(NUMBER, ("EMA", 30)))
    load(*scans(NUMBER, ("EMB", 20)))
    w = worker(db, push_settings, ca)
    assert drain(w) == Summary(sent=2)

    load(*scans(NUMBER, ("EMC", 10)))  # still in transit
    assert drain(w) == Summary()
    assert [p["status"] for p in service.delivered()] == ["accepted", "in_transit"]


def test_quiet_hours_hold_a_push_until_they_end(
    db: Database, push_settings: Settings, load: Loader, service: PushService, ca: trustme.CA
) -> None:
    s = push_settings.model_copy(update={"notify_quiet_hours": "22:00-07:00"})
    follow(db, s, service.browser("b"), NUMBER, tz="Europe/Paris")
    load(*scans(NUMBER, ("EMA", 1)))
    paris = ZoneInfo("Europe/Paris")
    night = (datetime.now(paris) + timedelta(days=1)).replace(
        hour=3, minute=0, second=0, microsecond=0
    )
    w = worker(db, s, ca)

    assert drain(w, night) == Summary(deferred=1)
    assert service.pushes == []
    (held,) = queued(db, OutboxState.PENDING)
    assert held.next_attempt_at == night.replace(hour=7).astimezone(UTC)
    assert held.attempts == 0

    assert drain(w, night.replace(hour=6, minute=59)) == Summary()
    assert drain(w, night.replace(hour=7)) == Summary(sent=1)
    assert len(service.delivered()) == 1


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_endpoint_ends_with_all_its_subscriptions_and_is_never_tried_again(
    db: Database,
    push_settings: Settings,
    load: Loader,
    service: PushService,
    ca: trustme.CA,
    status: int,
) -> None:
    other = number(2)
    gone = service.browser("gone")
    kept = service.browser("kept")
    target = follow(db, push_settings, gone, NUMBER, other)
    follow(db, push_settings, kept, NUMBER)
    service.answer("gone", status)
    load(*scans(NUMBER, ("EMA", 2)), *scans(other, ("EMA", 2)))
    w = worker(db, push_settings, ca, batch=1)

    assert drain(w) == Summary(sent=1, dead=1, suppressed=1)

    assert [p.browser for p in service.pushes].count("gone") == 1  # the second was not tried
    assert len(service.delivered("kept")) == 1
    with db.read() as unit:
        endpoint = endpoint_row(unit, target)
        subs = subscriptions_of(unit, "webpush", target, live_only=False)
    assert endpoint is not None
    assert endpoint.ended_at is not None
    assert {(s.state, s.ended_reason) for s in subs} == {("ended", "gone")}
    (dead,) = queued(db, OutboxState.DEAD)
    assert dead.last_error is not None
    assert f"HTTP {status}" in dead.last_error
    assert "gone" in dead.last_error
    (suppressed,) = queued(db, OutboxState.SUPPRESSED)
    assert suppressed.last_error == "the subscription ended (gone)"

    # A later change of status is told to the browser still there, and to no one else.
    load(*scans(NUMBER, ("EMB", 1)))
    assert drain(w) == Summary(sent=1)
    assert [p.browser for p in service.pushes].count("gone") == 1

    # The browser subscribing anew (the same endpoint) brings it back.
    assert follow(db, push_settings, gone, NUMBER) == target
    with db.read() as unit:
        endpoint = endpoint_row(unit, target)
    assert endpoint is not None
    assert endpoint.ended_at is None
    load(*scans(NUMBER, ("EMI", 0.5)))
    assert drain(w) == Summary(sent=2)
    assert [p["status"] for p in service.delivered("gone")] == ["delivered"]


def test_a_push_service_that_asks_to_wait_is_tried_again_after_retry_after(
    db: Database, push_settings: Settings, load: Loader, service: PushService, ca: trustme.CA
) -> None:
    follow(db, push_settings, service.browser("b"), NUMBER)
    service.answer("b", 429, Retry_After="120")
    service.answer("b", 500)
    load(*scans(NUMBER, ("EMA", 1)))
    w = worker(db, push_settings, ca)
    start = datetime.now(UTC)

    assert drain(w, start) == Summary(retried=1)
    (waiting,) = queued(db, OutboxState.PENDING)
    assert waiting.next_attempt_at == start + timedelta(seconds=120)  # not the 30 s back-off
    assert waiting.last_error is not None
    assert "HTTP 429" in waiting.last_error
    assert drain(w, start + timedelta(seconds=119)) == Summary()

    # Then a 500: our own back-off, doubled (30 s × 2).
    later = start + timedelta(seconds=120)
    assert drain(w, later) == Summary(retried=1)
    (waiting,) = queued(db, OutboxState.PENDING)
    assert waiting.next_attempt_at == later + timedelta(seconds=60)
    assert drain(w, later + timedelta(seconds=60)) == Summary(sent=1)
    assert [p.status for p in service.pushes] == [429, 500, 201]
    assert len(service.delivered()) == 1


def test_a_payload_too_large_or_refused_is_dead_at_once(
    db: Database, push_settings: Settings, load: Loader, service: PushService, ca: trustme.CA
) -> None:
    follow(db, push_settings, service.browser("b"), NUMBER)
    service.answer("b", 413)
    load(*scans(NUMBER, ("EMA", 1)))
    assert drain(worker(db, push_settings, ca)) == Summary(dead=1)
    (dead,) = queued(db, OutboxState.DEAD)
    assert dead.last_error is not None
    assert "HTTP 413" in dead.last_error
    with db.read() as unit:  # not gone: the browser still follows the item
        assert len(subscriptions_of(unit, "webpush", dead.target)) == 1


def test_a_signature_with_another_key_is_refused_by_the_push_service(
    db: Database, push_settings: Settings, load: Loader, service: PushService, ca: trustme.CA
) -> None:
    public, private = webpush.new_keys()
    other = push_settings.model_copy(
        update={"webpush_public_key": public, "webpush_private_key": private}
    )
    follow(db, other, service.browser("b"), NUMBER)
    load(*scans(NUMBER, ("EMA", 1)))
    assert drain(worker(db, other, ca)) == Summary(dead=1)
    assert [(p.status, p.claims) for p in service.pushes] == [(403, None)]


def test_an_endpoint_on_a_private_address_is_refused_at_send_time(
    db: Database, push_settings: Settings, load: Loader, service: PushService, ca: trustme.CA
) -> None:
    follow(db, push_settings, service.browser("b"), NUMBER)  # taken while private URLs were
    load(*scans(NUMBER, ("EMA", 1)))
    strict = push_settings.model_copy(update={"notify_allow_private_urls": False})
    poster = WebhookPoster(timeout=5, allow_private=False, verify=trusting(ca))
    _closing.append(poster)
    frozen = datetime.now(UTC)
    w = Worker(
        db,
        strict,
        senders={"webpush": WebPushSender(strict, db, poster)},
        clock=lambda: frozen,
    )
    _closing.append(w)
    assert drain(w) == Summary(dead=1)
    assert service.pushes == []
    (dead,) = queued(db, OutboxState.DEAD)
    assert dead.last_error is not None
    assert "not a public internet address" in dead.last_error


def test_without_the_settings_a_push_is_dead_with_the_settings_to_make(
    db: Database, push_settings: Settings, settings: Settings, load: Loader, service: PushService
) -> None:
    follow(db, push_settings, service.browser("b"), NUMBER)
    load(*scans(NUMBER, ("EMA", 1)))
    unset = settings.model_copy(update={"notify_quiet_hours": ""})
    w = Worker(db, unset)  # the senders of the settings: no web push among them
    _closing.append(w)
    assert drain(w) == Summary(dead=1)
    (dead,) = queued(db, OutboxState.DEAD)
    assert dead.last_error is not None
    assert "EMSTRACK_WEBPUSH_PRIVATE_KEY" in dead.last_error
    assert service.pushes == []


def test_the_configured_worker_has_a_web_push_sender(db: Database, push_settings: Settings) -> None:
    made = senders_for(push_settings, db)
    without_db = senders_for(push_settings)
    _closing.extend([*made.values(), *without_db.values()])
    assert isinstance(made["webpush"], WebPushSender)
    assert "webpush" not in without_db  # no database: no keys to read


# --- a worker killed in the middle of a push -------------------------------------------------


@pytest.mark.slow
def test_a_worker_killed_in_the_middle_of_a_push_still_delivers_every_push(
    db: Database,
    push_settings: Settings,
    load: Loader,
    service: PushService,
    ca: trustme.CA,
    tmp_path: Path,
) -> None:
    """At least once, as the outbox promises: after a restart every notice has reached the push
    service, sealed and signed; the only repeat is of the push in flight at the kill (the
    browser shows it once: same tag)."""
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    env = {
        **os.environ,
        "EMSTRACK_DATABASE_URL": push_settings.database_url,
        "EMSTRACK_WEBPUSH_PUBLIC_KEY": KEYS[0],
        "EMSTRACK_WEBPUSH_PRIVATE_KEY": KEYS[1],
        "EMSTRACK_WEBPUSH_SUBJECT": SUBJECT,
        "EMSTRACK_NOTIFY_ALLOW_PRIVATE_URLS": "true",
        "EMSTRACK_NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        "EMSTRACK_NOTIFY_QUIET_HOURS": "",
        "EMSTRACK_NOTIFY_RETRY_SECONDS": "1",
        "EMSTRACK_AUTO_MIGRATE": "false",
        "TEST_PUSH_CA": str(ca_file),
    }
    numbers = [number(n) for n in range(201, 206)]
    follow(db, push_settings, service.browser("phone"), *numbers)
    recent = ago(2)
    load(*(e for num in numbers for e in history(num, ("EMA", recent, "CNBJSD", "CN"))))
    assert {row.number for row in queued(db)} == set(numbers)
    caught = kill_then_restart(
        env,
        tmp_path,
        db=db,
        expected=len(numbers),
        receiver=service,
    )

    counts = Counter(payload["number"] for payload in service.delivered("phone"))
    assert set(counts) == set(numbers)  # every notice, opened with the browser's keys
    repeated = {num for num, n in counts.items() if n > 1}
    assert repeated <= caught  # the only repeat: what was in flight at the kill
    assert max(counts.values()) <= 2
    assert all(p.claims is not None for p in service.pushes)
    assert all(p["tag"] == p["number"] for p in service.delivered())
