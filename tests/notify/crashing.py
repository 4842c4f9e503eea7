"""A worker process killed with SIGKILL in the middle of a delivery, then another started: the
choreography of the crash tests (webhooks in test_worker_crash.py, web push in
test_webpush.py). The receiver's side is theirs: what has begun, and what is in flight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Protocol

import pytest

from emstrack.store import outbox
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxState

#: How long the workers hold a notice: a killed one's notices are taken again after this.
LEASE_SECONDS = 5

#: The worker as a process of its own, configured from EMSTRACK_* like any deployment. With
#: TEST_PUSH_CA, its web push sender trusts the push service stand-in's certificate authority
#: (as a deployment trusts the public ones), and is its only sender.
RUNNER = """
import logging, os, signal, ssl, threading
from emstrack.config import Settings
from emstrack.notify.senders import WebPushSender
from emstrack.notify.webhook import WebhookPoster
from emstrack.notify.worker import Worker
from emstrack.store.database import Database

logging.basicConfig(level=logging.INFO)
settings = Settings()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
db = Database.open(settings)
senders = None
if os.environ.get("TEST_PUSH_CA"):
    context = ssl.create_default_context(cafile=os.environ["TEST_PUSH_CA"])
    poster = WebhookPoster(timeout=10, allow_private=True, verify=context)
    senders = {"webpush": WebPushSender(settings, db, poster)}
with Worker(db, settings, batch=1, senders=senders) as worker:
    worker.run(stop, idle_sleep=0.1)
db.close()
"""


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.05)


class Receiving(Protocol):
    """A receiver on loopback as the crash tests watch it (hookreceiver.Receiver,
    pushservice.PushService): it can answer each first delivery slowly, and says what has
    begun and what is being answered now."""

    slow_first: float
    started: list[str]
    in_flight: set[str]
    lock: threading.Lock


def kill_then_restart(
    env: Mapping[str, str],
    logs: Path,
    *,
    db: Database,
    expected: int,
    receiver: Receiving,
) -> set[str]:
    """Run a worker process (`RUNNER`, set up by `env`) until a third delivery has begun, kill it
    there, run another until `expected` notices are sent, stop it; what was in flight at the
    kill (never empty: the kill is to fall inside a delivery)."""
    # Every first delivery takes a second: long enough to kill the worker inside one.
    receiver.slow_first = 1.0

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (logs / f"{name}.log").open("wb")
        try:
            return subprocess.Popen(
                [sys.executable, "-c", RUNNER], env=dict(env), stdout=log, stderr=subprocess.STDOUT
            )
        finally:
            log.close()

    first = start("first")
    try:
        wait_for(lambda: len(receiver.started) >= 3, "the third delivery to begin")
        with receiver.lock:
            caught = set(receiver.in_flight)
        os.kill(first.pid, signal.SIGKILL)
    finally:
        first.wait(30)
    assert first.returncode == -signal.SIGKILL
    assert caught, "the worker was to die in the middle of a delivery"

    second = start("second")
    try:

        def all_sent() -> bool:
            with db.read() as conn:
                states = outbox.count_by_state(conn)
            return states.get(OutboxState.SENT, 0) == expected

        wait_for(all_sent, "every notice to be sent after the restart")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert second.returncode == 0, (logs / "second.log").read_text()
    return caught
