"""Reported messages: stored only when a person asks, exported as CSV for the operator, and
summarised for the operator by what recurs among them (`recurring`).

The export guards against CSV injection (see `safe_cell`): wherever a spreadsheet could see a
cell begin, a formula's first character is defused with a `'` put in front.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TextIO

from emstrack.scamcheck import recurring
from emstrack.scamcheck.check import CheckResult
from emstrack.store.database import Database, Unit
from emstrack.store.reports import all_reports, insert_report, reports_since

COLUMNS = ("id", "created_at", "verdict", "reasons", "sender", "text")

# Where a spreadsheet may see a cell begin: at the start of ours, and, when it reads the file
# with `;` as the separator (the default in much of Europe), after every `;` and line break
# in it (a quoted line break is a record's end to such a reader). A `\r\n` is one break.
_CELL_START = r"(?:^|(?<=[;\n])|(?<=\r)(?!\n))"
# What a spreadsheet runs as a formula there: = + - @, a tab or a carriage return, also behind
# blanks (some readers trim them) or double quotes (a `;` reader may take one for the start of
# a quoted cell and drop it). A `'` already there is escaped too, so that taking the first `'`
# away always gives the value back.
_FORMULA = re.compile(_CELL_START + r"(?=[\s\"]*[=+\-@'\t\r])")


def keep(db: Database, text: str, sender: str | None, result: CheckResult) -> int:
    """Keep one reported message; returns its id."""
    # PostgreSQL text cannot hold NUL; a pasted message is evidence, not data to round-trip,
    # so a NUL is kept visible as the replacement character.
    text = text.replace("\x00", "\ufffd")
    sender = sender.replace("\x00", "\ufffd") if sender else None
    with db.write() as unit:
        return insert_report(
            unit,
            text=text,
            sender=(sender or None) and sender[:200],
            verdict=result.verdict.value,
            reasons=" ".join(r.code for r in result.reasons)[:1000],
        )


def safe_cell(value: object) -> str:
    """A cell as text that no spreadsheet will take for a formula, however it splits the file:
    a `'` goes in front of `=1+1`, ` =1+1` and `'x`, and after the `;` of `x;=cmd`."""
    text = "" if value is None else str(value)
    return _FORMULA.sub("'", text)


def write_csv(rows: Iterable[Sequence[object]], out: TextIO) -> int:
    """Write `COLUMNS` and then `rows` as CSV, every cell made safe; how many rows were written."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([safe_cell(value) for value in row])
        count += 1
    return count


def _rows(unit: Unit) -> Iterator[list[object]]:
    for values in all_reports(unit):
        values["created_at"] = values["created_at"].isoformat(timespec="seconds")
        yield [values[name] for name in COLUMNS]


def export(db: Database, out: TextIO) -> int:
    """Write every report as CSV with a header; returns how many rows were written."""
    with db.read() as unit:
        return write_csv(_rows(unit), out)


def recurring_summary(
    db: Database,
    *,
    since: datetime | None = None,
    min_reports: int = 2,
    official_domains: Iterable[str] = (),
) -> recurring.Summary:
    """What recurs among the reports made since `since` (all when None): see `recurring`."""
    with db.read() as unit:
        found = (
            recurring.Report(row["id"], row["text"], row["sender"], row["created_at"])
            for row in reports_since(unit, since)
        )
        return recurring.summarise(
            found, min_reports=min_reports, official_domains=official_domains
        )
