"""Reported messages: stored only when asked; `emstrack reports export` writes safe CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.scamcheck import check, reports


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+86 138", "'+86 138"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("plain text", "plain text"),
        ("", ""),
    ],
)
def test_formula_cells_are_defused(cell: str, safe: str) -> None:
    assert reports.safe_cell(cell) == safe


def _report(engine: Engine, text: str, sender: str | None) -> None:
    reports.store(engine, text, sender, check(text, sender))


def test_export_to_a_file(runner: CliRunner, engine: Engine, tmp_path: Path) -> None:
    _report(engine, "=cmd|' /C calc'!A0 pay at bit.ly/x", "+8613800138000")
    _report(engine, "您的包裹已被退回，请点击 ems-cn.top 补缴运费", None)
    target = tmp_path / "reports.csv"
    result = runner.invoke(app, ["reports", "export", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "Exported 2 reports" in result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"), newline="")))
    assert [r["verdict"] for r in rows] == ["likely_scam", "likely_scam"]
    assert rows[0]["text"].startswith("'=cmd")
    assert rows[0]["sender"] == "'+8613800138000"
    assert rows[1]["text"] == "您的包裹已被退回，请点击 ems-cn.top 补缴运费"
    assert rows[1]["sender"] == ""
    assert "link_lookalike" in rows[1]["reasons"]
    assert rows[0]["created_at"].endswith("+00:00")


def test_export_to_stdout_when_empty(runner: CliRunner) -> None:
    result = runner.invoke(app, ["reports", "export"])
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [list(reports.COLUMNS)]
    assert "Exported 0 reports." in result.stderr


def test_a_nul_in_a_reported_message_is_kept_visible(engine: Engine) -> None:
    text = "pay now\x00 at https://usps-redelivery.com"
    reports.store(engine, text, "+1\x00555", check(text, None))
    out = io.StringIO()
    assert reports.export(engine, out) == 1
    assert "pay now\ufffd at" in out.getvalue()
