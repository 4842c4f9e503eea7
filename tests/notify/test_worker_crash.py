"""A worker killed with SIGKILL in the middle of a delivery loses nothing: after a restart every
notice has been delivered, and a receiver that de-duplicates by event id sees each exactly once.
The only repeat allowed is of the notice that was in flight when the worker died."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from crashing import LEASE_SECONDS, kill_then_restart
from factories import Loader, history
from hookreceiver import Receiver, receiving

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.notify import subscriptions
from emstrack.store import outbox
from emstrack.store.database import Database

pytestmark = pytest.mark.slow


def _number(serial: int) -> str:
    digits = f"{serial:08d}"
    return f"EE{digits}{s10.check_digit(digits)}CN"


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
    caught = kill_then_restart(
        env,
        tmp_path,
        db=db,
        expected=len(expected),
        receiver=receiver,
    )

    counts = receiver.ids()
    assert set(counts) == expected  # de-duplicated by event id: each exactly once
    repeated = {event_id for event_id, n in counts.items() if n > 1}
    assert repeated <= caught  # the only repeat: what was in flight at the kill
    assert max(counts.values()) <= 2
    assert all(hit.verified for hit in receiver.hits)
