"""Killing an import at any moment leaves the database consistent; running it again completes it.

For real: `emstrack import` runs in a subprocess that gets SIGKILL once some batches are
committed and before the last one is, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from eventfiles import assert_consistent, count_events, empty_tables, s10, stored_items, write_csv

from emstrack.config import Settings
from emstrack.store.database import Database

BATCH = 500
# Items of 10 scans each: enough for dozens of batches, few enough to stay within seconds.
ITEMS = {"sqlite": 3000, "postgresql": 1000}

# One EMS journey from Beijing to Frankfurt: (code, office, hours after posting).
JOURNEY = [
    ("EMA", "CNBJSA", 0),
    ("EMB", "CNBJSD", 7),
    ("EMC", "CNBJSD", 20),
    ("EMD", "DEFRAA", 46),
    ("EDB", "DEFRAA", 47),
    ("EDC", "DEFRAA", 70),
    ("EMF", "DEFRAA", 75),
    ("EDD", "DEBERA", 90),
    ("EDG", "DEBERA", 98),
    ("EMI", "DEBERA", 103),
]


def _write_events(path: Path, items: int) -> int:
    """`items` journeys of 10 scans each, a valid S10 number per item; returns the row count."""
    start = datetime(2024, 3, 1, 8, 0)
    rows = []
    for n in range(items):
        number = s10(40_000_000 + n)
        posted = start + timedelta(minutes=7 * n)
        for code, office, hours in JOURNEY:
            when = (posted + timedelta(hours=hours)).isoformat(timespec="minutes")
            rows.append([number, code, when, office, office[:2]])
    write_csv(path, ["tracking_number", "event_code", "event_time", "office_code", "country"], rows)
    return len(rows)


def _command(path: Path) -> list[str]:
    code = "from emstrack.cli import main; main()"
    return [sys.executable, "-c", code, "import", str(path), "--batch-size", str(BATCH), "-q"]


def _environment(settings: Settings) -> dict[str, str]:
    return {**os.environ, "EMSTRACK_DATABASE_URL": settings.database_url, "COLUMNS": "200"}


def _kill_midway(db: Database, settings: Settings, path: Path, total: int) -> int | None:
    """Start the import, SIGKILL it after two batches and before the end; None if too late."""
    with subprocess.Popen(
        _command(path),
        env=_environment(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as proc:
        killed = False
        try:
            while proc.poll() is None:
                seen = count_events(db)
                if 2 * BATCH <= seen < total:
                    os.kill(proc.pid, signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.005)
        finally:
            if not killed and proc.poll() is None:
                proc.kill()  # the polling failed: leave no import running behind
            proc.wait()
    if proc.returncode != -signal.SIGKILL:
        return None
    return count_events(db)


@pytest.mark.slow
def test_an_import_killed_midway_is_consistent_and_completes_on_rerun(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    items = ITEMS[db.dialect]
    for _attempt in range(4):
        total = _write_events(path, items)
        committed = _kill_midway(db, settings, path, total)
        if committed is not None:
            break
        # The import was faster than the poll: start over with a bigger file.
        empty_tables(db)
        items *= 2
    else:
        pytest.fail("the import finished every time before it could be killed")

    # Consistent, whatever the moment of the kill: whole batches only.
    assert_consistent(db)
    assert 0 < committed < total
    assert committed % BATCH == 0, "a batch was stored in part"

    result = subprocess.run(
        _command(path),
        env=_environment(settings),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (summary,) = [line for line in result.stdout.splitlines() if "events.csv" in line]
    cells = [cell.strip() for cell in summary.split("│")[1:-1]]
    assert cells == [
        "events.csv",
        f"{total:,}",
        f"{total - committed:,}",
        f"{committed:,}",
        "0",
        "—",
    ]
    assert count_events(db) == total
    assert_consistent(db)
    rows = stored_items(db)
    assert len(rows) == items
    assert {(row["generation"], row["event_count"], row["status"]) for row in rows} == {
        (1, len(JOURNEY), "delivered")
    }
    assert not (tmp_path / "events.rejects.csv").exists()
