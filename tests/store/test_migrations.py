"""The migrations build exactly the schema the code declares, on every database."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from emstrack.config import Settings
from emstrack.errors import DatabaseError
from emstrack.store.engine import current_revision, ensure_schema, make_engine, upgrade
from emstrack.store.partitions import include_name, include_object
from emstrack.store.schema import metadata

#: The partitions of a partitioned database (`db upgrade --partitions`) are not compared.
_SKIP_PARTITIONS = {"include_name": include_name, "include_object": include_object}


def test_migrations_match_the_declared_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=_SKIP_PARTITIONS)
        assert compare_metadata(context, metadata) == []


def test_upgrade_is_idempotent(engine: Engine) -> None:
    head = current_revision(engine)
    upgrade(engine)
    assert current_revision(engine) == head


def test_sqlite_file_is_created_in_wal_mode(tmp_path: pytest.TempPathFactory) -> None:
    path = f"{tmp_path}/sub/dir/x.db"
    engine = make_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert {"items", "events"} <= set(inspect(engine).get_table_names())
    engine.dispose()


def test_outdated_schema_without_auto_migrate_says_what_to_do(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    head = current_revision(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'old'")
    try:
        with pytest.raises(DatabaseError) as caught:
            ensure_schema(engine, auto_migrate=False)
        assert "emstrack db upgrade" in caught.value.message
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{head}'")
        engine.dispose()


def test_lookup_reads_one_primary_key_range_per_table(engine: Engine) -> None:
    """The hot path: both reads are range scans of a primary key, never a table scan."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the plan is checked on SQLite; PostgreSQL chooses by statistics")
    with engine.connect() as conn:
        plans = [
            " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            )
            for sql, params in (
                ("SELECT * FROM items WHERE number = ?", ("EE123456785CN",)),
                (
                    "SELECT * FROM events WHERE number = ? AND generation = ?",
                    ("EE123456785CN", 1),
                ),
            )
        ]
    for plan in plans:
        assert "USING PRIMARY KEY" in plan, plan
