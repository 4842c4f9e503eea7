"""Event times: parsing, offsets from the office's country, formatting.

docs/standards/events.md §5.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from emstrack.domain.times import (
    TimeParseError,
    format_iso_offset,
    format_offset,
    offset_for,
    parse_event_time,
    parse_offset,
    to_utc,
)

D = datetime


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("+08:00", 480),
        ("+0800", 480),
        ("+08", 480),
        ("+8", 480),
        ("-03:30", -210),
        ("-0330", -210),
        ("+05:45", 345),
        ("Z", 0),
        ("z", 0),
        ("UTC", 0),
        ("GMT", 0),
        ("UTC+8", 480),
        ("UTC+08:00", 480),
        ("UTC+5:30", 330),
        ("GMT-3", -180),
        ("utc -3", -180),
        ("+14:00", 840),
        ("-12:00", -720),
        (" +01:00 ", 60),
    ],
)
def test_parse_offset(text: str, minutes: int) -> None:
    assert parse_offset(text) == minutes


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("+480", "ambiguous"),  # minutes or 4:80? refused, not guessed
        ("+330", "ambiguous"),
        ("480", "ambiguous"),
        ("EST", "not a UTC offset"),
        ("", "not a UTC offset"),
        ("UTC+", "not a UTC offset"),
        ("+08:00:00", "not a UTC offset"),
        ("+08:60", "minutes go up to 59"),
        ("+15:00", "outside the UTC offsets"),
        ("-13", "outside the UTC offsets"),
        ("+08:20", "quarter hours"),
    ],
)
def test_parse_offset_refuses_with_a_sentence(text: str, complaint: str) -> None:
    with pytest.raises(TimeParseError, match=complaint) as caught:
        parse_offset(text)
    assert "'+08:00'" in str(caught.value)  # every message shows what works


@pytest.mark.parametrize(
    ("text", "local", "offset"),
    [
        ("2024-03-05T15:10:00", D(2024, 3, 5, 15, 10), None),
        ("2024-03-05 15:10", D(2024, 3, 5, 15, 10), None),
        ("2024-03-05T15:10:00+08:00", D(2024, 3, 5, 15, 10), 480),
        ("2024-03-05T15:10:00+0800", D(2024, 3, 5, 15, 10), 480),
        ("2024-03-05T07:10:00Z", D(2024, 3, 5, 7, 10), 0),
        ("2024-03-05T07:10:00-03:30", D(2024, 3, 5, 7, 10), -210),
        ("20240305T151000", D(2024, 3, 5, 15, 10), None),
        ("20240305T151000+0100", D(2024, 3, 5, 15, 10), 60),
        ("2024-03-05T15:10:07.250", D(2024, 3, 5, 15, 10, 7, 250_000), None),
        ("2024-03-05T15:10:07,5", D(2024, 3, 5, 15, 10, 7, 500_000), None),
        ("  2024-03-05T15:10  ", D(2024, 3, 5, 15, 10), None),
        # Forms fromisoformat refuses, read by the slow path.
        ("2024-03-05t15:10z", D(2024, 3, 5, 15, 10), 0),
        ("2024-03-05 15:10 UTC+8", D(2024, 3, 5, 15, 10), 480),
        ("2024-03-05 15:10:00 GMT-3", D(2024, 3, 5, 15, 10), -180),
        ("2024-03-05 9:10", D(2024, 3, 5, 9, 10), None),
        # UPU PTC .NET dates: the bare number is kept as a wall time with no offset.
        ("/Date(1709622600000)/", D(2024, 3, 5, 7, 10), None),
        ("\\/Date(1709622600000)\\/", D(2024, 3, 5, 7, 10), None),
        ("/Date(1709622600000+0800)/", D(2024, 3, 5, 15, 10), 480),
        ("/Date(1709622600000-0300)/", D(2024, 3, 5, 4, 10), -180),
    ],
)
def test_parse_event_time(text: str, local: datetime, offset: int | None) -> None:
    assert parse_event_time(text) == (local, offset)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("2024-03-05", "without a time of day"),
        ("20240305", "without a time of day"),
        ("1989-12-31T23:59", "between 1990 and 2100"),
        ("2101-01-01T00:00", "between 1990 and 2100"),
        ("/Date(0)/", "between 1990 and 2100"),
        ("/Date(99999999999999999999)/", "too far from 1970"),
        # The ends of what a datetime holds, shifted past them by the offset.
        ("/Date(253402300799999+1400)/", "too far from 1970"),
        ("/Date(-62135596800000-0100)/", "too far from 1970"),
        ("/Date(253402300799999)/", "between 1990 and 2100"),
        ("/Date(-62135596800000+0100)/", "between 1990 and 2100"),
        ("/Date(" + "9" * 5000 + ")/", "too far from 1970"),
        ("9999-12-31T23:59:59.999999+14:00", "between 1990 and 2100"),
        ("0001-01-01T00:00-12:00", "between 1990 and 2100"),
        ("9999-12-31T23:59-23:59", "outside the UTC offsets"),
        ("15:10", "not a date and time we can read"),
        ("Mar 5, 2024 3:10 PM", "not a date and time we can read"),
        ("05.03.2024 15:10", "not a date and time we can read"),
        ("/Date(abc)/", "not a date and time we can read"),
        ("", "not a date and time we can read"),
        ("2024-02-30 10:00", "not a real date and time"),
        ("2024-03-05T15:10+08:20", "quarter hours"),
        ("2024-03-05T15:10+15:00", "outside the UTC offsets"),
        ("2024-03-05T15:10:00+08:00:30", "seconds in its UTC offset"),
        ("2024-03-05 15:10 EST", "not a UTC offset"),
    ],
)
def test_parse_event_time_refuses_with_a_sentence(text: str, complaint: str) -> None:
    with pytest.raises(TimeParseError, match=complaint) as caught:
        parse_event_time(text)
    message = str(caught.value)
    assert message.endswith(".")
    assert "e.g." in message or "like" in message


_LOCALS = st.datetimes(min_value=D(1990, 1, 1), max_value=D(2100, 12, 31))
_OFFSETS = st.integers(min_value=-48, max_value=56).map(lambda q: q * 15)


@given(_LOCALS, _OFFSETS)
def test_iso_round_trip(local: datetime, offset: int) -> None:
    assert parse_event_time(local.isoformat() + format_iso_offset(offset)) == (local, offset)


@given(_LOCALS)
def test_naive_time_stays_naive(local: datetime) -> None:
    assert parse_event_time(local.isoformat()) == (local, None)


# Milliseconds from far before year 1 to far after 9999, with both ends of datetime's range
# (and the UTC offsets around them) drawn often.
_DATETIME_ENDS = (-62135596800000, 253402300799999)
_MS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from(_DATETIME_ENDS).flatmap(
        lambda end: st.integers(min_value=end - 86_400_000, max_value=end + 86_400_000)
    ),
    st.integers(min_value=631152000000, max_value=4133980799999),  # 1990 to 2100
)
_SIGNED_HHMM = st.one_of(
    _OFFSETS.map(lambda m: format_iso_offset(m).replace(":", "")),  # those in use
    st.tuples(st.sampled_from("+-"), st.integers(0, 99), st.integers(0, 99)).map(
        lambda t: f"{t[0]}{t[1]:02d}{t[2]:02d}"
    ),
)
_ANY_DATETIME = st.datetimes(min_value=D(1, 1, 1), max_value=D(9999, 12, 31, 23, 59, 59, 999999))
_ISO_OFFSETS = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59)


def _accepted_or_refused(text: str) -> tuple[datetime, int | None] | None:
    """parse_event_time's answer, None for a refusal; any other exception fails the test."""
    try:
        local, offset = parse_event_time(text)
    except TimeParseError:
        return None
    assert 1990 <= local.year <= 2100
    if offset is not None:
        assert -12 * 60 <= offset <= 14 * 60
    to_utc(local, offset)  # the instant the writer stores exists too
    return local, offset


@given(_MS, st.one_of(st.none(), _SIGNED_HHMM))
@example(253402300799999, "+1400")
@example(-62135596800000, "-0100")
def test_any_dotnet_date_is_read_or_refused(ms: int, offset: str | None) -> None:
    answer = _accepted_or_refused(f"/Date({ms}{offset or ''})/")
    if answer is not None:
        minutes = 0 if answer[1] is None else answer[1]
        assert answer[0] == D(1970, 1, 1) + timedelta(milliseconds=ms, minutes=minutes)


@given(_ANY_DATETIME, _ISO_OFFSETS)
def test_any_iso_time_with_an_offset_is_read_or_refused(local: datetime, offset: int) -> None:
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    answer = _accepted_or_refused(f"{local.isoformat()}{sign}{hours:02d}:{minutes:02d}")
    if answer is not None:
        assert answer == (local, offset)


@pytest.mark.parametrize("local", [D(1, 1, 1), D(9999, 12, 31, 23, 59, 59, 999999)])
@pytest.mark.parametrize("offset", ["+14:00", "-14:00", "+23:59", "-23:59", "Z", ""])
@pytest.mark.parametrize("separator", ["T", " ", "t"])
def test_iso_times_at_the_ends_of_datetime_are_refused(
    local: datetime, offset: str, separator: str
) -> None:
    with pytest.raises(TimeParseError):
        parse_event_time(local.isoformat(separator) + offset)


@given(_OFFSETS)
def test_formatted_offsets_parse_back(offset: int) -> None:
    assert parse_offset(format_iso_offset(offset)) == offset
    assert parse_offset(str(format_offset(offset))) == offset


@pytest.mark.parametrize(
    ("country", "local", "office_code", "offset"),
    [
        # China is one legal time, although tzdata also lists Asia/Urumqi (UTC+6).
        ("CN", D(2024, 3, 5, 15, 10), "CNBJSD", 480),
        ("CN", D(2024, 7, 1, 3, 0), None, 480),
        ("cn", D(2024, 3, 5, 15, 10), None, 480),
        # Europe/Berlin and Europe/Busingen agree.
        ("DE", D(2024, 7, 15, 12, 0), None, 120),
        ("DE", D(2024, 1, 15, 12, 0), None, 60),
        ("DE", D(2024, 3, 31, 1, 59), None, 60),
        ("DE", D(2024, 3, 31, 2, 30), None, None),  # gap: never happened
        ("DE", D(2024, 3, 31, 3, 0), None, 120),
        ("DE", D(2024, 10, 27, 1, 59), None, 120),
        ("DE", D(2024, 10, 27, 2, 30), None, None),  # fold: happened twice
        ("DE", D(2024, 10, 27, 3, 0), None, 60),
        ("JP", D(2024, 3, 5, 9, 0), None, 540),
        ("IN", D(2024, 3, 5, 9, 0), None, 330),
        ("NP", D(2024, 3, 5, 9, 0), None, 345),
        ("GB", D(2024, 7, 1, 9, 0), None, 60),
        # Several zones that disagree: no single offset.
        ("US", D(2024, 3, 5, 9, 0), "USJFKA", None),
        ("RU", D(2024, 3, 5, 9, 0), None, None),
        ("BR", D(2024, 3, 5, 9, 0), None, None),
        # No usable country: the IMPC office code starts with one.
        (None, D(2024, 7, 15, 12, 0), "DEFRAA", 120),
        (None, D(2024, 1, 15, 12, 0), "DEFRAA", 60),
        ("", D(2024, 1, 15, 12, 0), "CNBJSD", 480),
        ("ZZ", D(2024, 1, 15, 12, 0), "CNSHAD", 480),
        (None, D(2024, 1, 15, 12, 0), None, None),
        ("ZZ", D(2024, 1, 15, 12, 0), "ZZXXXA", None),
    ],
)
def test_offset_for(
    country: str | None, local: datetime, office_code: str | None, offset: int | None
) -> None:
    assert offset_for(country, local, office_code) == offset


def _reference(zones: list[str], local: datetime) -> int | None:
    offsets = {
        local.replace(tzinfo=ZoneInfo(zone), fold=fold).utcoffset()
        for zone in zones
        for fold in (0, 1)
    }
    if len(offsets) != 1:
        return None
    (delta,) = offsets
    assert delta is not None
    return delta // timedelta(minutes=1)


_ZONES = {
    "DE": ["Europe/Berlin", "Europe/Busingen"],
    "GB": ["Europe/London"],
    "IL": ["Asia/Jerusalem"],
    "CL": ["America/Santiago", "America/Punta_Arenas", "Pacific/Easter"],
}
_TRANSITION_DAYS = {
    "DE": [D(2024, 3, 31), D(2024, 10, 27)],
    "GB": [D(2024, 3, 31), D(2024, 10, 27)],
    "IL": [D(2024, 3, 29), D(2024, 10, 27)],
    "CL": [D(2024, 4, 6), D(2024, 9, 7)],
}


@pytest.mark.parametrize(
    ("country", "day"), [(c, d) for c, days in _TRANSITION_DAYS.items() for d in days]
)
def test_cache_never_changes_the_answer_near_a_transition(country: str, day: datetime) -> None:
    # Visit the day minute by minute, backwards and forwards, so cached hours are reused.
    minutes = [day + timedelta(minutes=m) for m in range(0, 27 * 60, 7)]
    for local in [*reversed(minutes), *minutes]:
        assert offset_for(country, local) == _reference(_ZONES[country], local), local


def test_to_utc() -> None:
    assert to_utc(D(2024, 3, 5, 15, 10), 480) == D(2024, 3, 5, 7, 10, tzinfo=UTC)
    assert to_utc(D(2024, 3, 5, 1, 0), 60) == D(2024, 3, 5, 0, 0, tzinfo=UTC)
    assert to_utc(D(2024, 3, 5, 15, 10), None) is None


@pytest.mark.parametrize(
    ("offset", "human", "iso"),
    [
        (480, "UTC+8", "+08:00"),
        (330, "UTC+5:30", "+05:30"),
        (345, "UTC+5:45", "+05:45"),
        (-210, "UTC-3:30", "-03:30"),
        (-180, "UTC-3", "-03:00"),
        (0, "UTC", "+00:00"),
        (840, "UTC+14", "+14:00"),
    ],
)
def test_format_offset(offset: int, human: str, iso: str) -> None:
    assert format_offset(offset) == human
    assert format_iso_offset(offset) == iso


def test_format_unknown_offset() -> None:
    assert format_offset(None) is None
