"""Reported messages: stored only when asked; `emstrack reports export` writes safe CSV."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.scamcheck import check, reports
from emstrack.store.database import Database


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+86 138", "'+86 138"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r'=1"),  # the carriage return may end a record: two cell starts
        (" =1+1", "' =1+1"),
        ("\u3000-2", "'\u3000-2"),  # an ideographic space is a blank too
        ('"=1+1', "'\"=1+1"),
        # A spreadsheet that splits at `;` (much of Europe) sees a cell start after each one,
        # and after a line break.
        (";=cmd", ";'=cmd"),
        ("pay now; =cmd|' /C calc'!A0", "pay now;' =cmd|' /C calc'!A0"),
        ("line one\n@SUM(A1)", "line one\n'@SUM(A1)"),
        ("line one\r\n+1", "line one\r\n'+1"),
        ("'quoted", "''quoted"),  # so that dropping the first ' always gives the value back
        ("plain text", "plain text"),
        ("a-b; c=d, e+f", "a-b; c=d, e+f"),
        ("", ""),
    ],
)
def test_formula_cells_are_defused(cell: str, safe: str) -> None:
    assert reports.safe_cell(cell) == safe


_TRIGGERS = "=+-@\t\r"
# The escapes `safe_cell` makes, found again: a `'` where a cell may start, before what a
# formula would start with.
_ESCAPE = re.compile(r"(?:^|(?<=[;\n])|(?<=\r)(?!\n))'(?=[\s\"]*[=+\-@'\t\r])")


def _as_formula(cell: str) -> bool:
    """True if a spreadsheet would run `cell` as a formula (it trims leading blanks)."""
    return cell[:1] in ("\t", "\r") or cell.lstrip()[:1] in tuple("=+-@")


_risky = st.text(alphabet=st.sampled_from(list(_TRIGGERS + " ;\n,\"'x\u3000")), max_size=12)
_cell = st.one_of(_risky, st.text(alphabet=st.characters(exclude_characters="\x00")))


@given(rows=st.lists(st.lists(_cell, min_size=5, max_size=5), max_size=4))
def test_no_exported_cell_reads_as_a_formula_and_values_come_back(rows: list[list[str]]) -> None:
    out = io.StringIO(newline="")
    assert reports.write_csv(([index, *row] for index, row in enumerate(rows)), out) == len(rows)
    data = out.getvalue()

    header, *read = list(csv.reader(io.StringIO(data, newline="")))
    assert header == list(reports.COLUMNS)
    assert len(read) == len(rows)
    for row, written in zip(rows, read, strict=True):
        for value, cell in zip(row, written[1:], strict=True):
            assert not _as_formula(cell) or cell.startswith("'"), (value, cell)
            # A person reads it back by dropping the escapes' `'`.
            assert _ESCAPE.sub("", cell) == value
    # The same file opened by a spreadsheet whose separator is `;`.
    for cells in csv.reader(io.StringIO(data, newline=""), delimiter=";"):
        for cell in cells:
            assert cell.lstrip()[:1] not in tuple("=+-@") or cell.startswith("'"), (cell, data)


def _report(db: Database, text: str, sender: str | None) -> None:
    reports.keep(db, text, sender, check(text, sender))


def test_export_to_a_file(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    _report(db, "=cmd|' /C calc'!A0 pay at bit.ly/x", "+8613800138000")
    _report(db, "您的包裹已被退回，请点击 ems-cn.top 补缴运费", None)
    _report(db, " =1+1 pay the duty at bit.ly/x;=cmd|' /C calc'!A0", " @admin")
    target = tmp_path / "reports.csv"
    result = runner.invoke(app, ["reports", "export", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "Exported 3 reports" in result.stderr
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"), newline="")))
    assert [r["verdict"] for r in rows] == ["likely_scam"] * 3
    assert rows[0]["text"].startswith("'=cmd")
    assert rows[0]["sender"] == "'+8613800138000"
    assert rows[1]["text"] == "您的包裹已被退回，请点击 ems-cn.top 补缴运费"
    assert rows[1]["sender"] == ""
    assert "link_lookalike" in rows[1]["reasons"]
    assert rows[0]["created_at"].endswith("+00:00")
    assert rows[2]["text"] == "' =1+1 pay the duty at bit.ly/x;'=cmd|' /C calc'!A0"
    assert rows[2]["sender"] == "' @admin"


def test_export_to_stdout_when_empty(runner: CliRunner) -> None:
    result = runner.invoke(app, ["reports", "export"])
    assert result.exit_code == 0, result.output
    assert list(csv.reader(io.StringIO(result.stdout))) == [list(reports.COLUMNS)]
    assert "Exported 0 reports." in result.stderr


def test_a_nul_in_a_reported_message_is_kept_visible(db: Database) -> None:
    text = "pay now\x00 at https://usps-redelivery.com"
    reports.keep(db, text, "+1\x00555", check(text, None))
    out = io.StringIO()
    assert reports.export(db, out) == 1
    assert "pay now\ufffd at" in out.getvalue()
