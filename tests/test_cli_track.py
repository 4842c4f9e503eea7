"""`emstrack track`: for people, and `--json` for scripts."""

from __future__ import annotations

import json

from factories import DELIVERED_TO_DE, Loader, history
from typer.testing import CliRunner

from emstrack.cli import app

NUMBER = "EE123456785CN"


def test_json_for_one_number(load: Loader, runner: CliRunner) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    result = runner.invoke(app, ["track", "ee-123-456-785-cn", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["number"] == NUMBER
    assert doc["outcome"] == "found"
    assert doc["status"] == "delivered"
    assert len(doc["events"]) == len(DELIVERED_TO_DE)


def test_json_array_for_several_numbers_in_order(load: Loader, runner: CliRunner) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    result = runner.invoke(app, ["track", "RR473124829GB", NUMBER, "--json"])
    docs = json.loads(result.stdout)
    assert [d["outcome"] for d in docs] == ["not_found_yet", "found"]


def test_people_see_status_and_timeline(load: Loader, runner: CliRunner) -> None:
    load(*history(NUMBER, *DELIVERED_TO_DE))
    result = runner.invoke(app, ["track", NUMBER], env={"COLUMNS": "160"})
    assert result.exit_code == 0
    assert "EE 123 456 785 CN" in result.stdout
    assert "Delivered" in result.stdout
    assert "China → Germany" in result.stdout
    assert "Delivered on 2026-11-07 11:45 (UTC+1) at DEBERB, Germany." in result.stdout
    assert "UTC+8" in result.stdout


def test_invalid_number_exits_1_with_the_reason(runner: CliRunner) -> None:
    result = runner.invoke(app, ["track", "EE123456789CN"], env={"COLUMNS": "160"})
    assert result.exit_code == 1
    assert "The check digit should be 5, not 9." in result.stdout


def test_operators_see_offices_as_stored_with_their_postcodes(
    load: Loader, runner: CliRunner
) -> None:
    # The CLI reads the database itself: its user is an operator, not the public of the API.
    records = history(NUMBER, *DELIVERED_TO_DE)
    records[-1]["office_name"] = "10115 BERLIN"
    load(*records)
    doc = json.loads(runner.invoke(app, ["track", NUMBER, "--json"]).stdout)
    assert doc["events"][0]["office_name"] == "10115 BERLIN"
    table = runner.invoke(app, ["track", NUMBER], env={"COLUMNS": "160"}).stdout
    assert "10115 BERLIN" in table
