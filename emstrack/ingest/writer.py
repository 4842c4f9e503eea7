"""Record checked events: assign each to its item, de-duplicate, merge detail, keep status.

One call is one transaction, so a batch is stored whole or not at all; a crash at any moment
leaves the database as it was after the last committed batch, and recording the same events
again stores nothing twice (the dedupe key of spec events.md §4, scoped to the item).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from emstrack.domain.events import Event, merge
from emstrack.domain.status import derive
from emstrack.ingest.records import IncomingEvent
from emstrack.store import queries
from emstrack.store.engine import WRITE
from emstrack.store.queries import ItemRow, StoredEvent


class Outcome:
    """Per-event outcome names: a contract of the API and the import summary."""

    STORED = "stored"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class BatchResult:
    outcomes: tuple[str, ...]  # one per input event, in order: stored | duplicate
    items_created: int
    items_changed: int

    @property
    def stored(self) -> int:
        return self.outcomes.count(Outcome.STORED)

    @property
    def duplicates(self) -> int:
        return self.outcomes.count(Outcome.DUPLICATE)


def instant(event: Event) -> datetime:
    """A naive instant for the reuse window: UTC where known, else the local wall time.

    Off by the unknown offset (at most 14 hours) where the offset is unknown: harmless against
    a window of months.
    """
    utc = event.occurred_utc
    return utc.replace(tzinfo=None) if utc is not None else event.occurred_local


class _Batch:
    """The working state of one batch: items and events of the numbers it touches."""

    def __init__(self, engine_conn: Any, numbers: list[str], reuse: timedelta) -> None:
        self.items = queries.items_for(engine_conn, numbers)
        self.events = queries.events_for(engine_conn, numbers)
        self.reuse = reuse
        self.new_items: dict[tuple[str, int], ItemRow] = {}
        self.touched: set[tuple[str, int]] = set()
        self.new_keys: set[tuple[str, int, str]] = set()
        self.changed_keys: set[tuple[str, int, str]] = set()

    def item_for(self, incoming: IncomingEvent, now: datetime) -> ItemRow:
        at = instant(incoming.event)
        generations = self.items.setdefault(incoming.number, [])
        fits = [
            item
            for item in generations
            if item.first_event_at - self.reuse <= at <= item.last_event_at + self.reuse
        ]
        if fits:
            return max(fits, key=lambda item: (item.last_event_at, item.generation))
        item = ItemRow(
            number=incoming.number,
            generation=max((item.generation for item in generations), default=0) + 1,
            kind=incoming.kind,
            service=incoming.service,
            origin_country=None,
            destination_country=None,
            destination_postcode=None,
            first_event_at=at,
            last_event_at=at,
            status="info_received",
            status_detail=None,
            status_code=None,
            event_count=0,
            created_at=now,
            updated_at=now,
        )
        generations.append(item)
        self.new_items[(item.number, item.generation)] = item
        return item

    def add(self, incoming: IncomingEvent, now: datetime) -> str:
        item = self.item_for(incoming, now)
        ident = (item.number, item.generation)
        self.touched.add(ident)
        at = instant(incoming.event)
        item.first_event_at = min(item.first_event_at, at)
        item.last_event_at = max(item.last_event_at, at)
        for name in ("origin_country", "destination_country", "destination_postcode"):
            if getattr(item, name) is None and getattr(incoming, name) is not None:
                setattr(item, name, getattr(incoming, name))

        stored_events = self.events.setdefault(ident, {})
        event = incoming.event
        key = event.key
        stored = stored_events.get(key)
        if stored is None:
            stored_events[key] = StoredEvent(key, event, [event.raw] if event.raw else [])
            self.new_keys.add((*ident, key))
            return Outcome.STORED
        merged = merge(stored.event, event)
        changed = merged != stored.event
        if event.raw and event.raw not in stored.raw:
            stored.raw.append(event.raw)
            changed = True
        if changed:
            stored.event = merged
            if (*ident, key) not in self.new_keys:
                self.changed_keys.add((*ident, key))
        return Outcome.DUPLICATE


def record(
    engine: Engine,
    batch: Sequence[IncomingEvent],
    *,
    reuse_after: timedelta = timedelta(days=365),
    now: datetime | None = None,
) -> BatchResult:
    """Store a batch of checked events in one transaction; report each one's outcome."""
    if not batch:
        return BatchResult((), 0, 0)
    now = now or datetime.now(UTC)
    numbers = sorted({incoming.number for incoming in batch})
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        work = _Batch(conn, numbers, reuse_after)
        outcomes = tuple(work.add(incoming, now) for incoming in batch)

        changed_items: list[ItemRow] = []
        for ident in sorted(work.touched):
            number, generation = ident
            item = next(i for i in work.items[number] if i.generation == generation)
            stored = work.events[ident]
            state = derive(s.event for s in stored.values())
            item.status = state.status.value
            item.status_detail = state.detail
            item.status_code = state.event.code if state.event else None
            item.event_count = len(stored)
            if ident not in work.new_items:
                # A touched item got an event or detail: its window or attributes may have moved.
                item.updated_at = now
                changed_items.append(item)

        queries.write_changes(
            conn,
            new_items=list(work.new_items.values()),
            changed_items=changed_items,
            new_events=[
                queries.event_row(n, g, work.events[(n, g)][k]) for n, g, k in work.new_keys
            ],
            changed_events=[
                queries.event_row(n, g, work.events[(n, g)][k]) for n, g, k in work.changed_keys
            ],
        )
    return BatchResult(outcomes, len(work.new_items), len(changed_items))
