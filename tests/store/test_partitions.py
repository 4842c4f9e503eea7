"""`emstrack db upgrade --partitions N`: the tables keyed by number hash-partitioned on PostgreSQL.

The store's other tests run on a partitioned database as well (tests/store/conftest.py).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import DELIVERED_TO_DE, POSTGRES_URL, Loader, history
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.config import Settings, get_settings
from emstrack.domain import s10
from emstrack.lookup import Outcome, Tracker
from emstrack.store import answers
from emstrack.store.database import Database
from emstrack.store.engine import _head, current_revision, make_engine
from emstrack.store.events import _history_sql
from emstrack.store.partitions import PARTITIONED, partitioned_tables

#: Twelve valid EMS numbers: enough to land in more than one of the partitions.
NUMBERS = [f"EE{n:08d}{s10.check_digit(f'{n:08d}')}CN" for n in range(10_000_001, 10_000_013)]


@pytest.fixture
def fresh_url() -> Iterator[str]:
    """A new, empty PostgreSQL database (no tables at all), dropped afterwards."""
    admin_url = make_url(POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"emstrack_test_fresh_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server at {admin_url.render_as_string()}: {exc.orig}")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _upgrade(url: str, *args: str) -> tuple[int, str]:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, ["db", "upgrade", *args], env={"EMSTRACK_DATABASE_URL": url, "COLUMNS": "300"}
        )
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output + (result.stderr if result.stderr_bytes else "")


def test_upgrade_with_partitions_lays_out_a_fresh_database(fresh_url: str) -> None:
    code, output = _upgrade(fresh_url, "--partitions", "4")
    assert code == 0, output
    assert "partitioned by number into 4" in output
    engine = make_engine(fresh_url)
    try:
        with engine.connect() as conn:
            assert partitioned_tables(conn) == dict.fromkeys(PARTITIONED, 4)
            # The unique keys all start with the number; no table outside refers into them.
            keys = conn.execute(
                text(
                    "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint"
                    " WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(:names)"
                ),
                {"names": list(PARTITIONED)},
            ).all()
        assert {t for t, _ in keys} == set(PARTITIONED)
        assert all(re.match(r"(PRIMARY KEY|UNIQUE) \(number\b", d) for _, d in keys), keys
        assert current_revision(engine) == _head()  # later migrations apply on top
    finally:
        engine.dispose()
    code, output = _upgrade(fresh_url, "--partitions", "4")  # again: nothing to lay out
    assert code == 0, output
    assert "already partitioned" in output


@pytest.mark.parametrize("count", ["1", "0"])
def test_fewer_than_two_partitions_is_refused(fresh_url: str, count: str) -> None:
    code, output = _upgrade(fresh_url, "--partitions", count)
    assert code == 1
    assert "2 or more" in output


def test_partitions_are_refused_on_sqlite(tmp_path: Path) -> None:
    code, output = _upgrade(f"sqlite:///{tmp_path / 'x.db'}", "--partitions", "4")
    assert code == 1
    assert "needs PostgreSQL" in output
    assert not (tmp_path / "x.db").exists() or (tmp_path / "x.db").stat().st_size == 0


def test_a_database_with_unpartitioned_tables_is_refused_with_the_way_over(
    fresh_url: str,
) -> None:
    assert _upgrade(fresh_url)[0] == 0  # the usual layout
    code, output = _upgrade(fresh_url, "--partitions", "4")
    assert code == 1
    assert "not partitioned" in output
    assert "pg_dump --data-only" in output
    assert "emstrack import" in output


def test_a_lookup_reads_one_partition_of_each_table(partitioned_database: str) -> None:
    engine = make_engine(partitioned_database)
    db = Database(engine)
    try:
        with db.write() as unit:
            for table in ("events", "item_conflicts", "subscriptions", "item_answers", "items"):
                unit.execute(text(f"DELETE FROM {table}"))
        for number in NUMBERS:
            Loader(db)(*history(number, *DELIVERED_TO_DE[:3]))
        # The lookup's read of the read model, and the two range reads it was made from.
        items_sql, events_sql = _history_sql(db.paramstyle)
        answer_sql = answers.read_sql(db.paramstyle, "zh")
        scanned: dict[str, set[str]] = {}
        with db.raw_reader() as driver:
            cursor = driver.cursor()
            for number in NUMBERS:
                reads = ((answer_sql, (number,)), (items_sql, (number,)), (events_sql, (number, 1)))
                for sql, params in reads:
                    cursor.execute("EXPLAIN " + sql, params)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    found = set(
                        re.findall(
                            r"\b((?:item_answers|item_public_answers|items|events)_p\d+)\b", plan
                        )
                    )
                    tables = [name.rsplit("_p", 1)[0] for name in found]
                    # One partition of each table read, never an Append of all.
                    assert found, plan
                    assert len(tables) == len(set(tables)), plan
                    scanned.setdefault(number, set()).update(found)
            # The kept answers' read joins the read model's partition and its own.
            cursor.execute("EXPLAIN " + answer_sql, (NUMBERS[0],))
            plan = "\n".join(row[0] for row in cursor.fetchall())
            assert "item_public_answers_p" in plan, plan
            cursor.close()
        # The item and its events live in partitions of the same remainder (co-located).
        for parts in scanned.values():
            assert len({p.rsplit("_p", 1)[1] for p in parts}) == 1, parts
        assert len({frozenset(p) for p in scanned.values()}) > 1  # spread over partitions
        tracker = Tracker(db, Settings(database_url=partitioned_database))
        assert all(r.outcome == Outcome.FOUND for r in tracker.lookup_many(NUMBERS))
    finally:
        engine.dispose()


def test_an_existing_database_moves_over_with_a_data_only_dump(
    postgres_database: str, fresh_url: str
) -> None:
    """The way docs/scale.md gives: a new partitioned database, then the rows copied over."""
    tools = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))
    pg_dump = str(tools[-1]) if tools else shutil.which("pg_dump")
    psql = str(tools[-1].with_name("psql")) if tools else shutil.which("psql")
    if pg_dump is None or psql is None:
        pytest.skip("pg_dump and psql are not on this machine")
    old = Database(make_engine(postgres_database), owns_engine=True)
    try:
        old.ensure_schema()
        with old.write() as unit:
            for table in ("events", "item_conflicts", "subscriptions", "item_answers", "items"):
                unit.execute(text(f"DELETE FROM {table}"))
        for number in NUMBERS:
            Loader(old)(*history(number, *DELIVERED_TO_DE[:4]))
    finally:
        old.close()
    assert _upgrade(fresh_url, "--partitions", "3")[0] == 0
    source = make_url(postgres_database)
    target = make_url(fresh_url)

    def conn_args(url: object) -> list[str]:
        u = make_url(str(url))
        return ["-h", u.host or "127.0.0.1", "-p", str(u.port or 5432), "-U", u.username or ""]

    dump = subprocess.run(
        [pg_dump, "--data-only", "--exclude-table=alembic_version", *conn_args(source),
         source.database or ""],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    subprocess.run(
        [psql, "-v", "ON_ERROR_STOP=1", "-q", *conn_args(target), target.database or ""],
        input=dump.stdout, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    new = Database(make_engine(fresh_url), owns_engine=True)
    try:
        tracker = Tracker(new, Settings(database_url=fresh_url))
        results = tracker.lookup_many(NUMBERS)
        assert [len(r.events) for r in results] == [4] * len(NUMBERS)
        with new.read() as unit:
            spread = unit.execute(text("SELECT count(DISTINCT tableoid) FROM items")).scalar_one()
        assert spread > 1
    finally:
        new.close()
