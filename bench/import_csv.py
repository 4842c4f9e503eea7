"""Import throughput and memory: `emstrack import` against plain `sqlite3` `executemany`.

Both write the same CSV of K events (built by dataset.py and cached; in time order, as a feed
arrives, or grouped by item with `--order item`) into a fresh database with our schema:

- baseline: the CSV is read with the csv module and turned into the rows our writer stores
  (events rows with dedupe key, local and UTC times, raw JSON payload; one items row per
  number with its final status) before the clock starts. Timed: inserting them with
  `executemany` in transactions of the import's batch size, with the PRAGMAs of our engine
  (WAL, synchronous=NORMAL, foreign keys on). No reads, no de-duplication, no item updates.
- ours: `emstrack import FILE -q` in a subprocess, timed from start to exit (so including
  interpreter start-up); the schema is created before. Peak RSS from the child's VmHWM.

Ours also runs on a quarter-size file: its peak RSS should be the same (streamed import).

`--before TREE` runs `emstrack import` from another source tree as well (an archive of an
earlier commit: `git archive REV | tar -x -C TREE`), on the same file, alternating with ours, so
that a change is measured against what it changed in the same minutes of a shared machine;
`--ours TREE` runs ours from such a tree too (a commit without the checkout's uncommitted
changes); `--rounds N` runs each contender N times (the table shows each run with the load
average before it, the summary the medians).

On PostgreSQL (`--database-url postgresql://HOST/NAME`) each contender gets a fresh database
`NAME_import` (dropped and created again: never name one you keep), with the migrations applied,
and the baseline sends the same parsed rows with `COPY ... FROM STDIN`, one COPY of items and one
of events per batch, a transaction each: the floor for an import through a staging table.

    python bench/import_csv.py                   # 1,000,000 events, and 250,000
    python bench/import_csv.py --events 200000   # a quick run
    python bench/import_csv.py --events 200000 --skip-small \
        --database-url postgresql://127.0.0.1/emstrack_bench
    python bench/import_csv.py --events 200000 --skip-small --rounds 3 --before /tmp/before \
        --database-url postgresql://127.0.0.1/emstrack_bench
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pstats
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import dataset
import psycopg
from psycopg import sql
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from emstrack.config import Settings
from emstrack.domain.events import CATALOGUE, dedupe_key
from emstrack.domain.times import parse_offset
from emstrack.store.engine import make_engine, upgrade

AIM = 0.5
EMSTRACK = Path(sys.executable).with_name("emstrack")
console = Console()

_OFFSETS = {office.code: office.offset for trio in dataset._OFFICES.values() for office in trio}
_NOW = "2025-01-02 03:04:05.000000"
_EVENT_COLUMNS = (
    "(number, generation, dedupe_key, code, occurred_local, utc_offset_min, occurred_utc,"
    " office_code, office_name, country, next_office_code, reason_code, reason_text, action_code,"
    " action_text, retention_code, retention_text, signatory, description, source, raw,"
    " ingested_at)"
)


@dataclass(frozen=True, slots=True)
class Rows:
    """What the baseline inserts, batch by batch: (items rows, events rows)."""

    batches: list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]
    events: int
    items: int


def _text(value: datetime | None) -> str | None:
    return value.isoformat(" ", "microseconds") if value is not None else None


def _event_row(record: dict[str, str], source: str) -> tuple[Any, ...]:
    local = datetime.fromisoformat(record["event_time"])
    given = record["utc_offset"]
    offset = parse_offset(given) if given else _OFFSETS.get(record["office_code"])
    utc = local - timedelta(minutes=offset) if offset is not None else None
    raw = json.dumps([record], ensure_ascii=False, separators=(",", ":"))
    return (
        record["tracking_number"],
        1,
        dedupe_key(record["event_code"], local, record["office_code"], record["office_name"]),
        record["event_code"],
        _text(local),
        offset,
        _text(utc),
        record["office_code"] or None,
        record["office_name"] or None,
        record["country"] or None,
        record["next_office_code"] or None,
        record["reason_code"] or None,
        record["reason_text"] or None,
        None,
        None,
        None,
        None,
        record["signatory"] or None,
        None,
        source,
        raw,
        _NOW,
    )


def _records(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        yield from csv.DictReader(f)


def parse_rows(path: Path, batch_size: int) -> Rows:
    """The baseline's rows, parsed before the clock starts."""
    events = [_event_row(record, path.name) for record in _records(path)]
    # Per number: first and last instant, and the newest event (its status is the item's).
    spans: dict[str, list[Any]] = {}
    for row in events:
        instant = row[6] or row[4]
        span = spans.get(row[0])
        if span is None:
            spans[row[0]] = [instant, instant, row[3], 1]
        else:
            span[0] = min(span[0], instant)
            if instant >= span[1]:
                span[1], span[2] = instant, row[3]
            span[3] += 1
    batches: list[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]] = []
    seen: set[str] = set()
    for start in range(0, len(events), batch_size):
        chunk = events[start : start + batch_size]
        items = []
        for row in chunk:
            if row[0] not in seen:
                seen.add(row[0])
                first, last, code, count = spans[row[0]]
                entry = CATALOGUE[code]
                status = (entry.status.value, entry.detail, code, count, _NOW, _NOW)
                items.append((row[0], 1, "s10", "ems", None, None, None, first, last, *status))
        batches.append((items, chunk))
    return Rows(batches, len(events), len(seen))


def run_baseline(rows: Rows, db: Path) -> float:
    """Seconds to insert every batch, each in its own transaction, as our engine would."""
    dataset.create_schema(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    items_sql = dataset._ITEMS_SQL
    events_sql = (
        "INSERT INTO events (number, generation, dedupe_key, code, occurred_local,"
        " utc_offset_min, occurred_utc, office_code, office_name, country, next_office_code,"
        " reason_code, reason_text, action_code, action_text, retention_code, retention_text,"
        " signatory, description, source, raw, ingested_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    )
    start = time.perf_counter()
    for items, events in rows.batches:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(items_sql, items)
        conn.executemany(events_sql, events)
        conn.execute("COMMIT")
    seconds = time.perf_counter() - start
    conn.close()
    return seconds


@dataclass(frozen=True, slots=True)
class Run:
    seconds: float
    peak_rss_mib: float
    events: int
    load: float = 0.0  # the machine's 1-minute load average when the run began


def _load() -> float:
    return os.getloadavg()[0]


def _emstrack(tree: Path | None, *args: str) -> list[str]:
    """`emstrack ARGS`, from this checkout or from the source tree `tree`."""
    if tree is None:
        return [str(EMSTRACK), *args]
    code = f"import sys; sys.path.insert(0, {str(tree)!r}); from emstrack.cli import main; main()"
    return [sys.executable, "-c", code, *args]


def _command(csv_file: Path, tree: Path | None) -> list[str]:
    """`emstrack import FILE -q`, from this checkout or from the source tree `tree`."""
    return _emstrack(tree, "import", str(csv_file), "-q")


def _migrate(env: dict[str, str], tree: Path) -> None:
    """The schema of `tree`'s own migrations (another tree may have other revisions)."""
    subprocess.run(_emstrack(tree, "db", "upgrade"), env=env, check=True, capture_output=True)


def run_ours(csv_file: Path, db: Path, tree: Path | None = None) -> Run:
    """`emstrack import FILE -q` on a fresh database: wall time and the child's peak RSS."""
    env = {**os.environ, "EMSTRACK_DATABASE_URL": f"sqlite:///{db}"}
    if tree is None:
        dataset.create_schema(db)
    else:
        _migrate(env, tree)
    load = _load()
    start = time.perf_counter()
    proc = subprocess.Popen(_command(csv_file, tree), env=env, stdout=subprocess.DEVNULL)
    # The child's own high-water mark, read from /proc while it runs. Not the rusage of
    # wait4: a forked child starts as a copy of this (large) process, and Linux carries that
    # copy's RSS into ru_maxrss across exec.
    peak_kib = 0
    while proc.poll() is None:
        peak_kib = max(peak_kib, _hwm_kib(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"emstrack import {csv_file.name} exited with {proc.returncode}")
    conn = sqlite3.connect(db)
    (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
    conn.close()
    return Run(seconds, peak_kib / 1024, int(events), load)


def _fresh_postgres(url: str, tree: Path | None = None) -> tuple[str, str]:
    """A new, empty `NAME_import` database beside the one of `url`, migrated to the head (of
    `tree`'s migrations where one is given).

    Returns its (SQLAlchemy URL, libpq URL)."""
    sa_url, libpq_url = dataset.pg_urls(url)
    name = f"{make_url(libpq_url).database}_import"
    admin = make_url(libpq_url).set(database="postgres").render_as_string(False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    sa_url = make_url(sa_url).set(database=name).render_as_string(False)
    if tree is not None:
        _migrate({**os.environ, "EMSTRACK_DATABASE_URL": sa_url}, tree)
        return sa_url, make_url(libpq_url).set(database=name).render_as_string(False)
    engine = make_engine(sa_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return sa_url, make_url(libpq_url).set(database=name).render_as_string(False)


def run_ours_postgres(csv_file: Path, url: str, tree: Path | None = None) -> Run:
    """`emstrack import FILE -q` into a fresh PostgreSQL database: wall time and peak RSS."""
    sa_url, libpq_url = _fresh_postgres(url, tree)
    env = {**os.environ, "EMSTRACK_DATABASE_URL": sa_url}
    load = _load()
    start = time.perf_counter()
    proc = subprocess.Popen(_command(csv_file, tree), env=env, stdout=subprocess.DEVNULL)
    peak_kib = 0
    while proc.poll() is None:
        peak_kib = max(peak_kib, _hwm_kib(proc.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"emstrack import {csv_file.name} exited with {proc.returncode}")
    with psycopg.connect(libpq_url) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
    return Run(seconds, peak_kib / 1024, int(row[0]) if row else 0, load)


def _utc(text: str | None) -> str | None:
    return None if text is None else text + "+00"


def run_baseline_postgres(rows: Rows, url: str) -> float:
    """Seconds to COPY every batch (items, then events) into a fresh database, a transaction
    each."""
    _, libpq_url = _fresh_postgres(url)
    items_columns = dataset._ITEMS_SQL[
        dataset._ITEMS_SQL.index("(") : dataset._ITEMS_SQL.index(")") + 1
    ]
    with psycopg.connect(libpq_url) as conn:
        cursor = conn.cursor()
        start = time.perf_counter()
        for items, events in rows.batches:
            with cursor.copy(f"COPY items {items_columns} FROM STDIN") as copy:
                for item in items:
                    copy.write_row((*item[:13], _utc(item[13]), _utc(item[14])))
            with cursor.copy(f"COPY events {_EVENT_COLUMNS} FROM STDIN") as copy:
                for e in events:
                    copy.write_row((*e[:6], _utc(e[6]), *e[7:21], _utc(e[21])))
            conn.commit()
        return time.perf_counter() - start


def _hwm_kib(pid: int) -> int:
    """VmHWM (peak resident set) of a running process, in KiB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def profile_ours(csv_file: Path, db: Path, top: int = 25) -> None:
    """`emstrack import` once more, under cProfile; prints the top entries."""
    dataset.create_schema(db)
    env = {**os.environ, "EMSTRACK_DATABASE_URL": f"sqlite:///{db}"}
    out = dataset.OUT / "import.prof"
    command = [sys.executable, "-m", "cProfile", "-o", str(out), str(EMSTRACK), "import"]
    subprocess.run([*command, str(csv_file), "-q"], env=env, stdout=subprocess.DEVNULL, check=True)
    console.print(f"\ncProfile of ours on {csv_file.name} (saved to {out}):")
    stats = pstats.Stats(str(out), stream=sys.stdout).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def _tree_commit(tree: Path) -> str:
    """The commit an archived tree was made from, when its folder name ends with it."""
    return tree.name.rsplit("-", 1)[-1] if "-" in tree.name else tree.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the big file")
    parser.add_argument("--order", choices=("time", "item"), default="time", help="CSV order")
    parser.add_argument("--skip-small", action="store_true", help="no quarter-size run")
    parser.add_argument(
        "--profile", action="store_true", help="then profile ours on the quarter-size file"
    )
    parser.add_argument(
        "--database-url", help="PostgreSQL: import into fresh databases NAME_import there"
    )
    parser.add_argument(
        "--before", type=Path, help="also run emstrack import from this source tree (big file)"
    )
    parser.add_argument(
        "--ours", type=Path, help="run ours from this source tree (default: the checkout)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="runs of each contender")
    args = parser.parse_args(argv)
    for option, tree in (("--before", args.before), ("--ours", args.ours)):
        if tree is not None and not (tree / "emstrack" / "cli").is_dir():
            parser.error(f"{option} {tree}: no emstrack source tree there")

    batch_size = Settings().import_batch_size
    sizes = [args.events] if args.skip_small else [args.events // 4, args.events]
    files = {n: dataset.write_csv(n, args.order) for n in sizes}
    console.print(
        f"CSV in {args.order} order; batches of {batch_size:,} events; "
        f"files: {', '.join(p.name for p in files.values())}"
    )
    # (label, events, tree) of each contender; ours on the big file last of each round.
    contenders: list[tuple[str, int, Path | None]] = []
    if args.before is not None:
        contenders.append((f"before: {_tree_commit(args.before)}", args.events, args.before))
    contenders += [("ours: emstrack import", n, args.ours) for n in sizes]
    runs: dict[tuple[str, int], list[Run]] = {(label, n): [] for label, n, _ in contenders}
    with tempfile.TemporaryDirectory(dir=dataset.OUT, prefix="import-") as tmp:
        for round_ in range(args.rounds):
            for k, (label, n, tree) in enumerate(contenders):
                path = files[n]
                if args.database_url:
                    run = run_ours_postgres(path, args.database_url, tree)
                else:
                    # A database file of its own for every run: never one already imported into.
                    run = run_ours(path, Path(tmp) / f"run-{round_}-{k}-{n}.sqlite", tree)
                if run.events != n:
                    raise SystemExit(f"{label} stored {run.events:,} events of {n:,}")
                runs[(label, n)].append(run)
                console.print(
                    f"{label}, {n:,} events: {run.seconds:.1f} s, "
                    f"{n / run.seconds:,.0f} events/s, peak RSS {run.peak_rss_mib:.0f} MiB, "
                    f"load {run.load:.1f}"
                )
        parse_start = time.perf_counter()
        rows = parse_rows(files[args.events], batch_size)
        console.print(
            f"baseline rows: {rows.events:,} events, {rows.items:,} items "
            f"(parsed in {time.perf_counter() - parse_start:.0f} s, not timed)"
        )
        base: list[float] = []
        for round_ in range(args.rounds):
            if args.database_url:
                base.append(run_baseline_postgres(rows, args.database_url))
            else:
                base.append(run_baseline(rows, Path(tmp) / f"baseline-{round_}.sqlite"))
    base_seconds = statistics.median(base)

    def median(label: str, n: int) -> float:
        return statistics.median(run.seconds for run in runs[(label, n)])

    table = Table("contender", "events", "seconds", "events/s", "peak RSS MiB", "load")
    for (label, n), done in runs.items():
        for run in done:
            table.add_row(
                label,
                f"{n:,}",
                f"{run.seconds:.1f}",
                f"{n / run.seconds:,.0f}",
                f"{run.peak_rss_mib:.0f}",
                f"{run.load:.1f}",
            )
    for seconds in base:
        table.add_row(
            "baseline: COPY" if args.database_url else "baseline: executemany",
            f"{rows.events:,}",
            f"{seconds:.1f}",
            f"{rows.events / seconds:,.0f}",
            "",
            "",
        )
    console.print(table)
    ours = "ours: emstrack import"
    ours_rate = args.events / median(ours, args.events)
    base_rate = rows.events / base_seconds
    ratio = ours_rate / base_rate
    verdict = "" if ratio >= AIM else "  BELOW AIM"
    memory = ""
    if len(sizes) == 2:
        small, big = runs[(ours, sizes[0])][-1], runs[(ours, args.events)][-1]
        memory = (
            f"; peak RSS {small.peak_rss_mib:.0f} MiB at {sizes[0]:,} events, "
            f"{big.peak_rss_mib:.0f} MiB at {args.events:,}"
        )
    before = ""
    if args.before is not None:
        label = contenders[0][0]
        before_rate = args.events / median(label, args.events)
        before = f"; {label} {before_rate:,.0f} events/s, ours {ours_rate / before_rate:.2f} x"
    where = "PostgreSQL" if args.database_url else "SQLite"
    medians = " (medians)" if args.rounds > 1 else ""
    print(
        f"import ({where}){medians}: ours {ours_rate:,.0f} events/s, baseline "
        f"{base_rate:,.0f} events/s, ratio {ratio:.2f} (aim >= {AIM}){verdict}{before}{memory}"
    )
    if args.profile:
        with tempfile.TemporaryDirectory(dir=dataset.OUT, prefix="import-") as tmp:
            profile_ours(files[sizes[0]], Path(tmp) / "profiled.sqlite")
    return 0


if __name__ == "__main__":
    sys.exit(main())
