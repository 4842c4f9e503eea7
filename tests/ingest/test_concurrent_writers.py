"""Several writers of the same numbers at once (consumers, API workers, imports) take turns.

The writer reads a number's items and events, then writes them back. On PostgreSQL two
transactions doing that at once would each miss the other's events or insert the same new item
(a unique violation); `store.items.lock_numbers` makes them wait for each other. On SQLite the
write lock already does.
"""

from __future__ import annotations

import threading

import pytest
from eventfiles import assert_consistent, count_events, incoming, s10, stored_items

from emstrack.ingest.writer import record
from emstrack.store.database import Database

NUMBERS = 30
WRITERS = 4


@pytest.mark.parametrize("staged", [False, True], ids=["rows", "staged"])
def test_writers_of_the_same_numbers_at_once_lose_and_double_nothing(
    db: Database, staged: bool
) -> None:
    """`staged`: through `COPY` and staging tables on PostgreSQL (the file import's path)."""
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        for n in range(NUMBERS):
            # Every writer: the same posting, and a scan of its own, for the same numbers.
            batch = [
                incoming(s10(7000 + n), "EMA", "2026-11-24T09:30"),
                incoming(s10(7000 + n), "EMB", f"2026-11-24T{12 + writer:02d}:30"),
            ]
            try:
                record(db, batch, staged=staged)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert count_events(db) == NUMBERS * (1 + WRITERS)
    assert_consistent(db)
    items = stored_items(db)
    assert len(items) == NUMBERS
    assert {int(item["event_count"]) for item in items} == {1 + WRITERS}
