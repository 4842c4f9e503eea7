"""Times as `upu-names` feeds print them (docs/import.md, "upu-names"): a 24-hour clock with an
AM/PM beside it is read as printed where the two agree, as a 12-hour clock reads it where the
hour allows both, and the row alone is rejected, saying why, where they contradict."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emstrack.domain.times import TimeParseError
from emstrack.ingest import profiles
from emstrack.ingest.records import RecordError, parse_record

NUMBER = "EE123456785CN"
UPU_NAMES = profiles.load("upu-names")


@pytest.mark.parametrize(
    ("printed", "local"),
    [
        ("2026-11-24 13:45 PM", datetime(2026, 11, 24, 13, 45)),  # redundant PM
        ("2026-11-24 01:45 PM", datetime(2026, 11, 24, 13, 45)),  # 12-hour clock
        ("2026-11-24 1:45 pm", datetime(2026, 11, 24, 13, 45)),
        ("2026-11-24 09:30 AM", datetime(2026, 11, 24, 9, 30)),
        ("2026-11-24 00:10 AM", datetime(2026, 11, 24, 0, 10)),  # redundant AM
        ("2026-11-24 12:10 AM", datetime(2026, 11, 24, 0, 10)),  # 12-hour midnight
        ("2026-11-24 12:10 PM", datetime(2026, 11, 24, 12, 10)),
        ("2026-11-24 23:59:30 PM", datetime(2026, 11, 24, 23, 59, 30)),
        ("2026/11/24 18:00 PM", datetime(2026, 11, 24, 18, 0)),
        ("2026/11/24 18:00", datetime(2026, 11, 24, 18, 0)),
        ("24.11.2026 16:20 PM", datetime(2026, 11, 24, 16, 20)),
        ("24.11.2026 16:20", datetime(2026, 11, 24, 16, 20)),
        ("24-11-2026 04:20 PM", datetime(2026, 11, 24, 16, 20)),
        ("24 November 2026 14:05 PM", datetime(2026, 11, 24, 14, 5)),
        ("24 Nov 2026  14:05", datetime(2026, 11, 24, 14, 5)),
        ("November 24, 2026 14:05 PM", datetime(2026, 11, 24, 14, 5)),
        ("November 24, 2026, 2:05 PM", datetime(2026, 11, 24, 14, 5)),
        ("2026-11-24T13:45", datetime(2026, 11, 24, 13, 45)),  # ISO 8601, as every profile
    ],
)
def test_times_as_printed(printed: str, local: datetime) -> None:
    record = {"tracking_number": NUMBER, "event_time": printed, "description": "Final delivery"}
    assert parse_record(record, profile=UPU_NAMES).event.occurred_local == local


@pytest.mark.parametrize(
    ("printed", "clash"),
    [
        ("2026-11-24 13:45 AM", "13:45 is a 24-hour time, which contradicts AM"),
        ("24.11.2026 23:00 am", "23:00 is a 24-hour time, which contradicts AM"),
        ("2026-11-24 00:30 PM", "00:30 is a 24-hour time, which contradicts PM"),
    ],
)
def test_a_contradictory_time_rejects_its_row_saying_why(printed: str, clash: str) -> None:
    record = {"tracking_number": NUMBER, "event_time": printed, "description": "Final delivery"}
    with pytest.raises(RecordError) as caught:
        parse_record(record, profile=UPU_NAMES)
    assert caught.value.reasons == [
        f"event_time: {printed!r}: {clash}; write "
        f"{clash[:5]} without AM/PM, or the hour the feed meant"
    ]


def test_a_time_in_no_format_keeps_the_usual_reason() -> None:
    record = {"tracking_number": NUMBER, "event_time": "soon", "description": "Final delivery"}
    with pytest.raises(RecordError) as caught:
        parse_record(record, profile=UPU_NAMES)
    assert caught.value.reasons[0].startswith("event_time: ")
    assert "24-hour" not in caught.value.reasons[0]


@given(
    moment=st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0)
    ),
    form=st.sampled_from(["%Y-%m-%d", "%d.%m.%Y", "%d %B %Y", "%Y/%m/%d"]),
    redundant=st.booleans(),
    lower=st.booleans(),
)
def test_no_consistent_24_hour_time_is_rejected(
    moment: datetime, form: str, redundant: bool, lower: bool
) -> None:
    """Any valid 24-hour time with the AM/PM that agrees with it reads as itself, whether the
    hour is printed on the 24-hour clock (AM/PM redundant) or on the 12-hour one."""
    meridiem = "PM" if moment.hour >= 12 else "AM"
    hour = moment.hour if redundant else (moment.hour % 12 or 12)
    text = f"{moment.strftime(form)} {hour:02d}:{moment.minute:02d} {meridiem}"
    text = text.lower() if lower else text
    assert UPU_NAMES.parse_time(text) == moment


@given(hour=st.integers(13, 23), minute=st.integers(0, 59))
def test_every_afternoon_hour_with_am_is_refused(hour: int, minute: int) -> None:
    with pytest.raises(TimeParseError, match="contradicts AM"):
        UPU_NAMES.parse_time(f"2026-11-24 {hour}:{minute:02d} AM")
