"""One incoming record checked and made an event.

Fields: docs/import.md; rules: docs/standards/events.md §4, §5.

A record is accepted whole or rejected with every reason at once; values are never cut or
changed; a local time without a known offset never becomes UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emstrack.ingest.records import FIELDS, REQUIRED, IncomingEvent, RecordError, parse_record

D = datetime

# EMS from Beijing, posted at 09:12 Beijing time (01:12 UTC).
GOOD: dict[str, Any] = {
    "tracking_number": "EE123456785CN",
    "event_code": "EMA",
    "event_time": "2024-03-01T09:12:00",
    "office_code": "CNBJSD",
    "office_name": "BEIJING EMS",
    "country": "CN",
}


def _parse(**changes: Any) -> IncomingEvent:
    return parse_record({**GOOD, **changes})


def _reasons(record: dict[str, Any], **kwargs: Any) -> list[str]:
    with pytest.raises(RecordError) as caught:
        parse_record(record, **kwargs)
    assert str(caught.value) == "; ".join(caught.value.reasons)
    return caught.value.reasons


def test_a_good_record_becomes_an_event() -> None:
    incoming = parse_record(GOOD, source="feed-a", now=D(2024, 3, 1, 2, 0, tzinfo=UTC))
    assert (incoming.number, incoming.kind, incoming.service) == ("EE123456785CN", "s10", "ems")
    event = incoming.event
    assert event.code == "EMA"
    assert event.occurred_local == D(2024, 3, 1, 9, 12)
    assert event.occurred_local.tzinfo is None
    assert event.utc_offset_min == 480
    assert event.occurred_utc == D(2024, 3, 1, 1, 12, tzinfo=UTC)
    assert (event.office_code, event.office_name, event.country) == ("CNBJSD", "BEIJING EMS", "CN")
    assert event.source == "feed-a"
    assert event.ingested_at == D(2024, 3, 1, 2, 0, tzinfo=UTC)
    assert event.raw == GOOD


@pytest.mark.parametrize(
    ("record", "reasons"),
    [
        (
            {},
            [
                "tracking_number: required and missing",
                "event_code: required and missing",
                "event_time: required and missing",
            ],
        ),
        (
            {"office_code": "CNBJSD", "country": "CN", "tracking_number": "  "},
            [
                "tracking_number: required and missing",
                "event_code: required and missing",
                "event_time: required and missing",
            ],
        ),
        (
            {"tracking_number": "EE123456785CN", "event_code": None, "event_time": ""},
            ["event_code: required and missing", "event_time: required and missing"],
        ),
        (
            {"tracking_number": "EE123456785CN", "event_code": "EMA"},
            ["event_time: required and missing"],
        ),
    ],
)
def test_missing_required_fields_are_all_reported(
    record: dict[str, Any], reasons: list[str]
) -> None:
    assert _reasons(record) == reasons


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        # Country fields: ISO 3166-1 alpha-2 shape only.
        ("country", "CHN", "country: longer than 2 characters"),
        ("country", "C1", "country: expected a two-letter country code such as CN, got 'C1'"),
        ("country", "中国", "country: expected a two-letter country code such as CN, got '中国'"),
        ("origin_country", "1", "origin_country: expected a two-letter country code"),
        ("destination_country", "DEU", "destination_country: longer than 2 characters"),
        # Event codes: letters and digits, 2 to 8 of them.
        ("event_code", "E", "event_code: expected a UPU event code"),
        ("event_code", "EM-A", "event_code: expected a UPU event code"),
        ("event_code", "EMA EMB", "event_code: expected a UPU event code"),
        ("event_code", "EMAXXXXXX", "event_code: longer than 8 characters"),
        # Over-long values are refused, never cut to fit.
        ("tracking_number", "E" * 65, "tracking_number: longer than 64 characters"),
        ("office_code", "CNBJSDXXXXXXXXXXX", "office_code: longer than 16 characters"),
        ("office_name", "B" * 201, "office_name: longer than 200 characters"),
        ("reason_text", "r" * 501, "reason_text: longer than 500 characters"),
        ("signatory", "S" * 201, "signatory: longer than 200 characters"),
        ("destination_postcode", "1" * 33, "destination_postcode: longer than 32 characters"),
        ("description", "d" * 1001, "description: longer than 1000 characters"),
        ("source", "s" * 101, "source: longer than 100 characters"),
        # NUL characters: no database stores them in text.
        ("office_name", "BEIJING\x00EMS", "office_name: contains a NUL character"),
        ("signatory", "\x00", "signatory: contains a NUL character"),
        ("event_code", "EM\x00A", "event_code: contains a NUL character"),
        # Times and offsets.
        ("event_time", "2024-03-01", "event_time: '2024-03-01' is a date without a time"),
        ("event_time", "yesterday 9am", "event_time: 'yesterday 9am' is not a date and time"),
        ("event_time", "1899-12-31T10:00", "event_time: '1899-12-31T10:00' is in the year 1899"),
        ("event_time", "2024-02-30T10:00", "event_time: '2024-02-30T10:00' is not a real date"),
        ("utc_offset", "+480", "utc_offset: '+480' is not a UTC offset"),
        ("utc_offset", "+15:00", "utc_offset: '+15:00' is outside the UTC offsets in use"),
        ("utc_offset", "CST", "utc_offset: 'CST' is not a UTC offset"),
        # JSON values that are not text (numbers are fine: see below).
        ("office_name", {"name": "BEIJING EMS"}, "office_name: expected text, got dict"),
        ("country", True, "country: expected text, got bool"),
        ("event_code", ["EMA"], "event_code: expected text, got list"),
        ("tracking_number", False, "tracking_number: expected text, got bool"),
        ("event_time", {"$date": 1709255520000}, "event_time: expected text, got dict"),
    ],
)
def test_bad_values_are_rejected_with_the_reason(field: str, value: Any, reason: str) -> None:
    reasons = _reasons({**GOOD, field: value})
    assert len(reasons) == 1, reasons
    assert reasons[0].startswith(reason), reasons


@pytest.mark.parametrize(
    ("field", "value", "stored"),
    [
        ("country", "cn", "CN"),
        ("country", " CN ", "CN"),
        ("event_code", "ema", "EMA"),
        ("office_code", "cnbjsd", "CNBJSD"),
        ("office_name", "  BEIJING EMS  ", "BEIJING EMS"),
        ("office_name", "B" * 200, "B" * 200),  # exactly the limit
        ("office_name", 10020, "10020"),  # JSON number: a postcode-like office name
        ("office_name", "北京国际邮件处理中心", "北京国际邮件处理中心"),
        ("event_code", "XYZ123", "XYZ123"),  # unknown to the catalogue, but kept (status unknown)
    ],
)
def test_accepted_values_are_tidied_not_changed(field: str, value: Any, stored: str) -> None:
    event = _parse(**{field: value}).event
    assert getattr(event, "code" if field == "event_code" else field) == stored


def test_every_problem_of_a_record_is_reported_at_once() -> None:
    record = {
        "tracking_number": "EE123456784CN",
        "event_code": "E",
        "event_time": "2024-03-01",
        "country": "CHN",
        "office_name": {"name": "x"},
        "utc_offset": "+480",
    }
    fields = [reason.split(":")[0] for reason in _reasons(record)]
    assert sorted(fields) == sorted(
        ["tracking_number", "event_code", "event_time", "country", "office_name", "utc_offset"]
    )


@pytest.mark.parametrize(
    ("event_time", "utc_offset", "offset"),
    [
        ("2024-03-01T09:12:00+08:00", "+08:00", 480),
        ("2024-03-01T09:12:00+08:00", "+0800", 480),
        ("2024-03-01T09:12:00+08:00", "UTC+8", 480),
        ("2024-03-01T01:12:00Z", "+00:00", 0),
        ("2024-03-01T09:12:00+08:00", "", 480),
        ("2024-03-01T09:12:00", "+08:00", 480),
    ],
)
def test_utc_offset_and_offset_in_the_time_may_both_be_given(
    event_time: str, utc_offset: str, offset: int
) -> None:
    event = _parse(event_time=event_time, utc_offset=utc_offset).event
    assert event.utc_offset_min == offset
    assert event.occurred_utc == D(2024, 3, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event_time", "utc_offset"),
    [
        ("2024-03-01T09:12:00+08:00", "+09:00"),
        ("2024-03-01T09:12:00Z", "+08:00"),
        ("2024-03-01T09:12:00-05:00", "+05:00"),
    ],
)
def test_utc_offset_disagreeing_with_the_time_is_rejected(event_time: str, utc_offset: str) -> None:
    reasons = _reasons({**GOOD, "event_time": event_time, "utc_offset": utc_offset})
    assert reasons == [
        f"utc_offset: disagrees with the offset written in event_time ({utc_offset} against "
        f"{event_time})"
    ]


@pytest.mark.parametrize(
    ("changes", "local", "offset"),
    [
        # China: one legal time, UTC+8, derived from the office's country.
        ({}, D(2024, 3, 1, 9, 12), 480),
        # ... or from the office code when the country is not given.
        ({"country": None, "office_code": "CNSHAD"}, D(2024, 3, 1, 9, 12), 480),
        # United States: several zones, so unknown without more to go on.
        ({"country": "US", "office_code": "USNYCA"}, D(2024, 3, 1, 9, 12), None),
        # Germany: one zone, with daylight saving time.
        ({"country": "DE", "office_code": "DEFRAA"}, D(2024, 3, 1, 9, 12), 60),
        (
            {"country": "DE", "office_code": "DEFRAA", "event_time": "2024-07-01T09:12"},
            D(2024, 7, 1, 9, 12),
            120,
        ),
        # A wall time that never happened (spring gap) or happened twice (autumn fold).
        ({"country": "DE", "event_time": "2024-03-31T02:30"}, D(2024, 3, 31, 2, 30), None),
        ({"country": "DE", "event_time": "2024-10-27T02:30"}, D(2024, 10, 27, 2, 30), None),
        # The source's own offset wins over the country's.
        ({"utc_offset": "+09:00"}, D(2024, 3, 1, 9, 12), 540),
        ({"country": "US", "event_time": "2024-03-01T09:12-05:00"}, D(2024, 3, 1, 9, 12), -300),
        # Nothing to go on: the offset stays unknown, never "UTC".
        ({"country": None, "office_code": None}, D(2024, 3, 1, 9, 12), None),
        ({"country": None, "office_code": "ZZJRSB"}, D(2024, 3, 1, 9, 12), None),
    ],
)
def test_offset_from_the_source_or_the_office_country(
    changes: dict[str, Any], local: datetime, offset: int | None
) -> None:
    event = _parse(**changes).event
    assert event.occurred_local == local
    assert event.utc_offset_min == offset
    if offset is None:
        assert event.occurred_utc is None
    else:
        assert event.occurred_utc is not None
        assert (event.occurred_utc.replace(tzinfo=None) - local).total_seconds() == -offset * 60


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("EE123456784CN", "tracking_number: The check digit should be 5, not 4."),
        ("RR473124820GB", "tracking_number: The check digit should be 9, not 0."),
        ("EE12345678CN", "tracking_number: The check digit is missing"),
        ("JE123456785CN", "tracking_number: JE is not a valid service code"),
        ("EE1234567855CN", "tracking_number: There are 10 digits between the letters"),
        ("EE123456785C", "tracking_number: The country code at the end has only one letter"),
        ("EE12345678#5CN", "tracking_number: “#” (character 11) cannot be part"),
        ("12345", "tracking_number: This has 5 digits"),
    ],
)
def test_invalid_tracking_numbers_say_what_is_wrong(number: str, message: str) -> None:
    reasons = _reasons({**GOOD, "tracking_number": number})
    assert len(reasons) == 1
    assert reasons[0].startswith(message), reasons


def test_an_unknown_issuer_country_is_refused_only_in_strict_mode() -> None:
    record = {**GOOD, "tracking_number": "EE123456785UK"}
    assert parse_record(record).number == "EE123456785UK"
    (reason,) = _reasons(record, strict=True)
    assert reason.startswith("tracking_number: UK is not an ISO country code"), reason


@pytest.mark.parametrize(
    "spelling",
    [
        "ee123456785cn",
        "EE 123 456 785 CN",
        " EE-123-456-785-CN ",
        "e e 1 2 3 4 5 6 7 8 5 c n",
        "ｅｅ　１２３－４５６－７８５　ｃｎ",
    ],
)
def test_tracking_numbers_are_normalised(spelling: str) -> None:
    incoming = _parse(tracking_number=spelling)
    assert incoming.number == "EE123456785CN"
    assert incoming.event.raw is not None
    assert incoming.event.raw["tracking_number"] == spelling  # the raw payload stays verbatim


def test_a_domestic_number_may_come_as_a_json_number() -> None:
    incoming = _parse(tracking_number=1012345678901)
    assert (incoming.number, incoming.kind) == ("1012345678901", "domestic")


def test_extra_fields_are_kept_in_the_raw_payload() -> None:
    record = {
        **GOOD,
        "weight_g": "1250",
        "mail_class": "EMS",
        "operator": {"code": "CNA", "name": "China Post"},
        "reject_note": None,
    }
    event = parse_record(record).event
    assert event.raw == record
    assert not hasattr(event, "weight_g")


def test_item_attributes_go_to_the_item() -> None:
    incoming = _parse(origin_country="cn", destination_country="de", destination_postcode="10115")
    assert (incoming.origin_country, incoming.destination_country) == ("CN", "DE")
    assert incoming.destination_postcode == "10115"


def test_the_record_source_wins_over_the_default() -> None:
    assert _parse().event.source is None
    assert parse_record(GOOD, source="events.csv").event.source == "events.csv"
    assert parse_record({**GOOD, "source": "PTC"}, source="events.csv").event.source == "PTC"


_VALUES = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
)


@given(st.dictionaries(st.sampled_from([*FIELDS, "extra"]), _VALUES))
def test_any_record_is_accepted_or_rejected_never_crashes(record: dict[str, Any]) -> None:
    reasons: list[str] = []
    try:
        incoming = parse_record(record)
    except RecordError as exc:
        reasons = exc.reasons
    if reasons:
        assert all(reason.split(":")[0] in {*FIELDS, *record} for reason in reasons)
    else:
        assert all(record.get(name) not in (None, "") for name in REQUIRED)
        assert incoming.event.raw == record
