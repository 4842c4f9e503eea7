"""A broker's message read as scan events, stored in one transaction, its rejects said.

What `emstrack consume` does with one message body, whatever the broker (`ingest.broker` moves
the messages): the body is UTF-8 JSON, one event object or an array of them (or the API's
`{"events": [...]}`), in the import's field names (docs/import.md); each event is checked by
`parse_record`, read by its own `profile` (a built-in name) or the consumer's. The accepted
events of the message are stored with ONE `ingest.writer.record`, so a message is stored whole
or not at all, and storing it again (a redelivery after a crash between the commit and the
acknowledgement) stores nothing twice: its events come back as duplicates.

Nothing is lost, and the message is settled by `Handled`:

- every event good: stored, the message acknowledged;
- some events rejected: the good ones are stored, then a dead letter carrying the rejected
  events with their reasons and the original body is published, then the message is
  acknowledged;
- a body that is not events at all (not UTF-8, not JSON, not an object or array, empty, more
  than `EMSTRACK_INGEST_MAX_EVENTS` events): dead-lettered whole with its reason, acknowledged;
- the database cannot take the events now (`DatabaseUnavailable` out of `handle`): the caller
  does not acknowledge; the broker delivers the message again later. It is never dead-lettered.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from emstrack.config import Settings
from emstrack.errors import InputError
from emstrack.ingest import profiles
from emstrack.ingest.profiles import Profile
from emstrack.ingest.records import IncomingEvent, RecordError, parse_record
from emstrack.ingest.writer import EventOutcome, record
from emstrack.store.database import Database

REJECTED = "rejected"
#: The field of an event (or of `{"events": [...]}`) naming the built-in profile that reads it.
PROFILE_FIELD = "profile"
#: The dead letter's JSON `kind`: what was wrong with the message.
NOT_EVENTS = "not_events"
REJECTED_EVENTS = "rejected_events"


@dataclass(frozen=True, slots=True)
class Checked:
    """The events of a body checked one by one: those to store, and an outcome per event.

    `results[i]` is `{"index", "outcome", "reasons"}` as `POST /api/v1/events` answers it;
    `outcome` is None for an accepted event until its write says `stored` or `duplicate`."""

    accepted: list[IncomingEvent]
    results: list[dict[str, Any]]


def check_records(
    records: Sequence[Any],
    *,
    source: str,
    settings: Settings,
    now: datetime,
    profile: Profile | None = None,
    choose: Callable[[str], Profile] | None = None,
    force_source: bool = False,
) -> Checked:
    """Check each record with `parse_record`, the way the file import and the API do.

    A record that is not an object is rejected ("expected an event object"). With `choose`, a
    record's own `profile` field names the profile that reads it (`choose` gives it, or raises
    `InputError`, which rejects that record); the field itself is not part of the event. With
    `force_source`, every event's `source` is `source` whatever the record says (the API: the
    key is who sent it)."""
    accepted: list[IncomingEvent] = []
    results: list[dict[str, Any]] = []
    for index, fields in enumerate(records):
        results.append({"index": index, "outcome": REJECTED, "reasons": []})
        if not isinstance(fields, dict):
            results[-1]["reasons"] = ["expected an event object"]
            continue
        chosen = profile
        if choose is not None and PROFILE_FIELD in fields:
            fields = dict(fields)
            name = fields.pop(PROFILE_FIELD)
            try:
                if not isinstance(name, str):
                    raise InputError("bad_profile", "expected the name of a built-in profile")
                chosen = choose(name)
            except InputError as exc:
                results[-1]["reasons"] = [f"{PROFILE_FIELD}: {exc.message}"]
                continue
        try:
            incoming = parse_record(
                fields,
                source=source,
                home_country=settings.home_country,
                strict=settings.strict_countries,
                now=now,
                profile=chosen,
            )
        except RecordError as exc:
            results[-1]["reasons"] = exc.reasons
            continue
        if force_source:
            incoming = replace(incoming, event=replace(incoming.event, source=source))
        accepted.append(incoming)
        results[-1]["outcome"] = None  # filled in by `settle` from the write
    return Checked(accepted, results)


def settle(checked: Checked, outcomes: Sequence[str]) -> dict[str, int]:
    """Fill in the accepted events' outcomes from the write; the counts per outcome."""
    written = iter(outcomes)
    for result in checked.results:
        if result["outcome"] is None:
            result["outcome"] = next(written)
    counts = dict.fromkeys((EventOutcome.STORED, EventOutcome.DUPLICATE, REJECTED), 0)
    for result in checked.results:
        counts[result["outcome"]] += 1
    return counts


class NotEvents(InputError):
    """A message body that holds no events to check: dead-lettered whole."""

    def __init__(self, message: str) -> None:
        super().__init__(NOT_EVENTS, message)


def read_body(body: bytes, limit: int) -> tuple[list[Any], str | None]:
    """The records of a message body and the profile it names for them all, or `NotEvents`.

    One object is one event; an array is a list of events; `{"events": [...]}` (the API's
    form) too, with an optional `"profile"` for its events."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotEvents(f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise NotEvents(f"the body is not JSON ({exc})") from None
    named: str | None = None
    if isinstance(data, dict) and "events" in data and "tracking_number" not in data:
        named = data.get(PROFILE_FIELD)
        if named is not None and not isinstance(named, str):
            raise NotEvents('"profile" must be the name of a built-in profile')
        data = data["events"]
        if not isinstance(data, list):
            raise NotEvents('"events" must be an array of event objects')
    if isinstance(data, dict):
        return [data], named
    if not isinstance(data, list):
        raise NotEvents(
            f"the body is a JSON {type(data).__name__}: send one event object or an array of them"
        )
    if not data:
        raise NotEvents("the body is an empty array: no events")
    if len(data) > limit:
        raise NotEvents(
            f"the body has {len(data)} events; one message takes at most {limit} "
            "(EMSTRACK_INGEST_MAX_EVENTS): split it"
        )
    return data, named


@dataclass(slots=True)
class Handled:
    """What became of one message: its events' counts and the dead letter to publish, if any.

    The caller publishes `dead_letter` (and waits for the broker to confirm it) before it
    acknowledges the message."""

    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    dead_letter: bytes | None = None
    reason: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


def dead_letter(
    kind: str,
    reason: str,
    body: bytes,
    *,
    source: str,
    received: datetime,
    rejected: Sequence[Mapping[str, Any]] = (),
    stored: int = 0,
    duplicate: int = 0,
) -> bytes:
    """The dead letter of a message (docs/import.md, "From a message broker"): JSON with the
    reason, the rejected events with their reasons, and the original body (as text when it is
    UTF-8, else in base64)."""
    letter: dict[str, Any] = {
        "kind": kind,
        "reason": reason,
        "source": source,
        "received_at": received.isoformat(),
        "stored": stored,
        "duplicate": duplicate,
        "rejected": list(rejected),
    }
    try:
        letter["body"] = body.decode("utf-8")
    except UnicodeDecodeError:
        letter["body"] = None
        letter["body_base64"] = base64.b64encode(body).decode("ascii")
    return orjson.dumps(letter)


def handle(
    db: Database,
    body: bytes,
    *,
    source: str,
    settings: Settings,
    profile: Profile | None = None,
    now: datetime | None = None,
) -> Handled:
    """Read, check and store one message's events (module docstring); raises
    `DatabaseUnavailable`, having stored nothing, when the database cannot take them now."""
    received = now or datetime.now(UTC)
    try:
        records, named = read_body(body, settings.ingest_max_events)
        if named is not None:
            profile = profiles.builtin(named)
    except InputError as exc:
        letter = dead_letter(NOT_EVENTS, exc.message, body, source=source, received=received)
        return Handled(dead_letter=letter, reason=exc.message)
    checked = check_records(
        records,
        source=source,
        settings=settings,
        now=received,
        profile=profile,
        choose=profiles.builtin,
    )
    reuse = timedelta(days=settings.reuse_after_days)
    written = record(db, checked.accepted, reuse_after=reuse)
    counts = settle(checked, written.outcomes)
    handled = Handled(
        stored=counts[EventOutcome.STORED],
        duplicate=counts[EventOutcome.DUPLICATE],
        rejected=counts[REJECTED],
        results=checked.results,
    )
    if handled.rejected:
        bad = [
            {"index": r["index"], "reasons": r["reasons"], "event": records[r["index"]]}
            for r in checked.results
            if r["outcome"] == REJECTED
        ]
        handled.reason = f"{handled.rejected} of {len(records)} events rejected"
        handled.dead_letter = dead_letter(
            REJECTED_EVENTS,
            handled.reason,
            body,
            source=source,
            received=received,
            rejected=bad,
            stored=handled.stored,
            duplicate=handled.duplicate,
        )
    return handled
