"""The answer to "where is my item?": one tracking number in, item + status + history out.

The same answer feeds the CLI (`emstrack track`), the JSON API and the pages. When there is
nothing to show, the answer says why: `invalid` (what is wrong, and what was probably meant),
`not_found_yet` (a valid number with no scan so far) or `unknown` (a number we cannot place).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine

from emstrack.config import Settings
from emstrack.domain import countries, s10
from emstrack.domain.events import CATALOGUE, Event, Status, status_label
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

    def to_dict(self, lang: str = "en", *, private: bool = False) -> dict[str, Any]:
        """The JSON answer of the API and of `emstrack track --json`."""
        tn = self.number
        status = self.status
        out: dict[str, Any] = {
            "number": tn.number,
            "formatted": tn.formatted,
            "outcome": self.outcome.value,
            "status": status.value if status else None,
            "status_detail": self.state.detail if self.state else None,
            "status_label": status_label(status, lang) if status else None,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
            "item": None,
            "events": [event_to_dict(e, lang, private=private) for e in self.events],
            "problems": [p.to_dict() for p in tn.problems],
            "suggestions": [
                s.to_dict() for s in tn.suggestions if s.on_record or not s.needs_record
            ],
            "earlier_items": [_item_summary(item) for item in self.earlier_items],
        }
        if self.item is not None:
            item = self.item
            origin, destination = self.origin_country, self.destination_country
            latest = self.events[0] if self.events else None
            out["item"] = {
                "number": item.number,
                "generation": item.generation,
                "kind": item.kind,
                "service": tn.service,
                "service_label": tn.service_label(lang),
                "issuer": tn.issuer,
                "issuing_country": tn.country,
                "origin_country": origin,
                "origin_country_name": countries.country_name(origin, lang),
                "destination_country": destination,
                "destination_country_name": countries.country_name(destination, lang),
                "event_count": len(self.events),
                "last_event_local_time": _iso(latest.occurred_local) if latest else None,
                "last_event_utc_time": _utc(latest.occurred_utc) if latest else None,
                "updated_at": _utc(item.updated_at),
            }
            if private:
                out["item"]["destination_postcode"] = item.destination_postcode
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
def _code_texts(code: str, lang: str) -> tuple[str | None, str, str | None, bool]:
    entry = CATALOGUE.get(code)
    if entry is None:
        return None, Status.UNKNOWN.value, None, False
    return entry.label(lang), entry.status.value, entry.detail, True


_country_name = lru_cache(maxsize=1024)(countries.country_name)


def _seconds(value: datetime) -> str:
    # isoformat() without arguments is the fast path; microseconds are rare in scan times.
    return value.isoformat() if not value.microsecond else value.isoformat(timespec="seconds")


def event_to_dict(event: Event, lang: str = "en", *, private: bool = False) -> dict[str, Any]:
    """One event of the public history (personal fields only when `private`)."""
    # The hot path of every answer: plain values and cached texts, no aware-datetime arithmetic.
    local = event.occurred_local
    offset = event.utc_offset_min
    if offset is None:
        iso_offset = offset_label = utc = None
    else:
        iso_offset, offset_label, delta = _offset_texts(offset)
        utc = _seconds(local - delta) + "Z"
    label, status, detail, known = _code_texts(event.code, lang)
    out: dict[str, Any] = {
        "code": event.code,
        "label": label or event.description or event.code,
        "status": status,
        "detail": detail,
        "local_time": _seconds(local),
        "utc_offset": iso_offset,
        "utc_offset_label": offset_label,
        "utc_time": utc,
        "office_code": event.office_code,
        "office_name": event.office_name,
        "country": event.country,
        "country_name": _country_name(event.country, lang),
        "next_office_code": event.next_office_code,
        "reason_code": event.reason_code,
        "reason_text": event.reason_text,
        "action_code": event.action_code,
        "action_text": event.action_text,
        "retention_code": event.retention_code,
        "retention_text": event.retention_text,
        "known_code": known,
    }
    if private:
        for name in PRIVATE_EVENT_FIELDS:
            out[name] = getattr(event, name)
    return out


class Tracker:
    """Answers lookups against one database."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        #: Reads are in-process and never wait on a lock (SQLite in WAL mode).
        self.local_reads = engine.dialect.name == "sqlite"

    def parse(self, raw: str, scope: Scope = Scope.ANY) -> TrackingNumber:
        return s10.parse(
            raw,
            scope=scope,
            strict=self.settings.strict_countries,
            home_country=self.settings.home_country,
        )

    def lookup(self, raw: str, scope: Scope = Scope.ANY) -> TrackingResult:
        """Answer one tracking number, as typed by a person."""
        with self.engine.connect() as conn:
            return self._lookup(conn, self.parse(raw, scope))

    def lookup_many(self, raws: Sequence[str], scope: Scope = Scope.ANY) -> list[TrackingResult]:
        """Answer several numbers, in the order given, on one connection."""
        with self.engine.connect() as conn:
            return [self._lookup(conn, self.parse(raw, scope)) for raw in raws]

    def _lookup(self, conn: Connection, tn: TrackingNumber) -> TrackingResult:
        if not tn.valid:
            return self._invalid(conn, tn)
        item_rows, stored = queries.item_history(conn, tn.number)
        if not item_rows:
            return self._not_found(tn)
        current = max(item_rows, key=lambda item: (item.last_event_at, item.generation))
        events = order_events(stored)
        earlier = [item for item in item_rows if item is not current]
        earlier.sort(key=lambda item: item.last_event_at, reverse=True)
        # Stored events are unique per item (the dedupe key is part of the primary key).
        return TrackingResult(
            tn, Outcome.FOUND, current, events, state_of(events), earlier_items=earlier
        )

    def _invalid(self, conn: Connection, tn: TrackingNumber) -> TrackingResult:
        candidates = s10.lookup_candidates(tn)
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
