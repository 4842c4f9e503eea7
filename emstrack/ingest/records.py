"""One incoming event record (a CSV row, a JSON object, an API body) checked and made a value.

A record is either accepted whole or rejected with every reason at once; it is never
half-accepted, and a value is never silently cut or changed. Unknown extra fields are kept in
the raw payload.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from emstrack.domain import s10
from emstrack.domain.events import Event
from emstrack.domain.operator import STAND_IN, Effect
from emstrack.domain.times import TimeParseError, offset_for, parse_event_time, parse_offset
from emstrack.errors import InputError
from emstrack.ingest.privacy import scrub
from emstrack.ingest.profiles import Profile

#: The fields of an event record, as documented in docs/import.md. The first three are required.
REQUIRED = ("tracking_number", "event_code", "event_time")
OPTIONAL = (
    "utc_offset",
    "office_code",
    "office_name",
    "country",
    "next_office_code",
    "reason_code",
    "reason_text",
    "action_code",
    "action_text",
    "retention_code",
    "retention_text",
    "signatory",
    "destination_postcode",
    "origin_country",
    "destination_country",
    "description",
    "source",
)
FIELDS = REQUIRED + OPTIONAL
#: With a profile (docs/import.md, "Profiles"): the text replaces the code; a code may be given.
PROFILE_REQUIRED = ("tracking_number", "event_time", "description")
PROFILE_OPTIONAL = ("event_code", "description_en", "description_zh", "region")

# Longest value accepted per field: the column widths of the store.
_MAX_LENGTH = {
    "tracking_number": 64,
    "event_code": 8,
    "event_time": 64,
    "utc_offset": 16,
    "office_code": 16,
    "office_name": 200,
    "country": 2,
    "next_office_code": 16,
    "reason_code": 16,
    "reason_text": 500,
    "action_code": 16,
    "action_text": 500,
    "retention_code": 16,
    "retention_text": 500,
    "signatory": 200,
    "destination_postcode": 32,
    "origin_country": 2,
    "destination_country": 2,
    "description": 1000,
    "source": 100,
}
_PROFILE_MAX_LENGTH = {**_MAX_LENGTH, "description_en": 1000, "description_zh": 1000, "region": 8}
_COUNTRY_FIELDS = ("country", "origin_country", "destination_country")
_EVENT_CODE = re.compile(r"[A-Z0-9]{2,8}")
_COUNTRY = re.compile(r"[A-Z]{2}")
_CODE_FIELDS = ("office_code", "next_office_code", "reason_code", "action_code", "retention_code")


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """A checked record: the item it belongs to, what it says of the item, and the event."""

    number: str
    kind: str
    service: str | None
    origin_country: str | None
    destination_country: str | None
    destination_postcode: str | None
    event: Event


class RecordError(InputError):
    """A record that cannot be accepted; `reasons` lists every problem found."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("bad_record", "; ".join(reasons))
        self.reasons = reasons


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TypeError(type(value).__name__)
    text = str(value).strip()
    return text or None


def _unstorable(record: Mapping[str, Any]) -> list[str]:
    reasons = []
    for name, value in record.items():
        try:
            orjson.dumps({name: value})
        except TypeError as exc:
            reasons.append(f"{name}: cannot be stored ({exc})")
    return reasons or ["the record cannot be stored as JSON"]


def parse_record(
    record: Mapping[str, Any],
    *,
    source: str | None = None,
    home_country: str = "CN",
    strict: bool = False,
    now: datetime | None = None,
    profile: Profile | None = None,
) -> IncomingEvent:
    """Check one record and build its event, or raise `RecordError` with every reason.

    With a `profile` that reads texts, the row's texts give the event (`_read_texts`)."""
    by_text = profile is not None and profile.uses_texts
    limits, required = _MAX_LENGTH, REQUIRED
    original = record
    if by_text:
        assert profile is not None
        record = profile.rename(dict(record))
        limits, required = _PROFILE_MAX_LENGTH, PROFILE_REQUIRED
    try:
        # The raw payload is stored as JSON: it must be JSON, and its text valid Unicode.
        orjson.dumps(record)
    except TypeError:
        raise RecordError(_unstorable(record)) from None
    reasons: list[str] = []
    values: dict[str, str | None] = {}
    for name, given in record.items():
        if given is None or given == "":
            continue
        limit = limits.get(name)
        if limit is None:
            continue  # an extra field: kept in the raw payload
        value: str | None
        if given.__class__ is str:  # the usual case, checked the cheap way
            value = given.strip()
            if not value:
                continue
        else:
            try:
                value = _clean(given)
            except TypeError as exc:
                reasons.append(f"{name}: expected text, got {exc}")
                continue
            if value is None:
                continue
        if len(value) > limit:
            reasons.append(f"{name}: longer than {limit} characters")
        elif "\x00" in value:
            reasons.append(f"{name}: contains a NUL character")
        else:
            values[name] = value
    for name in required:
        missing = values.get(name) is None
        if missing and not any(r.startswith(f"{name}:") for r in reasons):
            reasons.append(f"{name}: required and missing")

    number = kind = service = None
    raw_number = values.get("tracking_number")
    if raw_number:
        parsed = s10.parse(raw_number, home_country=home_country, strict=strict)
        if parsed.valid:
            number, kind, service = parsed.number, parsed.kind.value, parsed.service
        else:
            errors = [p.message for p in parsed.problems if p.severity == "error"]
            reasons.append(f"tracking_number: {' '.join(errors)}")

    code = values.get("event_code")
    if code is not None:
        code = code.upper()
        if not _EVENT_CODE.fullmatch(code):
            reasons.append(
                "event_code: expected a UPU event code of letters and digits such as EMA, "
                f"got {code!r}"
            )

    for name in (*_COUNTRY_FIELDS, *_CODE_FIELDS):
        value = values.get(name)
        if value is not None:
            values[name] = value.upper()
    for name in _COUNTRY_FIELDS:
        value = values.get(name)
        if value is not None and not _COUNTRY.fullmatch(value):
            reasons.append(f"{name}: expected a two-letter country code such as CN, got {value!r}")

    local: datetime | None = None
    offset: int | None = None
    if values.get("event_time"):
        try:
            local, offset = parse_event_time(values["event_time"] or "")
        except TimeParseError as exc:
            reason = str(exc)
            if by_text and profile:
                try:
                    local = profile.parse_time(values["event_time"] or "")
                except TimeParseError as contradiction:  # AM/PM against a 24-hour clock
                    reason = str(contradiction)
            if local is None:
                reasons.append(f"event_time: {reason}")
    if values.get("utc_offset"):
        try:
            given = parse_offset(values["utc_offset"] or "")
        except TimeParseError as exc:
            reasons.append(f"utc_offset: {exc}")
        else:
            if offset is not None and offset != given:
                reasons.append(
                    "utc_offset: disagrees with the offset written in event_time "
                    f"({values['utc_offset']} against {values['event_time']})"
                )
            offset = given

    if reasons:
        raise RecordError(reasons)
    # Every way to reach here with one of these None has added a reason above.
    assert number is not None
    assert kind is not None
    assert local is not None

    operator: dict[str, str | None] = {}
    if by_text:
        assert profile is not None
        code, operator = _read_texts(profile, values, code)
        if values.get("country") is None and profile.country:
            values["country"] = profile.country
        if offset is None and values.get("country") == profile.country:
            offset = profile.offset_at(local, values.get("office_name"), values.get("region"))
    assert code is not None

    if offset is None:
        offset = offset_for(values.get("country"), local, values.get("office_code"))

    get = values.get
    event = Event(
        code=code,
        occurred_local=local,
        utc_offset_min=offset,
        office_code=get("office_code"),
        office_name=get("office_name"),
        country=get("country"),
        next_office_code=get("next_office_code"),
        reason_code=get("reason_code"),
        reason_text=get("reason_text"),
        action_code=get("action_code"),
        action_text=get("action_text"),
        retention_code=get("retention_code"),
        retention_text=get("retention_text"),
        signatory=get("signatory"),
        description=get("description"),
        source=get("source") or source,
        ingested_at=now or datetime.now(UTC),
        **operator,
        # The payload verbatim, extra fields included.
        raw=dict(original),
    )
    return IncomingEvent(
        number=number,
        kind=kind,
        service=service,
        origin_country=values.get("origin_country"),
        destination_country=values.get("destination_country"),
        destination_postcode=values.get("destination_postcode"),
        event=event,
    )


def _read_texts(
    profile: Profile, values: dict[str, str | None], code: str | None
) -> tuple[str, dict[str, str | None]]:
    """The event code and operator fields of a row read by its texts (docs/import.md).

    A code the row gives wins; else the profile's first matching rule; else an unmapped
    operator event, its label the row's own text without personal data. `description` becomes
    every distinct text of the row, kept whole for operators."""
    main, en, zh = (
        values.get("description"),
        values.get("description_en"),
        values.get("description_zh"),
    )
    texts = list(dict.fromkeys(t for t in (main, zh, en) if t))
    values["description"] = " / ".join(texts)[:1000]
    fields: dict[str, str | None] = {"profile": profile.name}
    if code is not None:
        return code, fields
    found = profile.match(main, en, zh)
    fields["rule"] = found.rule
    if found.event_code is not None:
        return found.event_code, fields
    effect = found.effect or Effect.NONE
    fields["effect"] = effect.value
    if found.rule is not None:
        fields["label_en"], fields["label_zh"] = found.label_en, found.label_zh
    else:

        def public(text: str | None) -> str | None:
            clean = scrub(
                text or "",
                region=profile.country,
                name_fields=profile.name_fields,
                postcode=profile.postcode,
            )
            return clean[:1000] or None

        fields["label_en"] = public(en or main)
        fields["label_zh"] = public(zh or main)
    return STAND_IN[effect], fields
