"""Synthetic data for the benchmarks: a database of N items and an import CSV of K events.

Both are built from the same generator of EMS journeys (valid S10 numbers, catalogue codes,
offices, local times with and without a UTC offset) and cached under bench/out/, keyed by their
parameters, so a second run starts at once.

The database is written with plain `sqlite3` `executemany` straight into the schema that
`ensure_schema` creates, in primary-key order, with the same column encodings SQLAlchemy uses
(so the lookup reads exactly what it would read after `emstrack import`). Each item has one
generation; its status columns are set from its newest event, as the writer would set them.

The same rows can go into PostgreSQL instead (`build_postgres`, `--database-url`): the
schema made by the migrations, then every row sent with `COPY ... FROM STDIN`; the database is
created when missing and marked with the data set it holds (table `bench_dataset`), so a second
run with the same parameters reuses it. A database with tables but no such mark is never touched.

    python bench/dataset.py --items 1000000          # the lookup and HTTP database
    python bench/dataset.py --items 0 --csv 1000000  # only the import CSV
    python bench/dataset.py --items 100000 --database-url postgresql://127.0.0.1/emstrack_bench
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import sys
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from hashlib import blake2b
from pathlib import Path
from typing import Any

import psycopg
from alembic.script import ScriptDirectory
from psycopg import sql
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import make_url

from emstrack.domain.events import CATALOGUE, dedupe_key
from emstrack.domain.s10 import check_digit
from emstrack.store.answers import refresh_driver
from emstrack.store.engine import alembic_config, ensure_schema, make_engine, upgrade

OUT = Path(__file__).resolve().parent / "out"

#: Bump when the generator changes, so that cached files are rebuilt.
DATASET_VERSION = 1

_EPOCH = datetime(2024, 1, 1)
_MINUTE = timedelta(minutes=1)
_YEAR_MINUTES = 365 * 24 * 60
_SOURCE = "bench"
_INGESTED = "2025-01-02 03:04:05.000000"
_BUILT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)  # when the read model's rows are written


@dataclass(frozen=True, slots=True)
class Office:
    code: str
    name: str
    country: str
    offset: int | None  # minutes east of UTC; None where the country has several zones


# Per country: a posting/delivery office, a sorting centre and an office of exchange.
_OFFICES: dict[str, tuple[Office, Office, Office]] = {
    "CN": (
        Office("100001", "Beijing Xicheng", "CN", 480),
        Office("200940", "Shanghai Sorting Centre", "CN", 480),
        Office("CNPEKA", "Beijing International Mail Processing Centre", "CN", 480),
    ),
    "JP": (
        Office("1000001", "Tokyo Chiyoda", "JP", 540),
        Office("1350061", "Tokyo International Sorting", "JP", 540),
        Office("JPTYOA", "Tokyo International Post Office", "JP", 540),
    ),
    "US": (
        Office("10001", "New York NY", "US", None),
        Office("07097", "Jersey City NDC", "US", None),
        Office("USJFKA", "New York ISC", "US", -300),
    ),
    "DE": (
        Office("10115", "Berlin Mitte", "DE", 60),
        Office("60549", "Frankfurt Briefzentrum", "DE", 60),
        Office("DEFRAA", "Frankfurt International Mail Centre", "DE", 60),
    ),
    "FR": (
        Office("75001", "Paris Louvre", "FR", 60),
        Office("94150", "Chilly-Mazarin PIC", "FR", 60),
        Office("FRCDGA", "Roissy CDG Centre International", "FR", 60),
    ),
    "GB": (
        Office("EC1A1BB", "London Mount Pleasant", "GB", 0),
        Office("TW63XA", "Heathrow Worldwide DO", "GB", 0),
        Office("GBLONA", "London Heathrow IMC", "GB", 0),
    ),
    "AU": (
        Office("2000", "Sydney GPO", "AU", None),
        Office("2170", "Sydney Parcel Facility", "AU", None),
        Office("AUSYDA", "Sydney Gateway Facility", "AU", 600),
    ),
    "RU": (
        Office("101000", "Moskva Pochtamt", "RU", None),
        Office("140961", "Vnukovo MMPO", "RU", 180),
        Office("RUMOWA", "Moscow Sheremetyevo IPC", "RU", 180),
    ),
}
_ORIGINS = ("CN", "CN", "CN", "CN", "JP", "US", "DE", "FR", "GB")
_DESTINATIONS = tuple(_OFFICES)
_HUBS = ("DEFRAA", "CNPEKA", "USJFKA")
_SERVICE_INDICATORS = ("EA", "EB", "EE", "EG", "EM", "EP", "ER", "ES", "EV", "EX", "EY", "EZ")
_MISSED = ("13", "Addressee absent")  # reason of an EMH, then a second delivery attempt

#: Columns of the import CSV: the required fields and the usual optional ones (records.FIELDS).
CSV_COLUMNS = (
    "tracking_number",
    "event_code",
    "event_time",
    "utc_offset",
    "office_code",
    "office_name",
    "country",
    "next_office_code",
    "reason_code",
    "reason_text",
    "signatory",
)


@dataclass(slots=True)
class Scan:
    """One generated event, before it is encoded for the store or the CSV."""

    code: str
    utc_minute: int  # minutes since _EPOCH, UTC
    office: Office
    next_office: str | None = None
    reason: tuple[str, str] | None = None
    signatory: str | None = None

    @property
    def local_minute(self) -> int:
        return self.utc_minute + (self.office.offset or 0)


def _journey(rng: random.Random, origin: str) -> list[Scan]:
    """An EMS journey of about 15 scans, oldest first; some stop early (still in transit)."""
    dest = rng.choice([c for c in _DESTINATIONS if c != origin])
    post, sort_o, oe_o = _OFFICES[origin]
    deliver, sort_d, oe_d = _OFFICES[dest]
    t = rng.randrange(_YEAR_MINUTES)
    scans: list[Scan] = []

    def add(code: str, office: Office, gap: tuple[int, int], **extra: Any) -> None:
        nonlocal t
        low, high = gap
        t += low + int(rng.random() * (high - low))
        scans.append(Scan(code, t, office, **extra))

    add("EMA", post, (0, 0))
    add("EDD", sort_o, (60, 600))
    add("EDE", sort_o, (30, 240))
    add("EMB", oe_o, (120, 900))
    add("EXA", oe_o, (10, 120))
    add("EXC", oe_o, (30, 600))
    add("EMC", oe_o, (60, 1440), next_office=oe_d.code)
    if rng.random() < 0.3:
        hub = _OFFICES[_HUBS[rng.randrange(len(_HUBS))][:2]][2]
        if hub.country not in (origin, dest):
            add("EMJ", hub, (300, 1440))
            add("EMK", hub, (120, 1440), next_office=oe_d.code)
    add("EMD", oe_d, (300, 2880))
    add("EDB", oe_d, (10, 240))
    add("EDC", oe_d, (60, 2880))
    add("EMF", oe_d, (30, 600))
    add("EDD", sort_d, (120, 1440))
    add("EDE", sort_d, (30, 600))
    add("EMG", deliver, (120, 1440))
    add("EDG", deliver, (30, 300))
    if rng.random() < 0.15:
        add("EMH", deliver, (60, 480), reason=_MISSED)
        add("EDG", deliver, (900, 1500))
    add("EMI", deliver, (30, 480), signatory="W. Smith")
    if rng.random() < 0.15:  # still on its way: cut after a random scan
        del scans[rng.randint(1, len(scans) - 1) :]
    return scans


def _number(k: int, count: int, rng: random.Random) -> str:
    """The `k`-th of `count` distinct valid S10 numbers, ascending in `k` (the key order).

    Item k gets its own slot of serials, so chunks made apart (in other processes) stay sorted
    and distinct when put together.
    """
    indicators = len(_SERVICE_INDICATORS)
    si = k * indicators // count
    first = -(-si * count // indicators)  # the first k of this service indicator
    step = max(2, min(1000, 10**8 // (count // indicators + 2)))
    digits = f"{(k - first) * step + rng.randrange(step):08d}"
    return f"{_SERVICE_INDICATORS[si]}{digits}{check_digit(digits)}{rng.choice(_ORIGINS)}"


@cache
def _moment(minute: int) -> tuple[datetime, str, str, str]:
    """A minute since _EPOCH as (datetime, SQLAlchemy's SQLite storage text, ISO to the second,
    ISO to the minute).

    Cached: a year has ~530,000 minutes and the builder formats 15 million times.
    """
    value = _EPOCH + minute * _MINUTE
    iso = value.isoformat(timespec="seconds")
    return value, value.isoformat(" ", "microseconds"), iso, iso[:16]


def _key(code: str, minute: int, office: Office) -> str:
    # `events.dedupe_key` inlined on cached texts (the builder's hottest line); `_rows` checks
    # it against the real one once per item.
    text = f"{code}|{_moment(minute)[3]}|{office.code}"
    return blake2b(text.encode(), digest_size=12).hexdigest()


def _instant(scan: Scan) -> str:
    # The writer's instant of the reuse window: UTC where known, else the local wall time.
    known = scan.office.offset is not None
    return _moment(scan.utc_minute if known else scan.local_minute)[1]


@cache
def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _raw(number: str, scan: Scan, local: str) -> str:
    # The import's raw payload: the CSV record as a JSON object, in a one-element array.
    o = scan.office
    offset = _offset_text(o.offset) if o.offset is not None else ""
    return (
        f'[{{"tracking_number":"{number}","event_code":"{scan.code}",'
        f'"event_time":"{local}","utc_offset":"{offset}",'
        f'"office_code":"{o.code}","office_name":"{o.name}","country":"{o.country}"}}]'
    )


def _rows(number: str, scans: list[Scan]) -> tuple[tuple[Any, ...], list[tuple[Any, ...]]]:
    """The items row and the events rows of one item, as the writer would store them."""
    events: list[tuple[Any, ...]] = []
    first = scans[0]
    local = _moment(first.local_minute)[0]
    expected = dedupe_key(first.code, local, first.office.code, first.office.name)
    if _key(first.code, first.local_minute, first.office) != expected:
        raise AssertionError("the inlined dedupe key no longer matches events.dedupe_key")
    for s in scans:
        o = s.office
        _, local_text, local_iso, _ = _moment(s.local_minute)
        reason_code, reason_text = s.reason or (None, None)
        events.append(
            (
                number,
                1,
                _key(s.code, s.local_minute, o),
                s.code,
                local_text,
                o.offset,
                _moment(s.utc_minute)[1] if o.offset is not None else None,
                o.code,
                o.name,
                o.country,
                s.next_office,
                reason_code,
                reason_text,
                s.signatory,
                _SOURCE,
                _raw(number, s, local_iso),
                _INGESTED,
            )
        )
    events.sort(key=lambda row: row[2])  # primary-key order within the item
    last = CATALOGUE[scans[-1].code]
    item = (
        number,
        1,
        "s10",
        "ems",
        None,
        None,
        None,
        _instant(scans[0]),
        _instant(scans[-1]),
        last.status.value,
        last.detail,
        last.code,
        len(scans),
        _INGESTED,
        _INGESTED,
    )
    return item, events


_ITEMS_SQL = (
    "INSERT INTO items (number, generation, kind, service, origin_country, destination_country,"
    " destination_postcode, first_event_at, last_event_at, status, status_detail, status_code,"
    " event_count, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_EVENTS_SQL = (
    "INSERT INTO events (number, generation, dedupe_key, code, occurred_local, utc_offset_min,"
    " occurred_utc, office_code, office_name, country, next_office_code, reason_code,"
    " reason_text, signatory, source, raw, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def schema_head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or "none"


def database_path(items: int, seed: int = 1) -> Path:
    return OUT / f"items-{items}-seed{seed}-v{DATASET_VERSION}-{schema_head()}.sqlite"


def create_schema(path: Path) -> None:
    """An empty database with our schema, exactly as the app would create it."""
    engine = make_engine(f"sqlite:///{path}")
    try:
        ensure_schema(engine)
    finally:
        engine.dispose()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=False,
    )


Rows = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]
_CHUNK = 5_000  # items per unit of work


def _chunk(task: tuple[int, int, int, int]) -> Rows:
    """The items rows and events rows of items start..stop-1 (runs in a worker process)."""
    seed, count, start, stop = task
    rng = random.Random(seed * 1_000_003 + start)
    item_rows: list[tuple[Any, ...]] = []
    event_rows: list[tuple[Any, ...]] = []
    for k in range(start, stop):
        number = _number(k, count, rng)
        item, events = _rows(number, _journey(rng, number[-2:]))
        item_rows.append(item)
        event_rows.extend(events)
    return item_rows, event_rows


def _chunks(seed: int, count: int, workers: int) -> Iterator[Rows]:
    """Every chunk in key order, made by `workers` processes a few chunks ahead of the writer."""
    tasks = [(seed, count, start, min(start + _CHUNK, count)) for start in range(0, count, _CHUNK)]
    if workers == 0:
        yield from map(_chunk, tasks)
        return
    with ProcessPoolExecutor(workers) as pool:
        ahead: deque[Future[Rows]] = deque()
        for task in tasks:
            ahead.append(pool.submit(_chunk, task))
            if len(ahead) > 2 * workers:  # bounded: memory stays flat whatever the size
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def build_database(items: int, seed: int = 1, *, workers: int = 1, force: bool = False) -> Path:
    """The cached database of `items` items (built first if missing); returns its path."""
    path = database_path(items, seed)
    if path.exists() and not force:
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    create_schema(partial)
    started = time.perf_counter()
    conn = sqlite3.connect(partial, isolation_level=None)
    conn.execute("PRAGMA journal_mode=OFF")  # a half-built file is thrown away, never used
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")
    conn.execute("PRAGMA foreign_keys=OFF")
    total_events = done = 0
    with _progress() as progress:
        task = progress.add_task(f"Building {path.name}", total=items)
        conn.execute("BEGIN")
        for item_rows, event_rows in _chunks(seed, items, workers):
            conn.executemany(_ITEMS_SQL, item_rows)
            conn.executemany(_EVENTS_SQL, event_rows)
            refresh_driver(conn, "qmark", [row[0] for row in item_rows], _BUILT)  # read model
            done += len(item_rows)
            total_events += len(event_rows)
            progress.update(task, completed=done)
        conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.close()
    partial.rename(path)
    seconds = time.perf_counter() - started
    print(
        f"{path.name}: {items:,} items, {total_events:,} events "
        f"({total_events / max(items, 1):.1f} per item), {path.stat().st_size / 2**30:.2f} GiB, "
        f"built in {seconds:.0f} s"
    )
    return path


def pg_urls(url: str) -> tuple[str, str]:
    """A PostgreSQL URL in either spelling as (SQLAlchemy's with psycopg, libpq's)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"not a PostgreSQL URL: {parsed.render_as_string()}")
    with_driver = parsed.set(drivername="postgresql+psycopg")
    plain = parsed.set(drivername="postgresql")
    return with_driver.render_as_string(False), plain.render_as_string(False)


def _pg_key(items: int, seed: int) -> str:
    return f"items-{items}-seed{seed}-v{DATASET_VERSION}-{schema_head()}"


def _pg_connect(libpq_url: str) -> psycopg.Connection[Any]:
    """A connection to the database of `libpq_url`, which is created first if missing."""
    try:
        return psycopg.connect(libpq_url)
    except psycopg.OperationalError as error:
        if "does not exist" not in str(error):
            raise
    name = make_url(libpq_url).database
    admin_url = make_url(libpq_url).set(database="postgres").render_as_string(False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name or "")))
    return psycopg.connect(libpq_url)


def _utc(text: str | None) -> str | None:
    # SQLAlchemy's SQLite text of an aware UTC instant, for a `timestamptz` column.
    return None if text is None else text + "+00"


_ITEM_COLUMNS = _ITEMS_SQL[_ITEMS_SQL.index("(") : _ITEMS_SQL.index(")") + 1]
_EVENT_COLUMNS = _EVENTS_SQL[_EVENTS_SQL.index("(") : _EVENTS_SQL.index(")") + 1]


def build_postgres(
    url: str, items: int, seed: int = 1, *, workers: int = 1, force: bool = False
) -> str:
    """The rows of `build_database` in the PostgreSQL database of `url`, sent with COPY.

    Returns the SQLAlchemy URL (psycopg driver) of that database. Reused when it already holds
    this data set; refused when it holds tables that are not a data set of ours.
    """
    sa_url, libpq_url = pg_urls(url)
    key = _pg_key(items, seed)
    with _pg_connect(libpq_url) as conn:
        tables = {
            row[0]
            for row in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        if "bench_dataset" in tables:
            row = conn.execute("SELECT key FROM bench_dataset").fetchone()
            if row is not None and row[0] == key and not force:
                return sa_url
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        elif tables:
            raise SystemExit(
                f"{make_url(libpq_url).render_as_string()} holds tables that are not a benchmark "
                "data set: name an empty (or missing) database"
            )
        # Marked first: a build cut short leaves a mark that does not match, so it is rebuilt.
        conn.execute("CREATE TABLE bench_dataset (key text NOT NULL)")
        conn.execute("INSERT INTO bench_dataset VALUES ('building')")
        conn.commit()
    engine = make_engine(sa_url)
    try:
        upgrade(engine)  # the migrations, as `emstrack db upgrade` applies them
    finally:
        engine.dispose()
    started = time.perf_counter()
    total_events = done = 0
    numbers: list[str] = []
    with _pg_connect(libpq_url) as conn, _progress() as progress:
        task = progress.add_task(f"Building {key} on PostgreSQL", total=items)
        try:  # the foreign key's trigger skipped (superuser only): the rows are consistent
            conn.execute("SET session_replication_role = replica")
        except psycopg.Error:
            conn.rollback()
        cursor = conn.cursor()
        for item_rows, event_rows in _chunks(seed, items, workers):
            with cursor.copy(f"COPY items {_ITEM_COLUMNS} FROM STDIN") as copy:
                for item in item_rows:
                    copy.write_row((*item[:13], _utc(item[13]), _utc(item[14])))
            with cursor.copy(f"COPY events {_EVENT_COLUMNS} FROM STDIN") as copy:
                for e in event_rows:
                    copy.write_row((*e[:6], _utc(e[6]), *e[7:16], _utc(e[16])))
            numbers.extend(row[0] for row in item_rows)
            done += len(item_rows)
            total_events += len(event_rows)
            progress.update(task, completed=done)
        conn.commit()
    with psycopg.connect(libpq_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")  # as autovacuum would leave a database that took rows
    # The read model, by the writer's own code, once the planner knows the tables (before
    # ANALYZE it scans all of `events` for each chunk's `number IN (...)`).
    with _pg_connect(libpq_url) as conn, _progress() as progress:
        task = progress.add_task("The read model (item_answers)", total=items)
        for start in range(0, len(numbers), 2000):
            chunk = numbers[start : start + 2000]
            refresh_driver(conn, "pyformat", chunk, _BUILT)
            progress.update(task, completed=start + len(chunk))
        conn.execute("UPDATE bench_dataset SET key = %s", (key,))
        conn.commit()
    with psycopg.connect(libpq_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(
        f"PostgreSQL {key}: {items:,} items, {total_events:,} events, "
        f"built in {time.perf_counter() - started:.0f} s"
    )
    return sa_url


def csv_path(events: int, order: str = "time", seed: int = 2) -> Path:
    suffix = "" if order == "time" else f"-by-{order}"
    return OUT / f"events-{events}{suffix}.csv"


def _csv_record(number: str, scan: Scan) -> list[str]:
    o = scan.office
    local = _moment(scan.local_minute)[2]
    reason_code, reason_text = scan.reason or ("", "")
    # Half of the rows say their offset; the rest leave it to the importer (from the country).
    offset = _offset_text(o.offset) if o.offset is not None and scan.utc_minute % 2 else ""
    return [
        number,
        scan.code,
        local,
        offset,
        o.code,
        o.name,
        o.country,
        scan.next_office or "",
        reason_code,
        reason_text,
        scan.signatory or "",
    ]


def write_csv(events: int, order: str = "time", seed: int = 2, *, force: bool = False) -> Path:
    """The cached import CSV of `events` events; `order` is `time` (a feed) or `item`."""
    path = csv_path(events, order, seed)
    if path.exists() and not force:
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    records: list[tuple[int, list[str]]] = []
    k = 0
    while len(records) < events:
        number = _number(k, events, rng)  # `events` numbers: far more than needed
        k += 1
        for scan in _journey(rng, number[-2:]):
            records.append((scan.utc_minute, _csv_record(number, scan)))
    del records[events:]
    if order == "time":
        records.sort(key=lambda pair: pair[0])
    partial = path.with_suffix(".partial")
    with partial.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(fields for _, fields in records)
    partial.rename(path)
    print(f"{path.name}: {events:,} events, {path.stat().st_size / 2**20:.0f} MiB")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="items in the database")
    parser.add_argument("--csv", type=int, default=0, help="events in the import CSV (0: none)")
    parser.add_argument("--order", choices=("time", "item"), default="time", help="CSV order")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=1, help="generating processes (0: in the writer's)"
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    parser.add_argument("--database-url", help="build in this PostgreSQL database instead")
    args = parser.parse_args(argv)
    if args.items and args.database_url:
        url = build_postgres(args.database_url, args.items, args.seed, workers=args.workers)
        print(make_url(url).render_as_string())
    elif args.items:
        print(build_database(args.items, args.seed, workers=args.workers, force=args.force))
    if args.csv:
        print(write_csv(args.csv, args.order, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
