"""A history printed in the UPU's standard event names, read through `upu-names` end to end:
the status after every scan, times as the feed prints them (a 24-hour clock with AM/PM), the
contradictory time rejected alone, unmapped texts kept and reported. Every test runs on SQLite
and on PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from eventfiles import count_events
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.config import Settings
from emstrack.ingest import profiles
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.lookup import Tracker
from emstrack.store.database import Database

NUMBER = "EE123456785CN"

# An EMS item from Beijing to London, as a public site prints it: (time as printed, name,
# IMPC office code or "", country, status after the scan, the code the name stands for).
HISTORY = [
    ("2026-11-20 09:15 AM", "Posting/collection", "", "CN", "accepted", "EMA"),
    ("2026-11-20 18:30 PM", "Arrival at outward office of exchange", "CNBJSD", "CN",
     "in_transit", "EMB"),
    ("2026-11-21 01:45 AM", "Departure from Outward Office of Exchange", "CNBJSD", "CN",
     "in_transit", "EMC"),
    ("2026-11-21 01:45 PM", "Arrival at inward office of exchange", "GBLONC", "GB",
     "in_transit", "EMD"),
    ("2026-11-21 15:00 PM", "Item presented to import customs", "GBLONC", "GB",
     "customs_import", "EDB"),
    ("2026-11-21 15:30", "Handed over to customs", "GBLONC", "GB", "customs_import", "EME"),
    ("2026-11-23 10:05 AM", "Item returned from customs", "GBLONC", "GB", "customs_import",
     "EDC"),
    ("2026-11-23 16:40 PM", "Departure from inward office of exchange", "GBLONC", "GB",
     "in_transit", "EMF"),
    ("24.11.2026 06:10 AM", "Arrival at delivery office", "", "GB", "in_transit", "EMG"),
    ("24.11.2026 08:00", "OUT FOR DELIVERY", "", "GB", "out_for_delivery", "EDG"),
    ("24.11.2026 13:15 PM", "Unsuccessful (attempted) delivery", "", "GB", "delivery_failed",
     "EMH"),
    ("25.11.2026 08:05 AM", "Out for delivery", "", "GB", "out_for_delivery", "EDG"),
    ("25.11.2026 11:20 AM", "Final delivery", "", "GB", "delivered", "EMI"),
]  # fmt: skip


def _row(step: tuple[str, ...]) -> dict[str, str]:
    when, name, office, country, _, _ = step
    row = {"tracking_number": NUMBER, "event_time": when, "description": name}
    row.update({"office_code": office, "country": country} if office else {"country": country})
    return row


def test_the_status_after_every_scan(db: Database, settings: Settings) -> None:
    tracker = Tracker(db, settings)
    upu_names = profiles.load("upu-names")
    for step in HISTORY:
        outcome = record(db, [parse_record(_row(step), source="site", profile=upu_names)])
        assert list(outcome.outcomes) == ["stored"], step[1]
        assert tracker.lookup(NUMBER).status == step[4], step[1]
    answer = tracker.answer(NUMBER).body
    assert [e["code"] for e in answer["events"]][::-1] == [step[5] for step in HISTORY]
    assert all(e["known_code"] for e in answer["events"])
    assert answer == tracker.lookup(NUMBER).to_dict()
    # The times as printed: "01:45 PM" is 13:45 in London, "13:15 PM" 13:15.
    events = tracker.lookup(NUMBER).events
    assert {e.occurred_local.strftime("%d %H:%M") for e in events} >= {"21 13:45", "24 13:15"}


def test_import_a_file_with_upu_names(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    """`emstrack import --profile upu-names`: a contradictory time rejects its row alone, with
    the reason; a name no rule maps is stored and reported by `emstrack sources unmapped`."""
    path = tmp_path / "site.csv"
    rows = [_row(step) for step in HISTORY[:4]]
    rows.append({**rows[0], "event_time": "2026-11-22 13:45 AM", "description": "Final delivery"})
    rows.append({**rows[0], "event_time": "2026-11-22 14:00", "description": "Held by customs"})
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["tracking_number", "event_time", "description",
                                    "office_code", "country"])  # fmt: skip
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(app, ["import", "--quiet", "--profile", "upu-names", str(path)])
    assert result.exit_code == 3, result.output
    assert count_events(db) == 5
    with (tmp_path / "site.rejects.csv").open(encoding="utf-8", newline="") as f:
        (rejected,) = list(csv.DictReader(f))
    assert rejected["reject_reason"].startswith(
        "event_time: '2026-11-22 13:45 AM': 13:45 is a 24-hour time, which contradicts AM"
    )
    unmapped = runner.invoke(app, ["sources", "unmapped", "--json"])
    assert unmapped.exit_code == 0, unmapped.output
    found = [json.loads(line) for line in unmapped.output.splitlines()]
    assert [(f["profile"], f["text"], f["count"]) for f in found] == [
        ("upu-names", "Held by customs", 1)
    ]
