"""PostgreSQL's async read of the lookup (`store.aio`, `Tracker.answer_async`): the same bytes as
`Tracker.answer` and `lookup(...).to_dict(...)` for every demo item, in both languages, public
and private; prepared on its connection; no liveness check, yet a killed backend does not fail
the next lookup; a server that is gone fails as `DatabaseUnavailable`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
import pytest
from sqlalchemy import select, text
from sqlalchemy.pool import NullPool
from webclient import serve

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain.tracking_number import Scope
from emstrack.errors import DatabaseUnavailable
from emstrack.lookup import Outcome, Tracker
from emstrack.store.aio import PROBE_TIMEOUT, AsyncReads, AsyncUnavailable, conninfo
from emstrack.store.database import Database
from emstrack.store.engine import make_engine
from emstrack.store.schema import items
from emstrack.web.app import create_app

NOW = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)
NOT_FOUND = ("EE123456784CN", "EE123456785", "RR473124829GB", "3312345678901", "hello")

T = TypeVar("T")


def _postgres(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the async pool is PostgreSQL's; SQLite reads in process")


def _run(db: Database, body: Callable[[], Awaitable[T]]) -> T:
    """`body()` on an event loop with the database's async reads open."""

    async def main() -> T:
        await db.open_async_reads()
        try:
            return await body()
        finally:
            await db.close_async_reads()

    return asyncio.run(main())


def test_every_demo_item_answers_the_same_bytes(db: Database, settings: Settings) -> None:
    _postgres(db)
    load_demo(db, items=150, seed=3, now=NOW)
    with db.read() as conn:
        numbers = sorted(set(conn.execute(select(items.c.number)).scalars()))
    tracker = Tracker(db, settings)
    # A number typed with spaces and in lower case reads the same row.
    typed = [numbers[0].lower(), f"{numbers[1][:2]} {numbers[1][2:]}"]

    async def check() -> int:
        found = 0
        for raw in [*numbers, *typed, *NOT_FOUND]:
            for lang in ("en", "zh"):
                for private in (False, True):
                    got = await tracker.answer_async(raw, Scope.ANY, lang, private=private)
                    want = tracker.answer(raw, Scope.ANY, lang, private=private)
                    general = tracker.lookup(raw).to_dict(lang, private=private)
                    if got is None:  # an invalid number: its "did you mean" is not read here
                        assert want.outcome is Outcome.INVALID, raw
                        continue
                    assert got.content() == want.content(), (raw, lang)
                    assert got.content() == orjson.dumps(general), (raw, lang)
                    assert (got.outcome, got.number, got.diagnosis, got.version) == (
                        want.outcome,
                        want.number,
                        want.diagnosis,
                        want.version,
                    )
                    found += got.outcome is Outcome.FOUND
        return found

    assert _run(db, check) == 4 * (len(numbers) + len(typed))


def test_an_unchanged_version_is_not_built(db: Database, settings: Settings) -> None:
    _postgres(db)
    load_demo(db, items=3, seed=5, now=NOW)
    with db.read() as conn:
        number = conn.execute(select(items.c.number)).scalars().first()
    assert number is not None
    tracker = Tracker(db, settings)
    version = tracker.answer(number).version
    assert version is not None

    async def check() -> None:
        same = await tracker.answer_async(number, unchanged=lambda v: v == version)
        assert same is not None
        assert same.unchanged
        assert same.body == {}
        other = await tracker.answer_async(number, unchanged=lambda v: False)
        assert other is not None
        assert not other.unchanged
        assert other.body

    _run(db, check)


def test_the_read_is_a_prepared_statement(db: Database) -> None:
    _postgres(db)
    load_demo(db, items=2, seed=5, now=NOW)
    reads = AsyncReads(db.engine, max_size=1)

    async def check() -> list[Any]:
        await reads.open()
        try:
            for _ in range(3):
                await reads.answer_row("EE123456785CN")
            # max_size=1: the connection the reads ran on.
            connection = await reads._primary.get()
            try:
                return list(
                    await connection.conn.fetch(
                        "SELECT statement FROM pg_prepared_statements WHERE statement LIKE $1",
                        "%item_answers%",
                    )
                )
            finally:
                reads._primary.put(connection)
        finally:
            await reads.close()

    prepared = asyncio.run(check())
    assert len(prepared) == 1, prepared


def _end_other_backends(db: Database) -> int:
    admin = make_engine(db.engine.url.render_as_string(hide_password=False), poolclass=NullPool)
    with admin.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND backend_type = 'client backend'"
            )
        ).scalar_one()
    admin.dispose()
    return int(ended)


def test_a_killed_backend_does_not_fail_the_next_lookup(db: Database, settings: Settings) -> None:
    _postgres(db)
    load_demo(db, items=3, seed=5, now=NOW)
    with db.read() as conn:
        number = conn.execute(select(items.c.number)).scalars().first()
    assert number is not None
    tracker = Tracker(db, settings)
    want = tracker.answer(number).content()

    async def check() -> None:
        for round_ in range(3):
            got = await tracker.answer_async(number)
            assert got is not None
            assert got.content() == want
            # Every pooled connection is dead now (no check on checkout finds it first).
            assert await asyncio.to_thread(_end_other_backends, db) >= 1, round_
            got = await tracker.answer_async(number)
            assert got is not None
            assert got.content() == want, round_
            missing = await tracker.answer_async("RR473124829GB")
            assert missing is not None
            assert missing.outcome is Outcome.NOT_FOUND_YET

    _run(db, check)


def test_a_server_that_is_gone_sends_the_read_to_the_units_of_work(db: Database) -> None:
    """No connection in the pool's time: the async read stands aside (and its pool is made
    anew), the lookup reads through the units of work, which say the database is down."""
    _postgres(db)
    # A port nothing listens on: no connection in the pool's time.
    gone = make_engine(db.engine.url.set(port=1).render_as_string(hide_password=False))
    reads = AsyncReads(gone, timeout=0.5)

    async def check() -> None:
        await reads.open()
        try:
            with pytest.raises(AsyncUnavailable):
                await reads.answer_row("EE123456785CN")
            assert not reads.usable
            assert reads._primary.wait() == PROBE_TIMEOUT  # its next try is a quick one
        finally:
            await reads.close()

    asyncio.run(check())
    down = Database(gone)
    down.async_reads = reads
    tracker = Tracker(down, Settings(database_url=str(gone.url)))
    assert asyncio.run(tracker.answer_async("EE123456785CN")) is None  # standing aside
    with pytest.raises(DatabaseUnavailable):
        tracker.answer("EE123456785CN")
    gone.dispose()


def test_the_item_page_reads_on_the_event_loop_as_the_api(db: Database, settings: Settings) -> None:
    """On PostgreSQL the item page's one number is read through the async pool (no thread
    hand-off), as the API's lookup is; the page of several numbers through the units of work."""
    _postgres(db)
    load_demo(db, items=3, seed=5, now=NOW)
    with db.engine.connect() as conn:
        number = conn.execute(select(items.c.number).limit(1)).scalar_one()
    app = create_app(settings.model_copy(update={"rate_limit": "1000/minute"}), db)
    with serve(app) as http:
        reads = db.async_reads
        assert reads is not None
        before = reads._primary.reads
        page = http.get(f"/track/{number}", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert reads._primary.reads == before + 1
        several = http.get(f"/track?n={number},EE123456785CN", headers={"Accept": "text/html"})
        assert several.status_code == 200
        assert reads._primary.reads == before + 1


def test_the_async_reads_url_is_libpqs_with_its_connect_timeout_apart() -> None:
    """asyncpg sends a URL's unknown options to the server as settings: `connect_timeout`, which
    libpq and psycopg read from the URL, is taken out and given as the connection's timeout."""
    engine = make_engine(
        "postgresql+psycopg://u:p%40ss@db.internal:6543/emstrack?connect_timeout=3&sslmode=require"
    )
    dsn, timeout = conninfo(engine)
    assert dsn == "postgresql://u:p%40ss@db.internal:6543/emstrack?sslmode=require"
    assert timeout == 3.0
    plain = make_engine("postgresql+psycopg://db.internal/emstrack")
    assert conninfo(plain) == ("postgresql://db.internal/emstrack", None)
    engine.dispose()
    plain.dispose()


def test_a_url_with_a_connect_timeout_reads(db: Database) -> None:
    _postgres(db)
    load_demo(db, items=2, seed=5, now=NOW)
    with db.read() as conn:
        number = conn.execute(select(items.c.number)).scalars().first()
    assert number is not None
    url = db.engine.url.update_query_dict({"connect_timeout": "2"})
    engine = make_engine(url.render_as_string(hide_password=False))
    reads = AsyncReads(engine)

    async def check() -> Any:
        await reads.open()
        try:
            return await reads.answer_row(number)
        finally:
            await reads.close()

    assert asyncio.run(check()) is not None
    engine.dispose()


def test_more_reads_than_connections_wait_their_turn(db: Database) -> None:
    """Fifty reads at once on a pool of two: each gets its own number's row, and no more than
    two connections are ever made; a read cancelled while it waits or reads loses its place
    only, never another read's connection."""
    _postgres(db)
    load_demo(db, items=6, seed=5, now=NOW)
    with db.read() as conn:
        numbers = sorted(set(conn.execute(select(items.c.number)).scalars()))
    reads = AsyncReads(db.engine, max_size=2)

    async def check() -> tuple[list[Any], list[Any], int]:
        await reads.open()
        try:
            wanted = [numbers[i % len(numbers)] for i in range(50)]
            cancelled = [asyncio.ensure_future(reads.answer_row(n)) for n in wanted[:5]]
            await asyncio.sleep(0)
            for task in cancelled:
                task.cancel()
            got = await asyncio.gather(*(reads.answer_row(n) for n in wanted))
            alone = [await reads.answer_row(n) for n in wanted]
            return got, alone, reads._primary._size
        finally:
            await reads.close()

    got, alone, size = asyncio.run(check())
    assert [row.document for row in got] == [row.document for row in alone]
    assert size <= 2


def test_a_batch_reads_on_the_event_loop_the_same_bytes(db: Database, settings: Settings) -> None:
    """`answer_many_async` gives `answer_many`'s answers (public and private, both languages,
    numbers found and not), its numbers read on one connection; a batch with an invalid number
    is left to the units of work (its "did you mean" checks)."""
    _postgres(db)
    load_demo(db, items=8, seed=3, now=NOW)
    with db.read() as conn:
        numbers = sorted(set(conn.execute(select(items.c.number)).scalars()))
    batch = [*numbers, "RR473124829GB", numbers[0].lower()]
    tracker = Tracker(db, settings)

    async def check() -> int:
        reads = db.async_reads
        assert reads is not None
        for lang in ("en", "zh"):
            for private in (False, True):
                before = reads._primary.reads
                got = await tracker.answer_many_async(batch, Scope.ANY, lang, private=private)
                assert reads._primary.reads == before + 1  # one checkout for the batch
                want = tracker.answer_many(batch, Scope.ANY, lang, private=private)
                assert got is not None
                assert [a.content() for a in got] == [a.content() for a in want]
        assert await tracker.answer_many_async([*numbers, "EE123456784CN"]) is None
        return len(batch)

    assert _run(db, check) == len(batch)


def test_the_batch_route_reads_on_the_event_loop(db: Database, settings: Settings) -> None:
    _postgres(db)
    load_demo(db, items=3, seed=5, now=NOW)
    with db.engine.connect() as conn:
        numbers = list(conn.execute(select(items.c.number).limit(3)).scalars())
    app = create_app(settings.model_copy(update={"rate_limit": "1000/minute"}), db)
    with serve(app) as http:
        reads = db.async_reads
        assert reads is not None
        before = reads._primary.reads
        answer = http.post("/api/v1/tracking/batch", json={"numbers": numbers})
        assert answer.status_code == 200
        assert [r["number"] for r in answer.json()["results"]] == numbers
        assert reads._primary.reads == before + 1
        invalid = http.post("/api/v1/tracking/batch", json={"numbers": ["EE123456784CN"]})
        assert invalid.status_code == 200
        assert reads._primary.reads == before + 1


def test_two_apps_on_their_own_event_loops_share_a_database(
    db: Database, settings: Settings
) -> None:
    """asyncpg's connections belong to the loop that made them: each loop gets its own reads,
    opened by its first app and closed by its last, and an app stopping never closes another
    loop's (two servers at once, as the tests of sign-in run them, failed on that)."""
    _postgres(db)
    load_demo(db, items=2, seed=5, now=NOW)
    with db.engine.connect() as conn:
        number = conn.execute(select(items.c.number).limit(1)).scalar_one()
    changes = {"rate_limit": "1000/minute"}
    first = create_app(settings.model_copy(update=changes), db)
    second = create_app(settings.model_copy(update=changes), db)
    with serve(first) as one:
        with serve(second) as two:
            assert len(db._async_reads) == 2
            assert two.get(f"/api/v1/tracking/{number}").status_code == 200
            assert one.get(f"/api/v1/tracking/{number}").status_code == 200
        assert len(db._async_reads) == 1
        assert one.get(f"/api/v1/tracking/{number}").status_code == 200
    assert db._async_reads == {}
