"""`emstrack import`: CSV and JSON Lines files, rejects files, the summary and the exit status.

Bad rows never stop the good ones and are never dropped in silence: each goes to the rejects
file next to the input with its line number and the reason. Every test runs on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from eventfiles import (
    count_events,
    read_rejects_csv,
    read_rejects_jsonl,
    s10,
    stored_events,
    write_csv,
    write_jsonl,
)
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.config import Settings
from emstrack.errors import InputError
from emstrack.ingest.files import ImportSummary, import_file
from emstrack.store.database import Database

HEADER = ["tracking_number", "event_code", "event_time", "office_code", "office_name", "country"]

# An EMS item from Beijing to Berlin, and a registered letter from London.
ROWS = [
    ["EE123456785CN", "EMA", "2024-03-01T09:12", "", "Beijing Chaoyang 100020", "CN"],
    ["EE123456785CN", "EMC", "2024-03-02T02:15", "CNBJSD", "BEIJING EMS", "CN"],
    ["EE123456785CN", "EMD", "2024-03-03T14:05", "DEFRAA", "FRANKFURT", "DE"],
    ["EE123456785CN", "EMI", "2024-03-07T10:05", "", "Filiale 101 Berlin", "DE"],
    ["RR473124829GB", "EMA", "2024-03-04T16:40:00+00:00", "", "London EC1A 1BB", "GB"],
    ["RR473124829GB", "EMC", "2024-03-05T05:30:00+00:00", "GBLONA", "LONDON", "GB"],
]
# What is stored of ROWS: (number, code, local time, offset).
STORED = sorted(
    [
        ("EE123456785CN", "EMA", "2024-03-01T09:12:00", 480),
        ("EE123456785CN", "EMC", "2024-03-02T02:15:00", 480),
        ("EE123456785CN", "EMD", "2024-03-03T14:05:00", 60),
        ("EE123456785CN", "EMI", "2024-03-07T10:05:00", 60),
        ("RR473124829GB", "EMA", "2024-03-04T16:40:00", 0),
        ("RR473124829GB", "EMC", "2024-03-05T05:30:00", 0),
    ]
)


def _stored(db: Database) -> list[tuple[str, str, str, int | None]]:
    return sorted(
        (row["number"], row["code"], row["occurred_local"].isoformat(), row["utc_offset_min"])
        for row in stored_events(db)
    )


def _records(rows: list[list[str]]) -> list[dict[str, str]]:
    return [{k: v for k, v in zip(HEADER, row, strict=True) if v} for row in rows]


def _counts(summary: ImportSummary) -> tuple[int, int, int, int]:
    return summary.read, summary.new, summary.duplicate, summary.rejected


def _gzip(path: Path) -> Path:
    packed = path.with_name(path.name + ".gz")
    packed.write_bytes(gzip.compress(path.read_bytes()))
    path.unlink()
    return packed


@pytest.mark.parametrize("name", ["events.csv", "events.csv.gz", "EVENTS.CSV", "events.txt"])
def test_a_csv_file_is_imported(
    db: Database, settings: Settings, tmp_path: Path, name: str
) -> None:
    plain = write_csv(tmp_path / name.removesuffix(".gz"), HEADER, ROWS)
    path = _gzip(plain) if name.endswith(".gz") else plain
    summary = import_file(db, path, settings)
    assert _counts(summary) == (6, 6, 0, 0)
    assert summary.rejects_path is None
    assert _stored(db) == STORED


@pytest.mark.parametrize("name", ["events.jsonl", "events.jsonl.gz", "events.ndjson"])
def test_a_json_lines_file_is_imported(
    db: Database, settings: Settings, tmp_path: Path, name: str
) -> None:
    plain = write_jsonl(tmp_path / name.removesuffix(".gz"), _records(ROWS))
    path = _gzip(plain) if name.endswith(".gz") else plain
    summary = import_file(db, path, settings)
    assert _counts(summary) == (6, 6, 0, 0)
    assert _stored(db) == STORED
    # The source of each event is the file it came from.
    assert {row["source"] for row in stored_events(db)} == {path.name}


@pytest.mark.parametrize(
    ("delimiter", "lineterminator", "bom"),
    [
        (",", "\n", False),
        (",", "\r\n", True),  # Excel's "CSV UTF-8"
        (";", "\r\n", True),  # Excel in locales with a decimal comma
        (";", "\n", False),
        ("\t", "\n", False),
        ("|", "\r\n", False),
    ],
)
def test_csv_dialects_of_spreadsheets_and_exports(
    db: Database,
    settings: Settings,
    tmp_path: Path,
    delimiter: str,
    lineterminator: str,
    bom: bool,
) -> None:
    rows = [[*row[:4], row[4].replace(" ", ", ", 1), row[5]] for row in ROWS]  # commas in names
    path = write_csv(
        tmp_path / "events.csv",
        HEADER,
        rows,
        delimiter=delimiter,
        lineterminator=lineterminator,
        bom=bom,
    )
    summary = import_file(db, path, settings)
    assert _counts(summary) == (6, 6, 0, 0)
    assert _stored(db) == STORED
    names = {row["office_name"] for row in stored_events(db)}
    assert "Beijing, Chaoyang 100020" in names
    assert not any(name.startswith("\ufeff") for row in stored_events(db) for name in row)


def test_header_names_ignore_case_and_spaces(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    header = [
        " Tracking_Number ",
        "EVENT_CODE",
        "Event_Time",
        "office_code",
        "OFFICE_NAME",
        "country",
    ]
    path = write_csv(tmp_path / "events.csv", header, ROWS)
    assert _counts(import_file(db, path, settings)) == (6, 6, 0, 0)


def test_unknown_columns_are_kept_in_the_raw_payload(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    header = [*HEADER, "weight_g", "mail_class"]
    path = write_csv(tmp_path / "events.csv", header, [[*ROWS[0], "1250", "EMS"]])
    assert _counts(import_file(db, path, settings)) == (1, 1, 0, 0)
    (row,) = stored_events(db)
    assert row["raw"] == [dict(zip(header, [*ROWS[0], "1250", "EMS"], strict=True))]


# Rows are written out by hand where line numbers matter.
_HEAD = "tracking_number,event_code,event_time,office_name,reason_text\n"


def test_line_numbers_of_rejects_point_at_the_first_line_of_the_record(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        _HEAD  # 1
        + "EE123456785CN,EMA,2024-03-01T09:12,BEIJING,\n"  # 2
        + 'EE123456785CN,EMH,2024-03-06T13:45,"BERLIN, MITTE","Addressee absent.\n'  # 3
        + 'Notice left, collect at Filiale 101"\n'  # 4
        + "\n"  # 5
        + "EE123456784CN,EMI,2024-03-07T10:05,BERLIN,\n"  # 6: wrong check digit
        + 'EE123456785CN,E,2024-03-07T10:05,"BERLIN\n'  # 7: bad event code
        + "\n"  # 8
        + 'MITTE",\n'  # 9
        + "   \n"  # 10
        + "EE123456785CN,EMI,2024-03-07T10:05,BERLIN,\n",  # 11
        encoding="utf-8",
    )
    summary = import_file(db, path, settings)
    assert _counts(summary) == (5, 3, 0, 2)
    rejects = read_rejects_csv(tmp_path / "events.rejects.csv")
    assert [(r["reject_line"], r["reject_reason"][:20]) for r in rejects] == [
        ("6", "tracking_number: The"),
        ("7", "event_code: expected"),
    ]
    assert rejects[1]["office_name"] == "BERLIN\n\nMITTE"
    emh = next(row for row in stored_events(db) if row["code"] == "EMH")
    assert emh["office_name"] == "BERLIN, MITTE"
    assert emh["reason_text"] == "Addressee absent.\nNotice left, collect at Filiale 101"


@pytest.mark.parametrize(
    "reason_text",
    [
        'Addressee says "not mine"',  # silently stored as 'Addressee says "not mine"""'
        'Refused: "wrong address", returned',  # rejected: one field too many
    ],
)
def test_quotes_inside_quoted_fields(
    db: Database, settings: Settings, tmp_path: Path, reason_text: str
) -> None:
    path = write_csv(
        tmp_path / "events.csv",
        ["tracking_number", "event_code", "event_time", "reason_text"],
        [["EE123456785CN", "EMH", "2024-03-06T13:45", reason_text]],
    )
    assert '""' in path.read_text(encoding="utf-8")
    summary = import_file(db, path, settings)
    assert _counts(summary) == (1, 1, 0, 0)
    assert stored_events(db)[0]["reason_text"] == reason_text


def test_rows_with_the_wrong_number_of_fields_are_rejected(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        _HEAD
        + "EE123456785CN,EMA,2024-03-01T09:12\n"  # 2: trailing columns left off
        + "EE123456785CN,EMC,2024-03-02T02:15,BEIJING,,extra\n"  # 3: one too many
        + "EE123456785CN,EMD,2024-03-03T14:05,FRANKFURT,\n",  # 4
        encoding="utf-8",
    )
    assert _counts(import_file(db, path, settings)) == (3, 1, 0, 2)
    rejects = read_rejects_csv(tmp_path / "events.rejects.csv")
    assert [(r["reject_line"], r["reject_reason"]) for r in rejects] == [
        ("2", "the row has 3 fields, the header has 5"),
        ("3", "the row has 6 fields, the header has 5"),
    ]


def test_invalid_utf8_rejects_only_its_row(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    broken = "EE123456785CN,EMC,2024-03-02T02:15,B\xc9IJING,\n".encode("latin-1")
    path = tmp_path / "events.csv"
    path.write_bytes(
        _HEAD.encode()
        + "EE123456785CN,EMA,2024-03-01T09:12,北京,\n".encode()
        + broken
        + b"EE123456785CN,EMD,2024-03-03T14:05,FRANKFURT,\n"
    )
    summary = import_file(db, path, settings)
    assert _counts(summary) == (3, 2, 0, 1)
    rejects_path = tmp_path / "events.rejects.csv"
    assert read_rejects_csv(rejects_path)[0]["reject_line"] == "3"
    assert "the row is not valid UTF-8" in rejects_path.read_bytes().decode("utf-8", "replace")
    # The rejected row is written back byte for byte, so it can be fixed and imported again.
    assert rejects_path.read_bytes().endswith(broken.rstrip(b"\n") + b"\r\n")


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"tracking_number": "EE123456785CN", "event_code": "EMC"', "not valid JSON"),
        ("EE123456785CN,EMC,2024-03-02T02:15", "not valid JSON"),
        ('["EE123456785CN", "EMC", "2024-03-02T02:15"]', "expected a JSON object"),
        ('"EE123456785CN"', "expected a JSON object"),
        ("null", "expected a JSON object"),
        (
            '{"tracking_number": "EE123456785CN", "event_code": "EMC", '
            '"event_time": "2024-03-02T02:15", "office_name": {"en": "BEIJING EMS"}}',
            "office_name: expected text, got dict",
        ),
        (
            '{"tracking_number": "EE123456785CN", "event_code": "EMC", '
            '"event_time": "2024-03-02T02:15", "country": true}',
            "country: expected text, got bool",
        ),
    ],
)
def test_bad_json_lines_are_rejected_one_by_one(
    db: Database, settings: Settings, tmp_path: Path, line: str, reason: str
) -> None:
    good = _records(ROWS)
    path = write_jsonl(tmp_path / "events.jsonl", [good[0], "", line, good[2]])
    summary = import_file(db, path, settings)
    assert _counts(summary) == (3, 2, 0, 1)
    (reject,) = read_rejects_jsonl(tmp_path / "events.rejects.jsonl")
    assert reject["reject_line"] == 3
    assert reason in reject["reject_reason"]


def test_invalid_utf8_in_json_lines_rejects_only_its_line(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    good = [json.dumps(r).encode() + b"\n" for r in _records(ROWS)]
    path = tmp_path / "events.jsonl"
    path.write_bytes(good[0] + b'{"tracking_number": "EE123456785CN", "x": "\xff"}\n' + good[1])
    assert _counts(import_file(db, path, settings)) == (3, 2, 0, 1)
    (reject,) = read_rejects_jsonl(tmp_path / "events.rejects.jsonl")
    assert (reject["reject_line"], reject["reject_reason"]) == (2, "the line is not valid UTF-8")


@pytest.mark.parametrize("field", ["office_name", "parcel_note"])
def test_a_lone_surrogate_in_json_rejects_only_its_line(
    db: Database, settings: Settings, tmp_path: Path, field: str
) -> None:
    good = _records(ROWS)
    bad = json.dumps({**good[1], field: "BEIJING \udc80"})  # written as the escape \udc80
    assert "\\udc80" in bad
    path = write_jsonl(tmp_path / "events.jsonl", [good[0], bad, good[2]])
    assert _counts(import_file(db, path, settings)) == (3, 2, 0, 1)


def test_a_huge_field_rejects_only_its_row(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [ROWS[0], [*ROWS[1][:4], "B" * 200_000, "CN"], ROWS[2]]
    path = write_csv(tmp_path / "events.csv", HEADER, rows)
    summary = import_file(db, path, settings)
    assert _counts(summary) == (3, 2, 0, 1)
    (reject,) = read_rejects_csv(tmp_path / "events.rejects.csv")
    assert reject["reject_line"] == "3"


@pytest.mark.parametrize(
    ("name", "rejects_name"),
    [
        ("events.csv", "events.rejects.csv"),
        ("events.csv.gz", "events.rejects.csv"),
        ("export.2024-03.tsv", "export.2024-03.rejects.csv"),
        ("feed.jsonl", "feed.rejects.jsonl"),
        ("feed.jsonl.gz", "feed.rejects.jsonl"),
        ("feed.ndjson", "feed.rejects.jsonl"),
    ],
)
def test_the_rejects_file_sits_next_to_the_input(
    db: Database, settings: Settings, tmp_path: Path, name: str, rejects_name: str
) -> None:
    folder = tmp_path / "incoming"
    folder.mkdir()
    bad = [*ROWS[1][:2], "2024-02-30T10:00", *ROWS[1][3:]]
    plain = folder / name.removesuffix(".gz")
    if ".csv" in name or name.endswith(".tsv"):
        write_csv(plain, HEADER, [ROWS[0], bad], delimiter="\t" if name.endswith("tsv") else ",")
    else:
        write_jsonl(plain, _records([ROWS[0], bad]))
    path = _gzip(plain) if name.endswith(".gz") else plain
    summary = import_file(db, path, settings)
    assert _counts(summary) == (2, 1, 0, 1)
    assert summary.rejects_path == folder / rejects_name
    assert summary.to_dict()["rejects_file"] == str(folder / rejects_name)
    assert sorted(p.name for p in folder.iterdir()) == sorted([path.name, rejects_name])


def test_rejects_csv_has_line_reason_then_the_original_columns(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    header = ["Tracking_Number", "event_code", "event_time", "Office_Name", "weight_g"]
    rows = [
        ["EE123456785CN", "EMA", "2024-03-01T09:12", "BEIJING", "1250"],
        ["EE123456784CN", "EMC", "2024-03-02T02:15", "BEIJING, CN", "1250"],
    ]
    path = write_csv(tmp_path / "events.csv", header, rows, delimiter=";")
    import_file(db, path, settings)
    with (tmp_path / "events.rejects.csv").open(encoding="utf-8", newline="") as f:
        lines = list(csv.reader(f))
    assert lines == [
        ["reject_line", "reject_reason", *header],
        ["3", "tracking_number: The check digit should be 5, not 4.", *rows[1]],
    ]


def _fix_csv(rejects: Path, fixes: dict[str, dict[str, str]]) -> None:
    rows = read_rejects_csv(rejects)
    for row in rows:
        row.update(fixes.get(row["reject_line"], {}))
    with rejects.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_a_corrected_rejects_csv_imports_cleanly(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        ROWS[0],
        ["EE123456784CN", *ROWS[1][1:]],  # line 3: wrong check digit
        ROWS[2],
        [*ROWS[3][:2], "07.03.2024 10:05", *ROWS[3][3:]],  # line 5: not ISO 8601
        ROWS[4],
        ROWS[5],
    ]
    path = write_csv(tmp_path / "events.csv", HEADER, rows)
    assert _counts(import_file(db, path, settings)) == (6, 4, 0, 2)
    rejects = tmp_path / "events.rejects.csv"
    _fix_csv(
        rejects,
        {"3": {"tracking_number": "EE123456785CN"}, "5": {"event_time": "2024-03-07T10:05"}},
    )
    summary = import_file(db, rejects, settings)
    assert _counts(summary) == (2, 2, 0, 0)
    assert summary.rejects_path is None
    assert _stored(db) == STORED
    assert not any(key.startswith("reject_") for row in stored_events(db) for key in row["raw"][0])


def test_a_corrected_rejects_jsonl_imports_cleanly(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    records: list[dict[str, Any] | str] = [*_records(ROWS)]
    records[1] = {**_records(ROWS)[1], "event_code": "EM C"}
    path = write_jsonl(tmp_path / "feed.jsonl", records)
    assert _counts(import_file(db, path, settings)) == (6, 5, 0, 1)
    rejects = tmp_path / "feed.rejects.jsonl"
    (entry,) = read_rejects_jsonl(rejects)
    assert entry["reject_line"] == 2
    assert entry["event_code"] == "EM C"
    write_jsonl(rejects, [{**entry, "event_code": "EMC"}])
    assert _counts(import_file(db, rejects, settings)) == (1, 1, 0, 0)
    assert _stored(db) == STORED


def test_a_rejects_jsonl_still_wrong_gets_its_new_line_and_reason(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    bad = {**_records(ROWS)[1], "event_code": "EM C", "country": "CHN"}
    path = write_jsonl(tmp_path / "feed.jsonl", [*_records(ROWS[:1]), bad])
    import_file(db, path, settings)
    rejects = tmp_path / "feed.rejects.jsonl"
    (entry,) = read_rejects_jsonl(rejects)
    assert entry["reject_line"] == 2
    assert entry["reject_reason"].count(";") == 1  # event_code and country
    # Only the event code is fixed; the country is still wrong.
    write_jsonl(rejects, [{**entry, "event_code": "EMC"}])
    import_file(db, rejects, settings)
    (again,) = read_rejects_jsonl(tmp_path / "feed.rejects.rejects.jsonl")
    assert again["reject_line"] == 1
    assert again["reject_reason"].startswith("country: longer than 2 characters")
    assert ";" not in again["reject_reason"]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            ["tracking_number", "event_code", "office_code"],
            "events.csv: the header row lacks event_time; it has tracking_number, event_code, "
            "office_code.",
        ),
        (
            ["number", "code", "time"],
            "events.csv: the header row lacks tracking_number, event_code, event_time; it has "
            "number, code, time.",
        ),
        # A file without a header row: its first event is taken for the header.
        (
            ROWS[0],
            "events.csv: the header row lacks tracking_number, event_code, event_time",
        ),
    ],
)
def test_a_missing_required_column_fails_the_whole_file(
    db: Database, settings: Settings, tmp_path: Path, header: list[str], message: str
) -> None:
    path = write_csv(tmp_path / "events.csv", header, [ROWS[1][: len(header)]])
    with pytest.raises(InputError) as caught:
        import_file(db, path, settings)
    assert caught.value.code == "missing_columns"
    assert caught.value.message.startswith(message)
    assert "docs/import.md" in (caught.value.hint or "")
    assert count_events(db) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if "events" in p.name) == ["events.csv"]


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("events.xlsx", b"PK\x03\x04", "unknown_file_type"),
        ("events", b"tracking_number,event_code,event_time\n", "unknown_file_type"),
        ("events.json.bak", b"{}\n", "unknown_file_type"),
        ("events.csv", b"", "empty_file"),
        ("events.csv.gz", gzip.compress(b""), "empty_file"),
    ],
)
def test_files_that_cannot_be_read_at_all(
    db: Database, settings: Settings, tmp_path: Path, name: str, content: bytes, code: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError) as caught:
        import_file(db, path, settings)
    assert caught.value.code == code
    assert name in caught.value.message


def test_a_missing_file(db: Database, settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        import_file(db, tmp_path / "nowhere.csv", settings)
    assert caught.value.code == "no_such_file"


def test_an_empty_json_lines_file_and_a_header_only_csv_import_nothing(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "a.jsonl").write_bytes(b"\n\n")
    assert _counts(import_file(db, tmp_path / "a.jsonl", settings)) == (0, 0, 0, 0)
    path = write_csv(tmp_path / "b.csv", HEADER, [])
    assert _counts(import_file(db, path, settings)) == (0, 0, 0, 0)


def test_summary_counts_and_a_second_import_of_the_same_file(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    rows = [
        *ROWS,
        ROWS[1],  # the same scan twice in the file
        [*ROWS[2][:3], "defraa", "Frankfurt", "de"],  # the same scan, other spelling
        ["EE123456785CN", "EMX", "2024-03-08T09:00", "", "BERLIN", "DE"],  # unknown, kept
        ["EE123456785CN", "EMI", "", "", "", ""],  # rejected: no time
        ["", "", "", "", "", ""],  # blank: not a row
    ]
    path = write_csv(tmp_path / "events.csv", HEADER, rows)
    first = import_file(db, path, settings)
    assert _counts(first) == (10, 7, 2, 1)
    assert first.to_dict() == {
        "path": str(path),
        "read": 10,
        "new": 7,
        "duplicate": 2,
        "rejected": 1,
        "rejects_file": str(tmp_path / "events.rejects.csv"),
    }
    second = import_file(db, path, settings)
    assert _counts(second) == (10, 0, 9, 1)
    assert count_events(db) == 7


@pytest.mark.parametrize("batch_size", [1, 2, 5, 5000])
def test_batch_size_does_not_change_the_outcome(
    db: Database, settings: Settings, tmp_path: Path, batch_size: int
) -> None:
    rows = [ROWS[3], ROWS[0], ROWS[0], ROWS[5], ROWS[2], ROWS[1], ROWS[4], ROWS[3]]
    path = write_csv(tmp_path / "events.csv", HEADER, rows)
    sized = settings.model_copy(update={"import_batch_size": batch_size})
    assert _counts(import_file(db, path, sized)) == (8, 6, 2, 0)
    assert _stored(db) == STORED


def test_progress_reports_bytes_read(db: Database, settings: Settings, tmp_path: Path) -> None:
    rows = [[s10(n), "EMA", "2024-03-01T09:12", "CNBJSD", "BEIJING", "CN"] for n in range(3000)]
    path = write_csv(tmp_path / "events.csv", HEADER, rows)
    seen: list[int] = []
    sized = settings.model_copy(update={"import_batch_size": 1000})
    import_file(db, path, sized, on_progress=seen.append)
    assert len(seen) >= 3
    assert seen == sorted(seen)
    assert seen[-1] == path.stat().st_size


# --- the command --------------------------------------------------------------------------


def test_cli_exits_0_when_every_row_is_imported(
    runner: CliRunner, db: Database, tmp_path: Path
) -> None:
    a = write_csv(tmp_path / "a.csv", HEADER, ROWS[:4])
    b = write_jsonl(tmp_path / "b.jsonl", _records(ROWS[3:]))
    result = runner.invoke(app, ["import", str(a), str(b), "-q"])
    assert result.exit_code == 0, result.output
    table = [line.split("│")[1:-1] for line in result.stdout.splitlines() if "│" in line]
    assert [[cell.strip() for cell in row] for row in table] == [
        ["a.csv", "4", "4", "0", "0", "—"],
        ["b.jsonl", "3", "2", "1", "0", "—"],
    ]
    assert count_events(db) == 6


def test_cli_exits_3_when_some_rows_are_rejected(
    runner: CliRunner, db: Database, tmp_path: Path
) -> None:
    bad = ["EE123456785CN", "EMI", "tomorrow", "", "", "DE"]
    path = write_csv(tmp_path / "events.csv", HEADER, [*ROWS, bad])
    result = runner.invoke(app, ["import", str(path), "--batch-size", "2"])
    assert result.exit_code == 3, result.output
    assert "events.rejects.csv" in result.stdout
    assert "Some rows were rejected" in result.stderr
    assert count_events(db) == 6


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("events.xlsx", b"PK\x03\x04", "cannot tell the format"),
        ("no_header.csv", b"EE123456785CN,EMA,2024-03-01T09:12\n", "the header row lacks"),
    ],
)
def test_cli_exits_1_when_a_file_cannot_be_read_and_still_imports_the_others(
    runner: CliRunner,
    db: Database,
    tmp_path: Path,
    name: str,
    content: bytes | None,
    message: str,
) -> None:
    broken = tmp_path / name
    if content is not None:
        broken.write_bytes(content)
    good = write_csv(tmp_path / "good.csv", HEADER, ROWS)
    rejected = write_csv(tmp_path / "rejected.csv", HEADER, [["EE123456784CN", *ROWS[0][1:]]])
    result = runner.invoke(app, ["import", str(broken), str(good), str(rejected), "-q"])
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.stderr.split())
    assert count_events(db) == 6


def test_cli_a_corrupt_gzip_file_is_reported_and_the_others_imported(
    runner: CliRunner, db: Database, tmp_path: Path
) -> None:
    corrupt = tmp_path / "events.csv.gz"
    corrupt.write_bytes(b"tracking_number,event_code,event_time\n")  # not gzip at all
    good = write_csv(tmp_path / "good.csv", HEADER, ROWS)
    result = runner.invoke(app, ["import", str(corrupt), str(good), "-q"])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "events.csv.gz" in result.stderr
    assert count_events(db) == 6


def test_a_clean_rerun_removes_the_stale_rejects_file(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    bad = [*ROWS, ["EE123456784CN", "EMA", "2024-03-01T09:12"] + [""] * (len(HEADER) - 3)]
    path = write_csv(tmp_path / "events.csv", HEADER, bad)
    first = import_file(db, path, settings)
    assert first.rejects_path is not None
    assert first.rejects_path.exists()
    write_csv(path, HEADER, ROWS)
    second = import_file(db, path, settings)
    assert second.rejects_path is None
    assert not first.rejects_path.exists()
