"""PostgreSQL without a liveness check on every checkout (issue 15): a pooled connection whose
backend was ended (`pg_terminate_backend`, a restart, a proxy's idle timeout) does not fail the
next lookup: it is dropped with the pool's idle ones and the lookup tries once more."""

from __future__ import annotations

import pytest
from factories import DELIVERED_TO_DE, Loader, history
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from emstrack.config import Settings
from emstrack.lookup import Outcome, Tracker
from emstrack.store.database import Database
from emstrack.store.engine import make_engine

NUMBER = "EE123456785CN"


def _end_other_backends(db: Database) -> int:
    """End every other backend of this database (the pool's idle connections), from a
    connection of its own."""
    admin = make_engine(db.engine.url.render_as_string(hide_password=False), poolclass=NullPool)
    with admin.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin.dispose()
    return int(ended)


def test_a_killed_backend_does_not_fail_the_next_lookup(
    db: Database, load: Loader, settings: Settings
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("PostgreSQL's pool: SQLite keeps one connection per thread")
    assert not db.engine.pool._pre_ping
    load(*history(NUMBER, *DELIVERED_TO_DE[:3]))
    tracker = Tracker(db, settings)
    for round_ in range(3):
        assert tracker.answer(NUMBER).outcome is Outcome.FOUND
        assert tracker.lookup(NUMBER).outcome is Outcome.FOUND
        # An invalid number reads through a SQLAlchemy connection (its "did you mean").
        assert tracker.lookup("EE123456784CN").outcome is Outcome.INVALID
        assert _end_other_backends(db) >= 1, round_
        # The pool's connections are all dead now: the next lookups still answer.
        assert tracker.answer(NUMBER).outcome is Outcome.FOUND
        _end_other_backends(db)
        assert tracker.lookup("EE123456784CN").outcome is Outcome.INVALID
