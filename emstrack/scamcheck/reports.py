"""Reported messages: stored only when a person asks, exported as CSV for the operator.

The export guards against CSV injection: a cell that a spreadsheet would run as a formula
(starting with = + - @, a tab or a carriage return) is prefixed with a quote.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, TextIO

from emstrack.scamcheck.check import CheckResult
from emstrack.store import reports as table

if TYPE_CHECKING:
    from sqlalchemy import Engine

COLUMNS = ("id", "created_at", "verdict", "reasons", "sender", "text")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def store(engine: Engine, text: str, sender: str | None, result: CheckResult) -> int:
    """Keep one reported message; returns its id."""
    # PostgreSQL text cannot hold NUL; a pasted message is evidence, not data to round-trip,
    # so a NUL is kept visible as the replacement character.
    text = text.replace("\x00", "\ufffd")
    sender = sender.replace("\x00", "\ufffd") if sender else None
    return table.add(
        engine,
        text=text,
        sender=(sender or None) and sender[:200],
        verdict=result.verdict.value,
        reasons=" ".join(r.code for r in result.reasons)[:1000],
    )


def safe_cell(value: object) -> str:
    """A cell as text that no spreadsheet will take for a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _rows(engine: Engine) -> Iterator[list[str]]:
    for values in table.every(engine):
        values["created_at"] = values["created_at"].isoformat(timespec="seconds")
        yield [safe_cell(values[name]) for name in COLUMNS]


def export(engine: Engine, out: TextIO) -> int:
    """Write every report as CSV with a header; returns how many rows were written."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in _rows(engine):
        writer.writerow(row)
        count += 1
    return count
