"""The store's tests run on SQLite, PostgreSQL, and PostgreSQL with the tables keyed by number
hash-partitioned (`emstrack db upgrade --partitions N`, docs/scale.md): `database_url` here
replaces the root one for tests/store with a third database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import POSTGRES_URL
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from emstrack.store.engine import ensure_schema, make_engine
from emstrack.store.partitions import upgrade_partitioned
from emstrack.store.schema import metadata

#: Partitions per table in the partitioned test database.
PARTITIONS = 4


@pytest.fixture(scope="session")
def partitioned_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session, its tables partitioned, as a URL."""
    admin_url = make_url(POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"emstrack_test_part_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"no PostgreSQL server at {admin_url.render_as_string()}: {exc.orig}")
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        try:
            upgrade_partitioned(engine, PARTITIONS)
        finally:
            engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-partitioned"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database with the current schema, once per layout."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'emstrack.db'}"
        return
    fixture = "postgres_database" if request.param == "postgresql" else "partitioned_database"
    url: str = request.getfixturevalue(fixture)
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        engine.dispose()
    yield url
