"""Record checked events: assign each to its item, de-duplicate, merge detail, keep status.

One call is one transaction, so a batch is stored whole or not at all; a crash at any moment
leaves the database as it was after the last committed batch, and recording the same events
again stores nothing twice (the dedupe key of docs/standards/events.md §4, scoped to the item).

Items of one number are told apart by time (docs/standards/s10.md §9): an event within the
reuse window (12 months) of an item's events belongs to it. An event that falls within the
window of two items shows that they are one history split by arrival order, so they are merged
into the older generation: the outcome does not depend on the order in which events arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter
from typing import Any

from emstrack.domain.events import Event, merge
from emstrack.domain.status import order_events, state_of
from emstrack.ingest.records import IncomingEvent
from emstrack.store import answers, outbox, staging
from emstrack.store.database import Database, Unit
from emstrack.store.events import (
    HISTORY_EVENT_FIELDS,
    StoredEvent,
    event_raw,
    event_row,
    events_for,
    write_changes,
)
from emstrack.store.items import (
    Conflict,
    ItemRow,
    conflicts_of,
    items_for,
    known_numbers,
    lock_numbers,
)
from emstrack.store.outbox import StatusChange

_ITEM_ATTRIBUTES = ("origin_country", "destination_country", "destination_postcode")


def _same_postcode(a: str, b: str) -> bool:
    """Two spellings of one postcode ("SW1A 1AA", "sw1a-1aa")."""

    def plain(value: str) -> str:
        return "".join(value.split()).replace("-", "").upper()

    return plain(a) == plain(b)


class EventOutcome:
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
        return self.outcomes.count(EventOutcome.STORED)

    @property
    def duplicates(self) -> int:
        return self.outcomes.count(EventOutcome.DUPLICATE)


def instant(event: Event) -> datetime:
    """A naive instant for the reuse window: UTC where known, else the local wall time.

    Off by the unknown offset (at most 14 hours) where the offset is unknown: harmless against
    a window of months.
    """
    if event.utc_offset_min is None:
        return event.occurred_local
    return event.occurred_local - timedelta(minutes=event.utc_offset_min)


_Ident = tuple[str, int]


class _Batch:
    """The working state of one batch: the items and events of the numbers it touches."""

    def __init__(
        self,
        unit: Unit | None,
        items: dict[str, list[ItemRow]],
        events: dict[_Ident, dict[str, StoredEvent]],
        reuse: timedelta,
        now: datetime,
    ):
        self.unit = unit  # None when planning for numbers with nothing stored (`plan_fresh`)
        self.items = items
        self.events = events
        self.reuse = reuse
        self.now = now
        self.top = {n: max(i.generation for i in rows) for n, rows in self.items.items()}
        self.new_items: set[_Ident] = set()
        self.dirty: set[_Ident] = set()  # existing items to rewrite
        self.deleted: set[_Ident] = set()  # existing items merged into another
        self.changes: list[StatusChange] = []  # for the subscribers (notify's outbox)
        self.new_keys: set[tuple[str, int, str]] = set()
        self.changed_keys: set[tuple[str, int, str]] = set()
        self.conflicts: dict[tuple[str, int, str, str], Conflict] = {}

    def item_for(self, incoming: IncomingEvent, at: datetime) -> ItemRow:
        generations = self.items.setdefault(incoming.number, [])
        reuse = self.reuse
        if len(generations) == 1:  # by far the most common case: no list, no sort
            only = generations[0]
            if only.first_event_at - reuse <= at <= only.last_event_at + reuse:
                return only
        fits = [
            item
            for item in generations
            if item.first_event_at - reuse <= at <= item.last_event_at + reuse
        ]
        if fits:
            fits.sort(key=lambda item: item.generation)
            for other in fits[1:]:
                self._merge_into(fits[0], other)
            return fits[0]
        generation = self.top.get(incoming.number, 0) + 1
        self.top[incoming.number] = generation
        item = ItemRow(
            number=incoming.number,
            generation=generation,
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
            created_at=self.now,
            updated_at=self.now,
        )
        generations.append(item)
        self.new_items.add((item.number, generation))
        return item

    def _merge_into(self, target: ItemRow, other: ItemRow) -> None:
        """One history that arrival order had split: move `other`'s events into `target`."""
        source = (other.number, other.generation)
        self._widen(target, other.first_event_at)
        self._widen(target, other.last_event_at)
        # Both were made from events: a postcode proven in either stays proven.
        self._attributes(target, other, other.postcode_from == "event", None)
        moved = [c for k, c in self.conflicts.items() if k[:2] == source]
        if self.unit is not None and source not in self.new_items:
            moved += conflicts_of(self.unit, *source)
        self.conflicts = {k: c for k, c in self.conflicts.items() if k[:2] != source}
        for conflict in moved:
            self._conflict(target, conflict.field, conflict.value, conflict.source)
        for stored in self.events.pop(source, {}).values():
            if stored.raw is None:
                stored.raw = self._raw(source, stored.key)
            self._put(target, stored.event, stored.raw)
        self.items[other.number].remove(other)
        if source in self.new_items:
            self.new_items.discard(source)
        else:
            self.deleted.add(source)
            self.dirty.discard(source)
        self.new_keys = {k for k in self.new_keys if k[:2] != source}
        self.changed_keys = {k for k in self.changed_keys if k[:2] != source}

    def _raw(self, item: _Ident, key: str) -> list[Any]:
        assert self.unit is not None, "only stored events lack their payloads"
        return event_raw(self.unit, item[0], item[1], key)

    def _widen(self, item: ItemRow, at: datetime) -> None:
        changed = False
        if at < item.first_event_at:
            item.first_event_at, changed = at, True
        if at > item.last_event_at:
            item.last_event_at, changed = at, True
        if changed:
            self._touch(item)

    def _attributes(
        self, item: ItemRow, given: IncomingEvent | ItemRow, proven: bool, source: str | None
    ) -> None:
        """Take what `given` says of the item: each attribute is set once, by the first value
        seen; a later different value is recorded as a conflict and never replaces it.

        The destination postcode unlocks the private details, so it is a proof only when it
        came with a newly stored event (`proven`): a duplicate's merged detail can be sent by
        anyone holding an ingest key, about any item. A postcode that came only that way is
        kept (operators see it) but proves nothing, and a proven one replaces it.
        """
        changed = False
        for name in _ITEM_ATTRIBUTES:
            value = getattr(given, name)
            if value is None:
                continue
            current = getattr(item, name)
            postcode = name == "destination_postcode"
            if current is None:
                setattr(item, name, value)
                if postcode:
                    item.postcode_from = "event" if proven else "merge"
                changed = True
            elif postcode and _same_postcode(current, value):
                if proven and item.postcode_from != "event":
                    item.postcode_from, changed = "event", True
            elif postcode and proven and item.postcode_from != "event":
                self._conflict(item, name, current, "merge")
                item.destination_postcode, item.postcode_from = value, "event"
                changed = True
            elif current != value:
                self._conflict(item, name, value, source)
        if changed:
            self._touch(item)

    def _conflict(self, item: ItemRow, name: str, value: str, source: str | None) -> None:
        key = (item.number, item.generation, name, value)
        if key not in self.conflicts:
            self.conflicts[key] = Conflict(
                item.number, item.generation, name, value, source, self.now
            )

    def _touch(self, item: ItemRow) -> None:
        ident = (item.number, item.generation)
        if ident not in self.new_items:
            self.dirty.add(ident)

    def _put(self, item: ItemRow, event: Event, raws: list[object]) -> str:
        """Store an event in an item, or merge it into the one with its key."""
        ident = (item.number, item.generation)
        stored_events = self.events.setdefault(ident, {})
        key = event.key
        stored = stored_events.get(key)
        if stored is None:
            stored_events[key] = StoredEvent(key, event, list(raws))
            self.new_keys.add((*ident, key))
            self._touch(item)
            return EventOutcome.STORED
        merged = merge(stored.event, event)
        changed = merged != stored.event
        if stored.raw is None:
            stored.raw = self._raw(ident, key)
        for raw in raws:
            if raw not in stored.raw:
                stored.raw.append(raw)
                changed = True
        if changed:
            stored.event = merged
            if (*ident, key) not in self.new_keys:
                self.changed_keys.add((*ident, key))
            self._touch(item)
        return EventOutcome.DUPLICATE

    def add(self, incoming: IncomingEvent) -> str:
        at = instant(incoming.event)
        item = self.item_for(incoming, at)
        self._widen(item, at)
        event = incoming.event
        outcome = self._put(item, event, [event.raw] if event.raw else [])
        self._attributes(item, incoming, outcome == EventOutcome.STORED, event.source)
        return outcome

    def item(self, ident: _Ident) -> ItemRow:
        return next(i for i in self.items[ident[0]] if i.generation == ident[1])

    def settle(self) -> list[ItemRow]:
        """Derive the status of every item that changed; return the existing ones to rewrite."""
        changed: list[ItemRow] = []
        for ident in sorted(self.new_items | self.dirty):
            item = self.item(ident)
            stored = self.events[ident]
            state = state_of(order_events(s.event for s in stored.values()))
            before = None if ident in self.new_items else item.status
            # Subscribers follow a number's newest item: a late scan of an earlier item of a
            # reused number tells them nothing.
            newest = item.generation == self.top.get(item.number, item.generation)
            if state.status.value != before and newest:
                self.changes.append(
                    StatusChange(
                        item.number,
                        item.generation,
                        before,
                        state.status.value,
                        state.detail,
                        state.event,
                    )
                )
            item.status = state.status.value
            item.status_detail = state.detail
            item.status_code = state.event.code if state.event else None
            item.event_count = len(stored)
            if ident in self.dirty:
                item.updated_at = self.now
                changed.append(item)
        return changed

    def touched(self, changed_items: list[ItemRow]) -> set[str]:
        """The numbers whose answer may have changed: items made, rewritten or merged away,
        events stored or changed."""
        numbers = {number for number, _ in self.new_items | self.deleted}
        numbers.update(item.number for item in changed_items)
        numbers.update(number for number, _, _ in self.new_keys | self.changed_keys)
        return numbers

    def rows(self, keys: set[tuple[str, int, str]], sqlite: bool) -> list[tuple[object, ...]]:
        return [event_row(n, g, self.events[(n, g)][k], sqlite=sqlite) for n, g, k in sorted(keys)]

    def answers(
        self, numbers: set[str], render: answers.Render | None
    ) -> tuple[list[tuple[str, str, str | None, str | None, str | None]], list[str]]:
        """The read model's document of each of `numbers` from the batch's rows, as
        `answers.refresh` would read them back after the writes, with its public answers where
        `render` makes them; and the numbers left without items."""
        documents: list[tuple[str, str, str | None, str | None, str | None]] = []
        gone: list[str] = []
        for number in sorted(numbers):
            generations = self.items.get(number)
            if not generations:
                gone.append(number)
                continue
            rows = [item.to_tuple() for item in sorted(generations, key=_generation)]
            stored = self.events.get((number, answers.current_generation(rows)), {})
            history = [_history(s.event) for _, s in sorted(stored.items())]
            doc = answers.document(rows, history)
            documents.append((number, doc, *answers.bodies_of(render, number, doc)))
        return documents, gone


def _generation(item: ItemRow) -> int:
    return item.generation


#: An event's values in the order of `HISTORY_EVENT_FIELDS` (the read model's rows).
_history = attrgetter(*HISTORY_EVENT_FIELDS)


def record(
    db: Database,
    batch: Sequence[IncomingEvent],
    *,
    reuse_after: timedelta = timedelta(days=365),
    now: datetime | None = None,
    staged: bool = False,
    keep_answers: bool = True,
) -> BatchResult:
    """Store a batch of checked events in one transaction; report each one's outcome.

    `staged`: on PostgreSQL, send the batch with `COPY` through staging tables
    (`store.staging`), for large batches (the file import); the stored rows are the same.
    `keep_answers`: make the public answers the read model keeps (`Database.render_answers`)
    with the batch; False leaves the touched numbers without them, for a caller that makes
    them once at the end of many batches (`keep_answers_of`: the file import).
    Raises `DatabaseUnavailable` (and stores nothing) when the database cannot take it now.
    """
    if not batch:
        return BatchResult((), 0, 0)
    numbers = sorted({incoming.number for incoming in batch})
    sqlite = db.dialect == "sqlite"
    bulk = staged and db.dialect == "postgresql"
    render = db.render_answers if keep_answers else None
    with db.write() as unit:
        if bulk:
            staging.prepare(unit)
        # Writers of the same numbers (several consumers, API workers, imports) take turns.
        lock_numbers(unit, numbers)
        items = items_for(unit, numbers)
        events = events_for(unit, numbers)
        work = _Batch(unit, items, events, reuse_after, now or datetime.now(UTC))
        outcomes = tuple(work.add(incoming) for incoming in batch)
        changed_items = work.settle()
        new_items = [work.item(ident) for ident in sorted(work.new_items)]
        if bulk:
            documents, gone = work.answers(work.touched(changed_items), render)
            staging.write_batch(
                unit,
                deleted_items=sorted(work.deleted),
                items=new_items + changed_items,
                new_events=work.rows(work.new_keys, sqlite),
                changed_events=work.rows(work.changed_keys, sqlite),
                conflicts=list(work.conflicts.values()),
                answers=documents,
                no_answers=gone,
                now=work.now,
                due=db.pages_due,
            )
        else:
            write_changes(
                unit,
                deleted_items=sorted(work.deleted),
                new_items=new_items,
                changed_items=changed_items,
                new_events=work.rows(work.new_keys, sqlite),
                changed_events=work.rows(work.changed_keys, sqlite),
                conflicts=list(work.conflicts.values()),
            )
            # The read model of every number whose items or events changed, and the notices:
            # in the same transaction, so a change is stored with them or not at all.
            answers.refresh(unit, work.touched(changed_items), work.now, render, db.pages_due)
        outbox.enqueue_status_changes(unit, work.changes, work.now)
    return BatchResult(outcomes, len(work.new_items), len(changed_items))


def keep_answers_of(db: Database, numbers: Iterable[str]) -> int:
    """Make the kept public answers of `numbers` that have none made by this release (written
    with `keep_answers=False`), each number once, in transactions of a few hundred numbers;
    how many were made. Nothing without a renderer (`Database.render_answers`)."""
    render = db.render_answers
    if render is None:
        return 0
    wanted = sorted(set(numbers))
    made = 0
    for start in range(0, len(wanted), 500):
        with db.write() as unit:
            if db.dialect == "postgresql":
                staging.prepare(unit)  # reads by key, whatever the statistics say
            chunk = wanted[start : start + 500]
            made += answers.render_numbers(unit, render, chunk)
    return made


@dataclass(frozen=True, slots=True)
class Plan:
    """The rows a batch would write if none of its numbers had anything stored yet.

    Worked out without the database (so in another process, while this one writes), by the
    same code as `record`; `write_fresh` writes it only if that assumption still holds.
    """

    numbers: tuple[str, ...]
    items: list[ItemRow]
    events: list[tuple[object, ...]]
    changes: list[StatusChange]
    result: BatchResult
    conflicts: list[Conflict]


def plan_fresh(
    batch: Sequence[IncomingEvent],
    *,
    sqlite: bool,
    reuse_after: timedelta = timedelta(days=365),
    now: datetime | None = None,
) -> Plan:
    """What `record` would write for `batch` into a database without any of its numbers."""
    work = _Batch(None, {}, {}, reuse_after, now or datetime.now(UTC))
    outcomes = tuple(work.add(incoming) for incoming in batch)
    work.settle()
    return Plan(
        numbers=tuple(sorted({incoming.number for incoming in batch})),
        items=[work.item(ident) for ident in sorted(work.new_items)],
        events=work.rows(work.new_keys, sqlite),
        changes=work.changes,
        result=BatchResult(outcomes, len(work.new_items), 0),
        conflicts=list(work.conflicts.values()),
    )


def write_fresh(db: Database, plan: Plan) -> BatchResult | None:
    """Write a plan in one transaction; None (and nothing written) if one of its numbers has
    items by now, in which case the batch must go through `record`."""
    with db.write() as unit:
        # Under the write lock (SQLite) or the numbers' locks (PostgreSQL).
        lock_numbers(unit, plan.numbers)
        if known_numbers(unit, plan.numbers):
            return None
        write_changes(
            unit,
            new_items=plan.items,
            changed_items=[],
            new_events=plan.events,
            changed_events=[],
            conflicts=plan.conflicts,
        )
        now = plan.items[0].created_at if plan.items else datetime.now(UTC)
        answers.refresh(unit, plan.numbers, now, db.render_answers, db.pages_due)
        outbox.enqueue_status_changes(unit, plan.changes, now)
    return plan.result


def remap(
    db: Database,
    numbers: Sequence[str],
    change: Callable[[Event], Event | None],
    *,
    now: datetime | None = None,
) -> tuple[int, int]:
    """Rewrite the events of `numbers` that `change` changes, and settle their items' status
    again, in one transaction; the count of events and of items changed.

    The dedupe key stays (an event read through a profile is keyed by its text), so running it
    again changes nothing more; notices of status changes are queued as an import queues them.
    """
    sqlite = db.dialect == "sqlite"
    with db.write() as unit:
        work = _Batch(
            unit,
            items_for(unit, numbers),
            events_for(unit, numbers),
            timedelta(days=365),
            now or datetime.now(UTC),
        )
        for ident, stored_events in work.events.items():
            for key, stored in stored_events.items():
                new = change(stored.event)
                if new is None or new == stored.event:
                    continue
                stored.event = new
                stored.raw = work._raw(ident, key)
                work.changed_keys.add((*ident, key))
                work.dirty.add(ident)
        changed_items = work.settle()
        write_changes(
            unit,
            deleted_items=[],
            new_items=[],
            changed_items=changed_items,
            new_events=[],
            changed_events=work.rows(work.changed_keys, sqlite),
            conflicts=[],
        )
        answers.refresh(
            unit, work.touched(changed_items), work.now, db.render_answers, db.pages_due
        )
        outbox.enqueue_status_changes(unit, work.changes, work.now)
    return len(work.changed_keys), len(changed_items)
