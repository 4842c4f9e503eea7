"""The answer to "where is my item?": one tracking number in, item + status + history out.

The same answer feeds the CLI (`emstrack track`), the JSON API and the pages. When there is
nothing to show, the answer says why: `invalid` (what is wrong, and what was probably meant),
`not_found_yet` (a valid number with no scan so far) or `unknown` (a number we cannot place).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.pool import Pool

from emstrack.config import Settings
from emstrack.domain import countries, places, s10
from emstrack.domain.events import (
    CATALOGUE,
    TERMINAL,
    Event,
    Status,
    status_label,
    unlisted_label,
)
from emstrack.domain.problems import Problem, Severity
from emstrack.domain.s10 import NumberKind, Scope, TrackingNumber
from emstrack.domain.status import ItemState, order_events, state_of
from emstrack.domain.times import format_iso_offset, format_offset
from emstrack.store import queries
from emstrack.store.queries import ItemRow


class Outcome(StrEnum):
    FOUND = "found"
    NOT_FOUND_YET = "not_found_yet"
    INVALID = "invalid"
    UNKNOWN = "unknown"


#: Event fields that may carry personal data: shown only with proof or an operator key.
PRIVATE_EVENT_FIELDS = ("signatory", "description")


@dataclass(frozen=True, slots=True)
class TrackingResult:
    """A lookup's answer. `events` are newest first."""

    number: TrackingNumber
    outcome: Outcome
    item: ItemRow | None = None
    events: list[Event] = field(default_factory=list)
    state: ItemState | None = None
    earlier_items: list[ItemRow] = field(default_factory=list)
    diagnosis: Problem | None = None

    @property
    def status(self) -> Status | None:
        return self.state.status if self.state else None

    @property
    def origin_country(self) -> str | None:
        if self.item and self.item.origin_country:
            return self.item.origin_country
        # Otherwise where the journey began: the oldest scan's country.
        for event in reversed(self.events):
            if event.country or event.office_code:
                return event.country or (event.office_code or "")[:2] or None
        return None

    @property
    def destination_country(self) -> str | None:
        if self.item and self.item.destination_country:
            return self.item.destination_country
        for event in self.events:
            entry = event.entry
            if entry and entry.leg == "destination" and (event.country or event.office_code):
                return event.country or (event.office_code or "")[:2] or None
        return None

    def projection(self) -> places.Projection:
        """How the public sees the places of this item's events (`emstrack.domain.places`)."""
        proof = self.item.destination_postcode if self.item else None
        return places.Projection(self.origin_country, self.destination_country, proof)

    def to_dict(
        self, lang: str = "en", *, private: bool = False, stored_places: bool = False
    ) -> dict[str, Any]:
        """The JSON answer of the API and of `emstrack track --json`.

        Places are the public projection's unless `private` or `stored_places` (an operator's
        view: the CLI shows offices as stored, and personal fields only when `private`).
        """
        latest = self.events[0] if self.events else None
        shown = None if private or stored_places else self.projection()
        return _document(
            self.number,
            self.outcome,
            self.status,
            self.state.detail if self.state else None,
            self.diagnosis,
            self.item,
            [event_to_dict(e, lang, private=private, shown=shown) for e in self.events],
            self.earlier_items,
            (self.origin_country, self.destination_country),
            (
                _iso(latest.occurred_local) if latest else None,
                _utc(latest.occurred_utc) if latest else None,
            ),
            lang,
            private,
        )


def _document(
    tn: TrackingNumber,
    outcome: Outcome,
    status: Status | None,
    status_detail: str | None,
    diagnosis: Problem | None,
    item: ItemRow | None,
    event_docs: list[dict[str, Any]],
    earlier_items: list[ItemRow],
    countries_: tuple[str | None, str | None],
    latest_times: tuple[str | None, str | None],
    lang: str,
    private: bool,
) -> dict[str, Any]:
    """`TrackingResult.to_dict` from its parts; shared with the fast path (`Tracker.answer`), so
    the two cannot drift apart."""
    out: dict[str, Any] = {
        "number": tn.number,
        "formatted": tn.formatted,
        "outcome": outcome.value,
        "status": status.value if status else None,
        "status_detail": status_detail,
        "status_label": status_label(status, lang) if status else None,
        "diagnosis": diagnosis.to_dict() if diagnosis else None,
        "item": None,
        "events": event_docs,
        "problems": [p.to_dict() for p in tn.problems],
        "suggestions": [s.to_dict() for s in tn.suggestions if s.on_record or not s.needs_record],
        "earlier_items": [_item_summary(earlier) for earlier in earlier_items],
    }
    if item is not None:
        origin, destination = countries_
        out["item"] = {
            "number": item.number,
            "generation": item.generation,
            "kind": item.kind,
            "service": tn.service,
            "service_label": tn.service_label(lang),
            "issuer": tn.issuer,
            "issuing_country": tn.country,
            "origin_country": origin,
            "origin_country_name": _country_name(origin, lang),
            "destination_country": destination,
            "destination_country_name": _country_name(destination, lang),
            "event_count": len(event_docs),
            "last_event_local_time": latest_times[0],
            "last_event_utc_time": latest_times[1],
            "updated_at": _utc(item.updated_at),
        }
        if private:
            out["item"]["destination_postcode"] = item.destination_postcode
            # False for a postcode that came only with a duplicate's extra detail: it cannot
            # unlock anything (emstrack.ingest.writer).
            out["item"]["destination_postcode_verified"] = item.postcode_is_proof
    return out


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _item_summary(item: ItemRow) -> dict[str, Any]:
    return {
        "generation": item.generation,
        "first_event_at": _iso(item.first_event_at),
        "last_event_at": _iso(item.last_event_at),
        "status": item.status,
        "event_count": item.event_count,
    }


@lru_cache(maxsize=256)
def _offset_texts(offset: int) -> tuple[str, str | None, timedelta]:
    return format_iso_offset(offset), format_offset(offset), timedelta(minutes=offset)


@lru_cache(maxsize=1024)
def _code_texts(code: str, lang: str) -> tuple[str, str, str | None, bool]:
    entry = CATALOGUE.get(code)
    if entry is None:
        return unlisted_label(code, lang), Status.UNKNOWN.value, None, False
    return entry.label(lang), entry.status.value, entry.detail, True


_country_name = lru_cache(maxsize=1024)(countries.country_name)


def _seconds(value: datetime) -> str:
    # isoformat() without arguments is the fast path; microseconds are rare in scan times.
    return value.isoformat() if not value.microsecond else value.isoformat(timespec="seconds")


def event_to_dict(
    event: Event,
    lang: str = "en",
    *,
    private: bool = False,
    shown: places.Projection | None = None,
) -> dict[str, Any]:
    """One event of the history: its place as `shown` projects it (as stored without one),
    personal fields only when `private`."""
    # The hot path of every answer: plain values and cached texts, no aware-datetime arithmetic.
    local = event.occurred_local
    offset = event.utc_offset_min
    if offset is None:
        iso_offset = offset_label = utc = None
    else:
        iso_offset, offset_label, delta = _offset_texts(offset)
        utc = _seconds(local - delta) + "Z"
    label, status, detail, known = _code_texts(event.code, lang)
    p: Sequence[str | None] = (
        event.office_code,
        event.office_name,
        event.country,
        event.next_office_code,
        event.reason_code,
        event.reason_text,
        event.action_code,
        event.action_text,
        event.retention_code,
        event.retention_text,
    )
    if shown is not None:
        p = shown.fields(p)
    out: dict[str, Any] = {
        "code": event.code,
        "label": label,
        "status": status,
        "detail": detail,
        "local_time": _seconds(local),
        "utc_offset": iso_offset,
        "utc_offset_label": offset_label,
        "utc_time": utc,
        # `places.FIELDS`, in order.
        "office_code": p[0],
        "office_name": p[1],
        "country": p[2],
        "country_name": _country_name(p[2], lang),
        "next_office_code": p[3],
        "reason_code": p[4],
        "reason_text": p[5],
        "action_code": p[6],
        "action_text": p[7],
        "retention_code": p[8],
        "retention_text": p[9],
        "known_code": known,
    }
    if private:
        for name in PRIVATE_EVENT_FIELDS:
            out[name] = getattr(event, name)
    return out


def _current(item_rows: list[ItemRow]) -> tuple[ItemRow, list[ItemRow]]:
    """The current item (whose latest event is newest) and the others, newest first."""
    current = max(item_rows, key=lambda item: (item.last_event_at, item.generation))
    earlier = [item for item in item_rows if item is not current]
    earlier.sort(key=lambda item: item.last_event_at, reverse=True)
    return current, earlier


#: The catalogue rank `status.order_events` gives a code outside the catalogue: after all.
_UNKNOWN_RANK = len(CATALOGUE) + 1
_first = itemgetter(0)


def _found_document(
    tn: TrackingNumber,
    item_rows: list[ItemRow],
    rows: Sequence[Sequence[Any]],
    lang: str,
    private: bool,
) -> dict[str, Any] | None:
    """`TrackingResult.to_dict` of a found item, from the rows of `queries.history_rows`.

    What `Tracker._result` and `to_dict` do through `Event` values, in one pass over the rows:
    the order of `order_events`, the status of `state_of`, the fields of `event_to_dict`.
    None when two events share `order_events`' short key: their order needs the full one.
    """
    current, earlier = _current(item_rows)
    keyed = []
    for row in rows:
        raw = row[1]
        if isinstance(raw, str):
            local = datetime.fromisoformat(raw)
            # SQLite's text, `YYYY-MM-DD HH:MM:SS[.ffffff]`, holds the answer's local time in
            # its first 19 characters: cheaper to cut out than to format the datetime again.
            if len(raw) >= 19 and raw[10] == " ":
                local_text = raw[:10] + "T" + raw[11:19]
            else:
                local_text = _seconds(local)
        else:
            local, local_text = raw, _seconds(raw)
        offset = row[2]
        texts = None if offset is None else _offset_texts(offset)
        # Naive UTC, or the wall time when the offset is unknown, as in `status.sort_key`.
        when = local if texts is None else local - texts[2]
        entry = CATALOGUE.get(row[0])
        key = (when, entry.rank if entry else _UNKNOWN_RANK)
        keyed.append((key, entry, local_text, texts, row))
    if len(set(map(_first, keyed))) < len(keyed):
        return None
    keyed.sort(key=_first, reverse=True)  # newest first

    # `TrackingResult.origin_country` and `destination_country`.
    origin = current.origin_country or None
    if not origin:
        for _, _, _, _, row in reversed(keyed):
            if row[5] or row[3]:
                origin = row[5] or (row[3] or "")[:2] or None
                break
    destination = current.destination_country or None
    if not destination:
        for _, entry, _, _, row in keyed:
            if entry and entry.leg == "destination" and (row[5] or row[3]):
                destination = row[5] or (row[3] or "")[:2] or None
                break

    # `TrackingResult.projection`: the public sees places without postcodes.
    shown = (
        None
        if private
        else places.Projection(origin, destination, current.destination_postcode).fields
    )
    docs = []
    for (when, _), _, local_text, texts, row in keyed:
        code = row[0]
        if texts is None:
            iso_offset = offset_label = utc = None
        else:
            iso_offset, offset_label, _ = texts
            # `_seconds`, inlined: this runs for every event of every answer.
            utc = (
                when.isoformat() if not when.microsecond else when.isoformat(timespec="seconds")
            ) + "Z"
        label, status, detail, known = _code_texts(code, lang)
        # The columns of `places.FIELDS` (the query's, from `office_code`), as shown.
        p = row[3:13] if shown is None else shown(row[3:13])
        doc: dict[str, Any] = {
            "code": code,
            "label": label,
            "status": status,
            "detail": detail,
            "local_time": local_text,
            "utc_offset": iso_offset,
            "utc_offset_label": offset_label,
            "utc_time": utc,
            "office_code": p[0],
            "office_name": p[1],
            "country": p[2],
            "country_name": _country_name(p[2], lang),
            "next_office_code": p[3],
            "reason_code": p[4],
            "reason_text": p[5],
            "action_code": p[6],
            "action_text": p[7],
            "retention_code": p[8],
            "retention_text": p[9],
            "known_code": known,
        }
        if private:
            doc["signatory"] = row[13]
            doc["description"] = row[14]
        docs.append(doc)

    # `state_of`: the newest terminal event, else the newest of a known code, sets the status.
    setter = None
    for _, entry, _, _, _ in keyed:
        if entry is None:
            continue
        if entry.status in TERMINAL:
            setter = entry
            break
        if setter is None:
            setter = entry
    if setter is not None:
        status_, status_detail = setter.status, setter.detail
    else:
        status_, status_detail = (Status.UNKNOWN if keyed else Status.INFO_RECEIVED), None

    # The newest event's times: `_iso` and `_utc` give the same texts as the event's fields.
    latest = (docs[0]["local_time"], docs[0]["utc_time"]) if docs else (None, None)
    return _document(
        tn,
        Outcome.FOUND,
        status_,
        status_detail,
        None,
        current,
        docs,
        earlier,
        (origin, destination),
        latest,
        lang,
        private,
    )


@dataclass(frozen=True, slots=True)
class Answer:
    """A lookup's JSON answer (`TrackingResult.to_dict`), and what the API needs around it."""

    number: TrackingNumber
    outcome: Outcome
    diagnosis: Problem | None
    body: dict[str, Any]


#: What a number's reads found: its items and the current item's event rows (see
#: `queries.history_rows`); or, for an invalid number, the finished answer.
_Read = tuple[list[ItemRow], list[Sequence[Any]]] | TrackingResult


#: Called with how many "did you mean" candidates of an invalid number would be checked against
#: the records; answers how many may be (each check tells whether a number exists, so a caller's
#: rate limit pays for them: see `emstrack.web.deps.allowance`).
Allowance = Callable[[int], int]


class _Readers(threading.local):
    """Each thread's own read connection to a SQLite file (see `Tracker._reader`)."""

    def __init__(self) -> None:
        self.pool: Pool | None = None  # the engine's pool it came from
        self.driver: Any = None  # the driver's connection (sqlite3)


class Tracker:
    """Answers lookups against one database."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        #: Reads are in-process and never wait on a lock (SQLite in WAL mode).
        self.local_reads = engine.dialect.name == "sqlite"
        database = engine.url.database or ""
        in_memory = database in ("", ":memory:") or "mode=memory" in str(engine.url)
        # A pool checkout and return costs about a third of the two reads of a lookup. On a
        # SQLite file each thread keeps one connection for lookups instead: a read there is
        # one statement in autocommit (no transaction stays open), so it sees every commit.
        # Not for an in-memory database, which is a different database on every connection.
        self._readers = _Readers() if self.local_reads and not in_memory else None

    def parse(self, raw: str, scope: Scope = Scope.ANY) -> TrackingNumber:
        return s10.parse(
            raw,
            scope=scope,
            strict=self.settings.strict_countries,
            home_country=self.settings.home_country,
        )

    def lookup(
        self, raw: str, scope: Scope = Scope.ANY, *, allowance: Allowance | None = None
    ) -> TrackingResult:
        """Answer one tracking number, as typed by a person."""
        ((tn, read),) = self._read((raw,), scope, allowance)
        return self._result(tn, read)

    def lookup_many(
        self, raws: Sequence[str], scope: Scope = Scope.ANY, *, allowance: Allowance | None = None
    ) -> list[TrackingResult]:
        """Answer several numbers, in the order given, on one connection."""
        return [self._result(tn, read) for tn, read in self._read(raws, scope, allowance)]

    def answer(
        self,
        raw: str,
        scope: Scope = Scope.ANY,
        lang: str = "en",
        *,
        private: bool = False,
        allowance: Allowance | None = None,
    ) -> Answer:
        """`lookup(raw, scope).to_dict(lang, private=private)`, the same bytes, made faster.

        A found item's answer is built straight from the driver's rows, without an `Event` per
        row; the rare history with two events at the same instant and journey step (whose
        order needs `order_events`' full key) takes the general path.
        """
        ((tn, read),) = self._read((raw,), scope, allowance)
        return self._answer(tn, read, lang, private)

    def answer_many(
        self,
        raws: Sequence[str],
        scope: Scope = Scope.ANY,
        lang: str = "en",
        *,
        private: bool = False,
        allowance: Allowance | None = None,
    ) -> list[Answer]:
        """`answer` for several numbers, in the order given, on one connection."""
        read = self._read(raws, scope, allowance)
        return [self._answer(tn, found, lang, private) for tn, found in read]

    def conflicts(self, number: str, generation: int) -> list[dict[str, Any]]:
        """For operators: the item's attribute values that disagreed with the kept ones."""
        with self.engine.connect() as conn:
            found = queries.conflicts_of(conn, number, generation)
        return [
            {
                "field": c.field,
                "value": c.value,
                "source": c.source,
                "first_seen_at": _utc(c.first_seen_at),
            }
            for c in found
        ]

    def _read(
        self, raws: Sequence[str], scope: Scope, allowance: Allowance | None = None
    ) -> list[tuple[TrackingNumber, _Read]]:
        tns = [self.parse(raw, scope) for raw in raws]
        if self._readers is not None and all(tn.valid for tn in tns):
            with self._reader() as driver:
                return [(tn, queries.history_rows(driver, "qmark", tn.number)) for tn in tns]
        with self.engine.connect() as conn:
            driver = conn.connection.driver_connection
            paramstyle = conn.dialect.paramstyle
            with self._driver_errors():
                return [
                    (
                        tn,
                        queries.history_rows(driver, paramstyle, tn.number)
                        if tn.valid
                        else self._invalid(conn, tn, allowance),
                    )
                    for tn in tns
                ]

    @contextmanager
    def _reader(self) -> Iterator[Any]:
        """This thread's SQLite connection for lookups, made on first use.

        It comes from the engine's pool, detached: it runs the pool's connect hooks (WAL,
        busy timeout) but never counts against the pool's size, however many threads read.
        A disposed engine has a new pool: the next read then connects again, as pooled ones do.
        A connection that failed is dropped, so that the next read starts afresh.
        """
        readers = self._readers
        assert readers is not None
        pool = self.engine.pool
        if readers.pool is not pool:
            self._drop_reader(readers)
            try:
                connection = pool.connect()
            except self.engine.dialect.loaded_dbapi.Error as exc:
                raise self._wrap(exc) from exc
            driver = connection.driver_connection  # before detaching, which forgets it
            connection.detach()
            readers.driver = driver
            readers.pool = pool
        try:
            yield readers.driver
        except self.engine.dialect.loaded_dbapi.Error as exc:
            self._drop_reader(readers)
            raise self._wrap(exc) from exc

    def _drop_reader(self, readers: _Readers) -> None:
        driver, readers.pool, readers.driver = readers.driver, None, None
        if driver is not None:
            # The driver's own close: the pool no longer knows this connection.
            with suppress(self.engine.dialect.loaded_dbapi.Error):
                driver.close()

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        """The driver's own errors, as SQLAlchemy's: the reads bypass SQLAlchemy's cursor, and
        the web layer answers an unavailable database (`OperationalError`) with a 503."""
        try:
            yield
        except self.engine.dialect.loaded_dbapi.Error as exc:
            raise self._wrap(exc) from exc

    def _wrap(self, exc: Exception) -> StatementError:
        dbapi = self.engine.dialect.loaded_dbapi
        return DBAPIError.instance(None, None, exc, dbapi.Error, dialect=self.engine.dialect)

    def _result(self, tn: TrackingNumber, read: _Read) -> TrackingResult:
        if isinstance(read, TrackingResult):
            return read
        item_rows, rows = read
        if not item_rows:
            return self._not_found(tn)
        current, earlier = _current(item_rows)
        events = order_events(queries.events_from_rows(rows))
        # Stored events are unique per item (the dedupe key is part of the primary key).
        return TrackingResult(
            tn, Outcome.FOUND, current, events, state_of(events), earlier_items=earlier
        )

    def _answer(self, tn: TrackingNumber, read: _Read, lang: str, private: bool) -> Answer:
        if not isinstance(read, TrackingResult) and read[0]:
            body = _found_document(tn, read[0], read[1], lang, private)
            if body is not None:
                return Answer(tn, Outcome.FOUND, None, body)
        result = self._result(tn, read)
        body = result.to_dict(lang, private=private)
        return Answer(result.number, result.outcome, result.diagnosis, body)

    def _invalid(
        self, conn: Connection, tn: TrackingNumber, allowance: Allowance | None
    ) -> TrackingResult:
        candidates = s10.lookup_candidates(tn)
        if candidates and allowance is not None:
            # Those left unchecked are dropped by `with_known` like guesses not on record.
            candidates = candidates[: allowance(len(candidates))]
        known = queries.known_numbers(conn, candidates) if candidates else set()
        tn = tn.with_known(known)
        errors = [p for p in tn.problems if p.severity == Severity.ERROR]
        message = " ".join(p.message for p in errors)
        on_record = [s for s in tn.suggestions if s.on_record]
        if on_record:
            message += f" Did you mean {on_record[0].number}? We have an item with that number."
        diagnosis = Problem("invalid", message.strip(), part="number")
        return TrackingResult(tn, Outcome.INVALID, diagnosis=diagnosis)

    def _not_found(self, tn: TrackingNumber) -> TrackingResult:
        hours = self.settings.first_scan_grace_hours
        if tn.kind == NumberKind.DOMESTIC and tn.service != "domestic_ems":
            diagnosis = Problem(
                "unknown",
                f"We have no record of {tn.formatted}. Numbers of 13 digits with this prefix "
                "are not known EMS numbers: it may belong to another carrier.",
                Severity.INFO,
                part="number",
            )
            return TrackingResult(tn, Outcome.UNKNOWN, diagnosis=diagnosis)
        what = tn.explanation("en").rstrip(".")
        diagnosis = Problem(
            "not_found_yet",
            f"{tn.formatted} is a valid number ({what}), but it has no scan yet. The first scan "
            f"usually appears 24–{hours} hours after the item is posted. Please try again later; "
            f"if there is still nothing {hours} hours after posting, ask the sender to check the "
            "number.",
            Severity.INFO,
            part="number",
            extra={"grace_hours": hours},
        )
        return TrackingResult(tn, Outcome.NOT_FOUND_YET, diagnosis=diagnosis)
