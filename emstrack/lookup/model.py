"""The answer to "where is my item?": what a lookup found, and its JSON document.

`TrackingResult` is the answer as values (the CLI and the pages use it); `to_dict` is its JSON
document, which the API and `emstrack track --json` send. `emstrack.lookup.fastpath` builds the
same document straight from the database's rows, through `document` and `event_to_dict`'s
cached texts, so that the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

import orjson

from emstrack.domain import countries, operators, places
from emstrack.domain.events import CATALOGUE, Event, Status, status_label, unlisted_label
from emstrack.domain.lang import Lang
from emstrack.domain.operator import NO_EFFECT_CODE, public_label
from emstrack.domain.problems import Problem
from emstrack.domain.status import ItemState
from emstrack.domain.times import format_iso_offset, format_offset
from emstrack.domain.tracking_number import TrackingNumber
from emstrack.store.items import ItemRow
from emstrack.text.headline import headline


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
    #: The read model's validator of a found item's rows (`store.answers`: its version and
    #: when it was written); it changes whenever anything the answer is made from changes.
    version: str | None = None

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

    @property
    def destination_operator(self) -> operators.Operator | None:
        """The destination country's operator once the item has reached that country (its
        first event there), as the public answer says it (`handed_over`); else None."""
        shown = self.projection()
        return handed_over(
            self.origin_country,
            self.destination_country,
            ((e.country, e.office_code) for e in (shown.event(event) for event in self.events)),
        )

    def projection(self) -> places.Projection:
        """How the public sees the places of this item's events (`emstrack.domain.places`)."""
        proof = self.item.destination_postcode if self.item else None
        return places.Projection(self.origin_country, self.destination_country, proof)

    def shown_state(self, shown: places.Projection | None) -> ItemState | None:
        """The state with its events as `shown` projects them (as stored without one)."""
        state = self.state
        if state is None or shown is None:
            return state
        return replace(
            state,
            event=shown.event(state.event) if state.event else None,
            latest=shown.event(state.latest) if state.latest else None,
            cause=shown.event(state.cause) if state.cause else None,
        )

    def to_dict(
        self, lang: Lang = "en", *, private: bool = False, stored_places: bool = False
    ) -> dict[str, Any]:
        """The JSON answer of the API and of `emstrack track --json`.

        Places are the public projection's unless `private` or `stored_places` (an operator's
        view: the CLI shows offices as stored, and personal fields only when `private`).
        """
        latest = self.events[0] if self.events else None
        shown = None if private or stored_places else self.projection()
        state = self.shown_state(shown) if self.outcome is Outcome.FOUND else None
        return document(
            self.number,
            self.outcome,
            self.status,
            self.state.detail if self.state else None,
            headline(state, lang) if state else None,
            self.diagnosis,
            self.item,
            [event_to_dict(e, lang, private=private, shown=shown) for e in self.events],
            self.earlier_items,
            (self.origin_country, self.destination_country),
            (
                _iso(latest.occurred_local) if latest else None,
                utc_text(latest.occurred_utc) if latest else None,
            ),
            lang,
            private,
        )


def document(
    tn: TrackingNumber,
    outcome: Outcome,
    status: Status | None,
    status_detail: str | None,
    headline: str | None,
    diagnosis: Problem | None,
    item: ItemRow | None,
    event_docs: list[dict[str, Any]],
    earlier_items: list[ItemRow],
    countries_: tuple[str | None, str | None],
    latest_times: tuple[str | None, str | None],
    lang: Lang,
    private: bool,
) -> dict[str, Any]:
    """`TrackingResult.to_dict` from its parts; shared with the fast path
    (`emstrack.lookup.fastpath`), so the two cannot drift apart."""
    out: dict[str, Any] = {
        "number": tn.number,
        "formatted": tn.formatted,
        "outcome": outcome.value,
        "status": status.value if status else None,
        "status_detail": status_detail,
        "status_label": status_label(status, lang) if status else None,
        "headline": headline,
        "diagnosis": diagnosis.to_dict() if diagnosis else None,
        "item": None,
        "events": event_docs,
        "problems": [p.to_dict() for p in tn.problems],
        "suggestions": [s.to_dict() for s in tn.suggestions if s.on_record or not s.needs_record],
        "earlier_items": [_item_summary(earlier) for earlier in earlier_items],
        "destination_operator": None,
    }
    if item is not None:
        origin, destination = countries_
        operator = handed_over(
            origin, destination, ((doc["country"], doc["office_code"]) for doc in event_docs)
        )
        if operator is not None:
            out["destination_operator"] = operator_doc(operator, item.number, lang)
        out["item"] = {
            "number": item.number,
            "generation": item.generation,
            "kind": item.kind,
            "service": tn.service,
            "service_label": tn.service_label(lang),
            "issuer": tn.issuer,
            "issuing_country": tn.country,
            "origin_country": origin,
            "origin_country_name": cached_country_name(origin, lang),
            "destination_country": destination,
            "destination_country_name": cached_country_name(destination, lang),
            "event_count": len(event_docs),
            "last_event_local_time": latest_times[0],
            "last_event_utc_time": latest_times[1],
            "updated_at": utc_text(item.updated_at),
        }
        if private:
            out["item"]["destination_postcode"] = item.destination_postcode
            # False for a postcode that came only with a duplicate's extra detail: it cannot
            # unlock anything (emstrack.ingest.writer).
            out["item"]["destination_postcode_verified"] = item.postcode_is_proof
    return out


def handed_over(
    origin: str | None,
    destination: str | None,
    places_: Iterable[tuple[str | None, str | None]],
) -> operators.Operator | None:
    """The destination's operator when an event (its country, else its office code's first two
    letters) is in the destination country and that country is not the origin; else None."""
    if not destination or destination == origin:
        return None
    operator = operators.lookup(destination)
    if operator is None:
        return None
    for country, office in places_:
        if (country or (office or "")[:2] or None) == destination:
            return operator
    return None


def operator_doc(operator: operators.Operator, number: str, lang: Lang) -> dict[str, Any]:
    """The answer's `destination_operator` (docs/api.md)."""
    return {
        "country": operator.country,
        "name": operator.name(lang),
        "url": operator.site,
        "tracking_url": operator.tracking_link(number),
    }


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def utc_text(value: datetime | None) -> str | None:
    """An instant as the answer writes it: UTC, to the second, with a `Z`."""
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
def offset_texts(offset: int) -> tuple[str, str | None, timedelta]:
    """An offset in minutes as the answer shows it: ISO text, label, and as a timedelta."""
    return format_iso_offset(offset), format_offset(offset), timedelta(minutes=offset)


@lru_cache(maxsize=1024)
def code_texts(code: str, lang: Lang) -> tuple[str, str, str | None, bool]:
    """An event code's label, status, status detail and whether the catalogue knows it."""
    entry = CATALOGUE.get(code)
    if entry is None:
        return unlisted_label(code, lang), Status.UNKNOWN.value, None, False
    return entry.label(lang), entry.status.value, entry.detail, True


#: `countries.country_name`, remembered: every event of every answer names its country.
cached_country_name = lru_cache(maxsize=1024)(countries.country_name)


def iso_seconds(value: datetime) -> str:
    """`value.isoformat(timespec="seconds")`, faster for the usual time without microseconds."""
    # isoformat() without arguments is the fast path; microseconds are rare in scan times.
    return value.isoformat() if not value.microsecond else value.isoformat(timespec="seconds")


def event_to_dict(
    event: Event,
    lang: Lang = "en",
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
        iso_offset, offset_label, delta = offset_texts(offset)
        utc = iso_seconds(local - delta) + "Z"
    code = event.code
    label, status, detail, known = code_texts(code, lang)
    if event.effect is not None:  # an operator event: its profile's label (docs/import.md)
        label = public_label(event.label_en, event.label_zh, lang)
        # It has no UPU code: the catalogue code stored for it only lends it its effect's
        # status (`domain.operator.STAND_IN`), and is not shown as the scan's code.
        code, known = NO_EFFECT_CODE, False
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
        "code": code,
        "label": label,
        "status": status,
        "detail": detail,
        "local_time": iso_seconds(local),
        "utc_offset": iso_offset,
        "utc_offset_label": offset_label,
        "utc_time": utc,
        # `places.FIELDS`, in order.
        "office_code": p[0],
        "office_name": p[1],
        "country": p[2],
        "country_name": cached_country_name(p[2], lang),
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


def split_current(item_rows: list[ItemRow]) -> tuple[ItemRow, list[ItemRow]]:
    """The current item (whose latest event is newest) and the others, newest first."""
    current = max(item_rows, key=lambda item: (item.last_event_at, item.generation))
    earlier = [item for item in item_rows if item is not current]
    earlier.sort(key=lambda item: item.last_event_at, reverse=True)
    return current, earlier


@dataclass(frozen=True, slots=True)
class Answer:
    """A lookup's JSON answer (`TrackingResult.to_dict`), and what the API needs around it."""

    number: TrackingNumber
    outcome: Outcome
    diagnosis: Problem | None
    #: The document as built (empty where it was not: `unchanged`, or `kept`); read `body`.
    built: dict[str, Any]
    #: As `TrackingResult.version`.
    version: str | None = None
    #: The caller already holds this version's answer (`Tracker.answer`'s `unchanged`): the
    #: document was not built and `body` is empty.
    unchanged: bool = False
    #: The public answer as the writer kept it (`lookup.bodies`), JSON to send as it is: the
    #: document was not built (`body` reads it from these bytes).
    kept: str | None = None

    @property
    def body(self) -> dict[str, Any]:
        """The answer's document (read from the kept bytes where it was not built)."""
        if self.kept is not None:
            document: dict[str, Any] = orjson.loads(self.kept)
            return document
        return self.built

    def content(self) -> bytes:
        """The answer's JSON: the kept bytes, else its document's."""
        return self.kept.encode() if self.kept is not None else orjson.dumps(self.built)
