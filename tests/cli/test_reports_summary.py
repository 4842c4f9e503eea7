"""`emstrack reports`: what recurs among reports kept through `reports.keep`, on SQLite and
PostgreSQL, as tables and as JSON; `--since`, `--top`, `--min-reports`; an empty database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.cli.reports import since_time
from emstrack.scamcheck import check, reports
from emstrack.store.database import Database
from emstrack.store.schema import reports as reports_table

SCAMS = [
    (
        "【EMS】您的包裹被海关扣留，请点击 http://ems-cn-delivery.top/pay 补缴关税。"
        "客服 0755-12345678",
        "+86 138 0013 8000",
    ),
    (
        "【EMS】您的郵件被海關扣留，請點擊 https://ems-cn-delivery.top 補繳關稅。"
        "致電 0755 1234 5678",
        "13800138000",
    ),
    ("USPS: your parcel EE123456785CN is held at customs, see https://www.usps.com", None),
    ("USPS: your parcel EE123456785CN is held at customs, pay at usps.com", "x@gmail.com"),
    ("Royal Mail: pay the fee at https://royalmail-fee.top now", None),
]


def keep_all(db: Database) -> list[int]:
    return [reports.keep(db, text, sender, check(text)) for text, sender in SCAMS]


def run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, ["reports", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_an_empty_database_says_there_are_no_reports(runner: CliRunner, db: Database) -> None:
    assert run(runner).strip() == "No reports."
    document = json.loads(run(runner, "--json"))
    assert document["reports"] == 0
    assert document["domains"] == document["phrases"] == []


def test_the_summary_shows_what_recurs(runner: CliRunner, db: Database) -> None:
    ids = keep_all(db)
    shown = run(runner)
    assert shown.startswith("5 reports; shown: what recurs in at least 2 of them.")
    for part in [
        "ems-cn-delivery.top",
        "usps.com",
        "United States Postal Service",  # an official domain is marked
        "+8675512345678",
        "+8613800138000",  # the senders, however written
        "EE123456785CN",
        "is held at customs",  # the number between breaks "your parcel" off
        "被海关扣留",  # simplified and traditional alike
        f"#{ids[1]}",  # the latest report of ems-cn-delivery.top
    ]:
        assert part in shown, part
    assert "royalmail-fee.top" not in shown  # one report only


def test_json_is_the_same_summary(runner: CliRunner, db: Database) -> None:
    ids = keep_all(db)
    document = json.loads(run(runner, "--json"))
    assert document["since"] is None
    assert (document["reports"], document["min_reports"]) == (5, 2)
    domains = {d["value"]: d for d in document["domains"]}
    assert domains["ems-cn-delivery.top"]["reports"] == 2
    assert domains["ems-cn-delivery.top"]["example_report"] == ids[1]
    assert "official" not in domains["ems-cn-delivery.top"]
    assert domains["usps.com"]["official"] == "United States Postal Service"
    assert {p["value"] for p in document["phones"]} == {"+8675512345678", "+8613800138000"}
    assert [n["value"] for n in document["tracking_numbers"]] == ["EE123456785CN"]
    first = datetime.fromisoformat(domains["ems-cn-delivery.top"]["first_seen"])
    assert abs(first - datetime.now(UTC)) < timedelta(minutes=5)


def test_top_and_min_reports(runner: CliRunner, db: Database) -> None:
    keep_all(db)
    document = json.loads(run(runner, "--json", "--top", "1", "--min-reports", "1"))
    assert all(len(items) <= 1 for key, items in document.items() if isinstance(items, list))
    assert document["min_reports"] == 1
    everything = json.loads(run(runner, "--json", "--min-reports", "1", "--top", "100"))
    assert "royalmail-fee.top" in {d["value"] for d in everything["domains"]}


def test_since_leaves_older_reports_out(runner: CliRunner, db: Database) -> None:
    ids = keep_all(db)
    month_ago = datetime.now(UTC) - timedelta(days=30)
    with db.write() as unit:
        unit.execute(
            update(reports_table)
            .where(reports_table.c.id.in_(ids[:2]))
            .values(created_at=month_ago)
        )
    recent = json.loads(run(runner, "--json", "--since", "7d"))
    assert recent["reports"] == 3
    assert "ems-cn-delivery.top" not in {d["value"] for d in recent["domains"]}
    assert datetime.fromisoformat(recent["since"]) < datetime.now(UTC) - timedelta(days=6)
    older = json.loads(run(runner, "--json", "--since", month_ago.date().isoformat()))
    assert older["reports"] == 5
    assert "No reports since 2999-01-01 00:00 UTC." in run(runner, "--since", "2999-01-01")


@pytest.mark.parametrize("value", ["yesterday", "7y", "-3d", "2026-13-01"])
def test_a_bad_since_says_what_to_give(runner: CliRunner, db: Database, value: str) -> None:
    result = runner.invoke(app, ["reports", "--since", value])
    assert result.exit_code == 2
    assert "--since" in result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7d", datetime(2026, 11, 17, 12, 0, tzinfo=UTC)),
        ("12h", datetime(2026, 11, 24, 0, 0, tzinfo=UTC)),
        ("30m", datetime(2026, 11, 24, 11, 30, tzinfo=UTC)),
        ("2w", datetime(2026, 11, 10, 12, 0, tzinfo=UTC)),
        ("2026-11-01", datetime(2026, 11, 1, tzinfo=UTC)),
        ("2026-11-01T08:00+08:00", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_since_time(value: str, expected: datetime) -> None:
    assert since_time(value, datetime(2026, 11, 24, 12, 0, tzinfo=UTC)) == expected


def test_export_is_unchanged(runner: CliRunner, db: Database) -> None:
    keep_all(db)
    result = runner.invoke(app, ["reports", "export"])
    assert result.exit_code == 0
    assert result.stdout.startswith("id,created_at,verdict,reasons,sender,text")
    assert result.stdout.count("ems-cn-delivery.top") == 2
