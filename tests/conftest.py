"""Real databases for the tests: a SQLite file per test, and PostgreSQL where a server answers.

Tests that take the `engine` fixture run once per database. PostgreSQL is reached at
`EMSTRACK_TEST_POSTGRES_URL` (default: the local server, trust auth); each test session creates
its own database there and drops it at the end. Where no server answers, the PostgreSQL runs are
skipped with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import POSTGRES_URL, Loader
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from emstrack.config import Settings, get_settings
from emstrack.store.database import Database
from emstrack.store.engine import ensure_schema, make_engine
from emstrack.store.schema import metadata

# In CI the generated examples are the same on every run, so a run that passed stays passed;
# on a developer's machine they vary and keep finding new cases.
hypothesis_settings.register_profile("ci", derandomize=True, database=None, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, as a URL."""
    admin_url = make_url(POSTGRES_URL)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"emstrack_test_{uuid.uuid4().hex[:10]}"
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


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database with the current schema, once per dialect."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'emstrack.db'}"
        return
    url: str = request.getfixturevalue("postgres_database")
    engine = make_engine(url)
    try:
        ensure_schema(engine)
        with engine.begin() as conn:
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
    finally:
        engine.dispose()
    yield url


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """Runs `emstrack` commands against the test database (the settings are read afresh)."""
    monkeypatch.setenv("EMSTRACK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(engine: Engine) -> Database:
    """The test database behind the store's one door (`emstrack.store.database`)."""
    return Database(engine)


@pytest.fixture
def load(db: Database) -> Loader:
    """Stores event records (the import's field names) through the real ingest path."""
    return Loader(db)
