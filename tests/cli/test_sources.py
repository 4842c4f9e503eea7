"""`emstrack sources`: the profiles, the texts they leave unmapped, and remapping them. Every
test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.config import Settings
from emstrack.ingest import profiles
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.lookup import Tracker
from emstrack.store.database import Database

NUMBER = "EE123456785CN"
OTHER = "EE123456799CN"


def _store(db: Database, source: str, number: str, *steps: tuple[str, str]) -> None:
    chinapost = profiles.load("chinapost")
    rows = [
        {"tracking_number": number, "event_time": when, "description": text} for when, text in steps
    ]
    record(db, [parse_record(r, source=source, profile=chinapost) for r in rows])


def test_list_and_show(runner: CliRunner) -> None:
    listed = runner.invoke(app, ["sources", "list"])
    assert listed.exit_code == 0
    for name in ("upu", "chinapost", "usps", "upu-names"):
        assert name in listed.output
    for name in ("chinapost", "upu-names"):
        shown = runner.invoke(app, ["sources", "show", name])
        assert shown.exit_code == 0
        assert shown.output == profiles.load(name).text
    missing = runner.invoke(app, ["sources", "show", "dhl"])
    assert missing.exit_code == 1
    assert "no profile named 'dhl'" in missing.output


def test_unmapped_texts_newest_first(runner: CliRunner, db: Database) -> None:
    _store(db, "a.csv", NUMBER, ("2026-11-20 10:05", "收寄局收寄"), ("2026-11-21 08:00", "到邮局"))
    _store(db, "a.csv", OTHER, ("2026-11-21 09:00", "到邮局"))
    _store(db, "b.csv", OTHER, ("2026-11-22 09:00", "包裹已装车"))
    result = runner.invoke(app, ["sources", "unmapped", "--json"])
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.output.splitlines()]
    assert [(f["profile"], f["text"], f["count"]) for f in found] == [
        ("chinapost", "包裹已装车", 1),
        ("chinapost", "到邮局", 2),
    ]
    only_a = runner.invoke(app, ["sources", "unmapped", "--source", "a.csv"])
    assert "到邮局" in only_a.output
    assert "包裹已装车" not in only_a.output


def test_remap_applies_the_new_rules_once(
    runner: CliRunner, db: Database, settings: Settings, tmp_path: Path
) -> None:
    _store(
        db, "a.csv", NUMBER, ("2026-11-20 10:05", "收寄局收寄"), ("2026-11-25 08:00", "包裹已装车")
    )
    tracker = Tracker(db, settings)
    assert tracker.lookup(NUMBER).status == "accepted"  # the unmapped scan sets nothing
    assert runner.invoke(app, ["sources", "remap"]).output.strip().startswith("0 events mapped")
    # The operator extends the profile: the scan becomes "out for delivery".
    extended = profiles.load("chinapost").text + (
        '\n[[rule]]\nid = "loaded"\nmatch = ["包裹已装车"]\nevent_code = "EDG"\n'
    )
    path = tmp_path / "chinapost.toml"
    path.write_text(extended, encoding="utf-8")
    result = runner.invoke(app, ["sources", "remap", "--profile", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 events mapped; 1 items' status settled again." in result.output
    assert tracker.lookup(NUMBER).status == "out_for_delivery"
    assert tracker.answer(NUMBER).body["events"][0]["label"] == "Out for delivery"
    again = runner.invoke(app, ["sources", "remap", "--profile", str(path)])
    assert again.output.strip().startswith("0 events mapped")
    assert runner.invoke(app, ["sources", "unmapped", "--json"]).output == ""
    # The same feed read again with the new rules finds its events.
    chinapost = profiles.load(str(path))
    row = {"tracking_number": NUMBER, "event_time": "2026-11-25 08:00", "description": "包裹已装车"}
    outcome = record(db, [parse_record(row, profile=chinapost)]).outcomes
    assert list(outcome) == ["duplicate"]
