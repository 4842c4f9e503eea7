"""Bulk import of event files: CSV with a header row, or JSON Lines; plain or gzip-compressed.

Streamed with constant memory and written in batches, each batch one transaction. A bad row
never stops the good ones and is never dropped in silence: it goes to a rejects file next to the
input (`NAME.rejects.csv` or `NAME.rejects.jsonl`) with its line number and the reason, in the
input's own format, so that it can be corrected and imported again (the columns `reject_line`
and `reject_reason` are ignored on import).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import json
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast

from emstrack.config import Settings
from emstrack.errors import InputError
from emstrack.ingest.profiles import Profile
from emstrack.ingest.records import (
    PROFILE_REQUIRED,
    REQUIRED,
    IncomingEvent,
    RecordError,
    parse_record,
)
from emstrack.ingest.writer import keep_answers_of, record
from emstrack.store.database import Database

#: Columns a rejects file adds; ignored when a corrected rejects file is imported again.
REJECT_COLUMNS = ("reject_line", "reject_reason")

Progress = Callable[[int], None]
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class ImportSummary:
    path: Path
    read: int = 0
    new: int = 0
    duplicate: int = 0
    rejected: int = 0
    rejects_path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "read": self.read,
            "new": self.new,
            "duplicate": self.duplicate,
            "rejected": self.rejected,
            "rejects_file": str(self.rejects_path) if self.rejects_path else None,
        }


@dataclass(slots=True)
class _Row:
    line: int
    record: dict[str, Any] | None  # None when the line itself could not be read
    text: str = ""  # JSON Lines: the line as read, for the rejects file
    fields: list[str] | None = None  # CSV: the row's fields as read
    error: str | None = None


def file_format(path: Path) -> str:
    """'csv' or 'jsonl', from the file name (a `.gz` ending is looked through)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    ext = suffixes[-1] if suffixes else ""
    if ext in (".csv", ".tsv", ".txt"):
        return "csv"
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    raise InputError(
        "unknown_file_type",
        f"{path.name}: cannot tell the format from the name.",
        "Name CSV files *.csv and JSON Lines files *.jsonl (optionally followed by .gz).",
    )


def _open_text(path: Path) -> tuple[IO[bytes], io.TextIOWrapper]:
    raw = path.open("rb")
    stream: IO[bytes] = raw
    if path.suffix.lower() == ".gz":
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb"))
    # surrogateescape: a line with broken UTF-8 is rejected on its own, never the whole file.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    return raw, text


def _has_surrogates(value: str) -> bool:
    # Undecodable bytes were read as lone surrogates, which UTF-8 cannot encode.
    if value.isascii():  # most rows: no copy made
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_SAVE_AS_UTF8 = (
    "Save the file as CSV in UTF-8 (a spreadsheet's “CSV UTF-8”) with a header row, "
    "or as JSON Lines."
)


def _csv_rows(
    text: io.TextIOWrapper, path: Path, profile: Profile | None = None
) -> tuple[list[str], Iterator[_Row]]:
    sample = text.read(64 * 1024)
    delimiter = ","
    # Only the delimiter is taken from the header line: the sniffer's guesses about quoting,
    # made from a line that has no quotes, would misread doubled quotes in the data.
    with contextlib.suppress(csv.Error):  # no clear delimiter: keep the comma
        delimiter = csv.Sniffer().sniff(sample.splitlines()[0] if sample else "", ",;\t|").delimiter
    text.seek(0)
    reader = csv.reader(text, csv.excel, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError("empty_file", f"{path.name}: the file is empty.") from None
    except csv.Error as exc:  # a stray quote running on past the field size limit
        raise InputError(
            "unreadable_header",
            f"{path.name}: the header row cannot be read as CSV ({exc}).",
            _SAVE_AS_UTF8,
        ) from None
    if _has_surrogates("".join(header)) or "\x00" in "".join(header):
        # UTF-16 (with or without its BOM), GBK, Latin-1 or not text at all: one clear line,
        # rather than the header's mojibake.
        raise InputError(
            "not_utf8", f"{path.name}: the header row is not UTF-8 text.", _SAVE_AS_UTF8
        )
    names = [name.strip().lower() for name in header]
    if profile is not None and profile.uses_texts:
        missing = [n for n in PROFILE_REQUIRED if not profile.has_column(n, names)]
    else:
        missing = [name for name in REQUIRED if name not in names]
    if missing:
        found = ", ".join(names) or "no columns"
        if len(found) > 200:  # a file without a header row: its first row, cut short
            found = found[:200] + "…"
        raise InputError(
            "missing_columns",
            f"{path.name}: the header row lacks {', '.join(missing)}; it has {found}.",
            "The first row must name the columns; see docs/import.md for the field list.",
        )

    def rows() -> Iterator[_Row]:
        line = reader.line_num + 1
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # an over-long field, a stray quote: this row only
                start, line = line, reader.line_num + 1
                yield _Row(start, None, fields=[], error=f"the row cannot be read as CSV ({exc})")
                continue
            start, line = line, reader.line_num + 1
            joined = "".join(fields)
            if not joined.strip():  # no field with anything in it
                continue
            if _has_surrogates(joined):
                yield _Row(start, None, fields=fields, error="the row is not valid UTF-8")
            elif len(fields) != len(names):
                error = f"the row has {len(fields)} fields, the header has {len(names)}"
                yield _Row(start, None, fields=fields, error=error)
            else:
                yield _Row(start, dict(zip(names, fields, strict=True)), fields=fields)

    return header, rows()


def _jsonl_rows(text: io.TextIOWrapper) -> Iterator[_Row]:
    for number, line in enumerate(text, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if _has_surrogates(stripped):
            yield _Row(number, None, stripped, error="the line is not valid UTF-8")
            continue
        try:
            value = json.loads(stripped)
        except ValueError as exc:
            yield _Row(number, None, stripped, error=f"not valid JSON ({exc})")
            continue
        except RecursionError:  # `[[[[...`: json.loads recurses once per level
            yield _Row(number, None, stripped, error="not valid JSON (nested too deeply)")
            continue
        if not isinstance(value, dict):
            error = "expected a JSON object with the event's fields"
            yield _Row(number, None, stripped, error=error)
            continue
        yield _Row(number, value, stripped)


class _Rejects:
    """The rejects file, created only when the first row is rejected."""

    def __init__(self, path: Path, fmt: str, header: list[str] | None) -> None:
        self.path = path.with_name(path.name.removesuffix(".gz"))
        stem = self.path.stem if self.path.suffix else self.path.name
        self.path = self.path.with_name(f"{stem}.rejects.{'csv' if fmt == 'csv' else 'jsonl'}")
        self.fmt = fmt
        self.header = header
        self._file: IO[str] | None = None
        self._csv: Any = None

    def add(self, row: _Row, reason: str) -> None:
        if self._file is None:
            self._file = self.path.open("w", encoding="utf-8", errors="surrogateescape", newline="")
            if self.fmt == "csv":
                self._csv = csv.writer(self._file)
                self._csv.writerow([*REJECT_COLUMNS, *(self.header or [])])
        if self.fmt == "csv":
            self._csv.writerow([row.line, reason, *(row.fields or [])])
        else:
            entry: dict[str, Any] = {"reject_line": row.line, "reject_reason": reason}
            if row.record is not None:
                entry.update((k, v) for k, v in row.record.items() if k not in REJECT_COLUMNS)
            else:
                entry["text"] = row.text
            line = json.dumps(entry, ensure_ascii=False)
            if row.record is not None and _has_surrogates(line):
                # A lone surrogate came in as a JSON escape (`\ud800`): write it back so.
                line = json.dumps(entry)
            self._file.write(line + "\n")

    def close(self) -> Path | None:
        if self._file is None:
            return None
        self._file.close()
        return self.path


def import_file(
    db: Database,
    path: Path,
    settings: Settings,
    *,
    on_progress: Progress | None = None,
    profile: Profile | None = None,
    clock: Clock | None = None,
    staged: bool = True,
) -> ImportSummary:
    """Import one file, read by `profile` (None: the `upu` format); returns the counts.

    `clock` gives the ingest time of each batch's events and the time of its writes (the
    system clock when None). `staged`: on PostgreSQL, each batch goes through `COPY` and
    staging tables (`store.staging`); False: a statement per row, as before (the same rows are
    stored). Raises `InputError` only for a file-wide problem."""
    fmt = file_format(path)
    if not path.is_file():
        raise InputError("no_such_file", f"{path}: no such file.")
    summary = ImportSummary(path)
    raw, text = _open_text(path)
    try:
        with raw, text:
            _import_stream(
                db,
                path,
                fmt,
                raw,
                text,
                settings,
                summary,
                on_progress,
                profile,
                clock or _now,
                staged,
            )
    except _READ_ERRORS as exc:
        # A corrupt or truncated compressed file: the batches before this point are stored.
        raise InputError(
            "unreadable_file",
            f"{path.name}: cannot be read after {summary.read:,} rows ({exc}); the rows "
            "before that were imported.",
            "Fix or replace the file and import it again: rows already in count as duplicates.",
        ) from exc
    return summary


def _import_stream(
    db: Database,
    path: Path,
    fmt: str,
    raw: IO[bytes],
    text: io.TextIOWrapper,
    settings: Settings,
    summary: ImportSummary,
    on_progress: Progress | None,
    profile: Profile | None,
    clock: Clock,
    staged: bool,
) -> None:
    if fmt == "csv":
        header, rows = _csv_rows(text, path, profile)
    else:
        header, rows = None, _jsonl_rows(text)
    rejects = _Rejects(path, fmt, header)
    rejects.path.unlink(missing_ok=True)  # a rejects file from an earlier run is stale
    batch: list[IncomingEvent] = []
    reuse = timedelta(days=settings.reuse_after_days)
    # The ingest time of a batch's events: when the batch was begun.
    received = clock()

    # The public answers the read model keeps (`lookup.bodies`) are made once per number at
    # the end, not at every batch that touches it (a feed in time order brings a number's scans
    # in many batches): until then, lookups of those numbers make their answers.
    later = db.render_answers is not None
    pending: set[str] = set()

    def write(events: list[IncomingEvent], position: int) -> None:
        result = record(
            db, events, reuse_after=reuse, now=clock(), staged=staged, keep_answers=not later
        )
        summary.new += result.stored
        summary.duplicate += result.duplicates
        if later:
            pending.update(incoming.number for incoming in events)
            if len(pending) >= KEEP_ANSWERS_EVERY:
                keep_answers_of(db, pending)
                pending.clear()
        if on_progress is not None:
            on_progress(position)

    # A thread of its own where the driver waits in a few long calls (PostgreSQL's COPY and
    # set-based statements); on SQLite each batch is written in line, as before.
    writer = _Writer(write, threaded=staged and db.dialect == "postgresql")

    def flush() -> None:
        nonlocal batch, received
        writer.put(batch, raw.tell())
        batch = []
        received = clock()

    try:
        for row in rows:
            summary.read += 1
            if row.record is None:
                summary.rejected += 1
                rejects.add(row, row.error or "unreadable")
                continue
            fields = row.record
            if "reject_line" in fields or "reject_reason" in fields:
                fields = {k: v for k, v in fields.items() if k not in REJECT_COLUMNS}
            try:
                batch.append(
                    parse_record(
                        fields,
                        source=path.name,
                        home_country=settings.home_country,
                        strict=settings.strict_countries,
                        now=received,
                        profile=profile,
                    )
                )
            except RecordError as exc:
                summary.rejected += 1
                rejects.add(row, str(exc))
                continue
            if len(batch) >= settings.import_batch_size:
                flush()
        flush()
    except _READ_ERRORS:
        # The file broke off: what was handed over is written, as each batch was when read.
        if writer.close(complete=True) is None:
            keep_answers_of(db, pending)
        raise
    except BaseException:
        # Interrupted, or the writer failed: stop after its batch. The numbers written since
        # the last answers were made have none kept (their lookups make them, right and a
        # little slower, until `emstrack db refresh-answers` or their next scan).
        writer.close(complete=False)
        raise
    else:
        error = writer.close(complete=True)
        if error is not None:
            raise error
        keep_answers_of(db, pending)
    finally:
        summary.rejects_path = rejects.close()


#: The numbers an import gathers before it makes their kept public answers (once each).
KEEP_ANSWERS_EVERY = 100_000

#: A file that cannot be read on (a corrupt or truncated compressed file, a disk error).
_READ_ERRORS = (OSError, EOFError, zlib.error)


class _Writer:
    """Writes the batches the reader hands over, in order; `threaded`, in a thread of its own:
    while the database works on one batch (the driver lets go of the interpreter while it
    waits), the next one is read and checked. Each batch is still one transaction, so an import
    killed at any moment keeps the batches written before and nothing of the others. At most
    one batch waits between the two. Not `threaded`: each batch is written when handed over.
    """

    def __init__(self, write: Callable[[list[IncomingEvent], int], None], *, threaded: bool):
        self._write = write
        self._threaded = threaded
        self._queue: queue.Queue[tuple[list[IncomingEvent], int] | None] = queue.Queue(1)
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="import-writer", daemon=True)
        if threaded:
            self._thread.start()

    def _run(self) -> None:
        while (work := self._queue.get()) is not None and not self._stop.is_set():
            try:
                self._write(*work)
            except BaseException as exc:  # handed to the reader, which raises it
                self._error = exc
                return

    def put(self, batch: list[IncomingEvent], position: int) -> None:
        """Hand over a batch and the file position after it; raises what failed the writer."""
        if not self._threaded:
            self._write(batch, position)
            return
        while True:
            if self._error is not None:
                raise self._error
            if not self._thread.is_alive():
                raise RuntimeError("the import's writer has stopped")
            with contextlib.suppress(queue.Full):
                self._queue.put((batch, position), timeout=0.1)
                return

    def close(self, *, complete: bool) -> BaseException | None:
        """Wait for the batches handed over (`complete`), or only the one being written; the
        writer's error, if it failed."""
        if not self._threaded:
            return None
        if not complete:
            self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=0.1)
                break
        self._thread.join()
        return self._error
