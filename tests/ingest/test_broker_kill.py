"""Consumers killed at any moment lose and double nothing: real `emstrack consume` processes.

N messages of K events wait on the broker; one consumer is started and SIGKILLed once some are
stored and before the last one is; then two consumers share the rest (and whatever the killed
one held without acknowledging it, which the broker delivers again). The database ends with
exactly N x K events, consistent, and both consumers stop on SIGTERM with exit status 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from brokers import TestBroker, broker
from eventfiles import assert_consistent, count_events, s10, stored_items

from emstrack.config import Settings
from emstrack.store.database import Database

__all__ = ["broker"]

MESSAGES = 300
PER_MESSAGE = 5
JOURNEY = [("EMA", "CNBJSA", 0), ("EMB", "CNBJSD", 7), ("EMC", "CNBJSD", 20)]


def _messages() -> list[list[dict[str, str]]]:
    """MESSAGES arrays of PER_MESSAGE events: items' journeys cut across messages."""
    start = datetime(2026, 3, 1, 8, 0)
    flat: list[dict[str, str]] = []
    serial = 0
    while len(flat) < MESSAGES * PER_MESSAGE:
        serial += 1
        posted = start + timedelta(minutes=serial)
        for code, office, hours in JOURNEY:
            flat.append(
                {
                    "tracking_number": s10(60_000_000 + serial),
                    "event_code": code,
                    "event_time": (posted + timedelta(hours=hours)).isoformat(timespec="minutes"),
                    "office_code": office,
                }
            )
    flat = flat[: MESSAGES * PER_MESSAGE]
    return [flat[i : i + PER_MESSAGE] for i in range(0, len(flat), PER_MESSAGE)]


def _consumer(broker: TestBroker, settings: Settings, log: Path) -> subprocess.Popen[bytes]:
    code = "from emstrack.cli import main; main()"
    command = [sys.executable, "-c", code, "consume", *broker.cli_args(), "--batch", "5"]
    env = {**os.environ, "EMSTRACK_DATABASE_URL": settings.database_url, "COLUMNS": "200"}
    with log.open("wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.slow
def test_consumers_killed_midway_lose_and_double_nothing(
    broker: TestBroker, db: Database, settings: Settings, tmp_path: Path
) -> None:
    messages = _messages()
    total = MESSAGES * PER_MESSAGE
    asyncio.run(broker.prepare())
    asyncio.run(broker.publish(*messages))

    first = _consumer(broker, settings, tmp_path / "first.log")
    try:
        _wait(lambda: count_events(db) >= total // 10, 120, "the first consumer to store some")
        os.kill(first.pid, signal.SIGKILL)
    finally:
        if first.poll() is None:
            first.kill()
        first.wait()
    killed_at = count_events(db)
    assert first.returncode == -signal.SIGKILL
    assert 0 < killed_at < total, "the first consumer was not killed midway"

    two = [_consumer(broker, settings, tmp_path / f"consumer{i}.log") for i in (1, 2)]
    try:
        # Both at work (their signal handlers set) before the stop is asked of them.
        started = [tmp_path / f"consumer{i}.log" for i in (1, 2)]
        _wait(lambda: all("Consuming" in p.read_text() for p in started), 120, "both to start")
        _wait(lambda: count_events(db) >= total, 240, "every event")
    finally:
        for proc in two:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in two:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    logs = {p.name: p.read_text(errors="replace") for p in tmp_path.glob("*.log")}
    assert [proc.returncode for proc in two] == [0, 0], logs
    for name in ("consumer1.log", "consumer2.log"):
        assert "Stopped:" in logs[name], logs[name]

    assert count_events(db) == total
    assert_consistent(db)
    items = stored_items(db)
    assert sum(int(item["event_count"]) for item in items) == total
    assert all(item["generation"] == 1 for item in items)
    assert asyncio.run(broker.unsettled()) == 0
    assert asyncio.run(broker.dead_letters()) == []
