"""A worker killed with SIGKILL in the middle of a delivery loses nothing: after a restart every
notice has been delivered, and a receiver that de-duplicates by event id sees each exactly once.
The only repeat allowed is of the notice that was in flight when the worker died."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from factories import Loader, history
from hookreceiver import Receiver, receiving

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.notify import subscriptions
from emstrack.store import outbox
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxState

pytestmark = pytest.mark.slow

#: The worker as a process of its own, configured like any deployment: from EMSTRACK_*.
RUNNER = """
import logging, signal, threading
from emstrack.config import Settings
from emstrack.notify.worker import Worker
from emstrack.store.database import Database

logging.basicConfig(level=logging.INFO)
settings = Settings()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
db = Database.open(settings)
with Worker(db, settings, batch=1) as worker:
    worker.run(stop, idle_sleep=0.1)
db.close()
"""

LEASE_SECONDS = 5


def _number(serial: int) -> str:
    digits = f"{serial:08d}"
    return f"EE{digits}{s10.check_digit(digits)}CN"


def _wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


def test_a_killed_worker_loses_nothing_and_sends_nothing_twice(
    db: Database, settings: Settings, load: Loader, receiver: Receiver, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "EMSTRACK_DATABASE_URL": settings.database_url,
        "EMSTRACK_SECRET_KEY": "crash-test-secret-0123456789",
        "EMSTRACK_NOTIFY_ALLOW_PRIVATE_URLS": "true",
        "EMSTRACK_NOTIFY_LEASE_SECONDS": str(LEASE_SECONDS),
        "EMSTRACK_NOTIFY_QUIET_HOURS": "",
        "EMSTRACK_NOTIFY_RETRY_SECONDS": "1",
        "EMSTRACK_AUTO_MIGRATE": "false",
    }
    s = settings.model_copy(
        update={"secret_key": env["EMSTRACK_SECRET_KEY"], "notify_allow_private_urls": True}
    )
    numbers = [_number(n) for n in range(101, 106)]
    for num in numbers:
        path = f"/hook/{num}"
        created = subscriptions.subscribe(
            db, s, number=num, channel="webhook", target=receiver.url(path)
        )
        assert created.secret is not None
        receiver.secrets[path] = created.secret
    recent = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M+00:00")
    load(*(e for num in numbers for e in history(num, ("EMA", recent, "CNBJSD", "CN"))))
    with db.read() as conn:
        expected = {row.id for row in outbox.notices(conn)}
    assert len(expected) == len(numbers)
    # Every notice's first delivery takes a second: long enough to kill the worker inside one.
    receiver.slow_first = 1.0

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        try:
            return subprocess.Popen(
                [sys.executable, "-c", RUNNER], env=env, stdout=log, stderr=subprocess.STDOUT
            )
        finally:
            log.close()

    first = start("first")
    try:
        _wait_for(lambda: len(receiver.started) >= 3, "the third delivery to begin")
        with receiver.lock:
            in_flight = set(receiver.in_flight)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    assert in_flight, "the worker was to die in the middle of a delivery"

    second = start("second")
    try:

        def all_sent() -> bool:
            with db.read() as conn:
                states = outbox.count_by_state(conn)
            return states.get(OutboxState.SENT, 0) == len(expected)

        _wait_for(all_sent, "every notice to be sent after the restart")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    log = (tmp_path / "second.log").read_text()
    assert second.returncode == 0, log

    counts = receiver.ids()
    assert set(counts) == expected  # de-duplicated by event id: each exactly once
    repeated = {event_id for event_id, n in counts.items() if n > 1}
    assert repeated <= in_flight  # the only repeat: what was in flight at the kill
    assert max(counts.values()) <= 2
    assert all(hit.verified for hit in receiver.hits)
