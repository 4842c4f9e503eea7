"""Event times at the ends of what a datetime holds: refused row by row on every ingest path.

`/Date(253402300799999+1400)/` is the last millisecond of year 9999 shifted past it; such a time
once crashed the API (500) and the import (a traceback, the batch lost, no rejects file). It is
now a bad time like any other: that row is rejected with its reason, the others are stored.
Every test runs on SQLite and on PostgreSQL, whose `timestamp` has a range of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from eventfiles import count_events, empty_tables, read_rejects_csv, s10, write_csv
from hypothesis import HealthCheck, example, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from typer.testing import CliRunner
from webclient import serve

from emstrack import keys
from emstrack.cli import EXIT_SOME_REJECTED, app
from emstrack.config import Settings
from emstrack.domain.times import format_iso_offset
from emstrack.ingest.records import RecordError, parse_record
from emstrack.ingest.writer import record
from emstrack.keys import KeyScope
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.web.app import create_app

EXTREMES = [
    "/Date(253402300799999+1400)/",
    "/Date(-62135596800000-0100)/",
    "/Date(253402300799999)/",
    "/Date(-62135596800000+1400)/",
    "9999-12-31T23:59:59.999999+14:00",
    "0001-01-01T00:00:00-12:00",
    "9999-12-31T23:59-23:59",
    "0001-01-01 00:00 UTC-14",
]
NUMBER = s10(41000001)
GOOD = {
    "tracking_number": NUMBER,
    "event_code": "EMA",
    "event_time": "2026-11-20T09:00",
    "office_code": "CNBJSD",
    "country": "CN",
}
LATER = GOOD | {"event_code": "EMC", "event_time": "/Date(1795190400000+0800)/"}


def _with_time(event_time: str) -> dict[str, str]:
    return GOOD | {"tracking_number": s10(41000002), "event_time": event_time}


@pytest.mark.parametrize("event_time", EXTREMES)
def test_parse_record_rejects_the_time_alone(event_time: str) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(_with_time(event_time))
    assert len(caught.value.reasons) == 1
    assert caught.value.reasons[0].startswith("event_time: ")


_ENDS = (-62135596800000, 253402300799999)
_MS = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from(_ENDS).flatmap(
        lambda end: st.integers(min_value=end - 86_400_000, max_value=end + 86_400_000)
    ),
    st.integers(min_value=631152000000, max_value=4133980799999),  # 1990 to 2100
)
_IN_USE = st.integers(min_value=-48, max_value=56).map(lambda q: format_iso_offset(q * 15))
_ANY_HHMM = st.tuples(st.sampled_from("+-"), st.integers(0, 99), st.integers(0, 99)).map(
    lambda t: f"{t[0]}{t[1]:02d}{t[2]:02d}"
)
_DOTNET = st.builds(
    lambda ms, off: f"/Date({ms}{off.replace(':', '')})/",
    _MS,
    st.one_of(st.just(""), _IN_USE, _ANY_HHMM),
)
_ISO = st.builds(
    lambda local, off: local.isoformat() + off,
    st.one_of(
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)),
        st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)]),
        st.sampled_from([datetime(1990, 1, 1), datetime(2100, 12, 31, 23, 59, 59, 999999)]),
    ),
    st.one_of(st.just(""), st.just("Z"), _IN_USE, st.sampled_from(["+23:59", "-23:59"])),
)


@examples(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(times=st.lists(st.one_of(_DOTNET, _ISO), min_size=1, max_size=8))
@example(times=["/Date(253402300799999+1400)/", "1990-01-01T00:00+14:00"])
@example(times=["/Date(-62135596800000-0100)/", "2100-12-31T23:59:59.999999-12:00"])
def test_any_time_is_stored_or_rejected_through_the_writer(
    db: Database, settings: Settings, times: list[str]
) -> None:
    """Whatever the time, parse_record refuses it or the writer stores it and it reads back."""
    empty_tables(db)
    accepted = []
    for i, event_time in enumerate(times):
        fields = GOOD | {"tracking_number": s10(42000000 + i), "event_time": event_time}
        try:
            accepted.append(parse_record(fields, now=datetime(2026, 11, 20, tzinfo=UTC)))
        except RecordError as exc:
            reasons = exc.reasons
        else:
            continue
        assert [r.split(":")[0] for r in reasons] == ["event_time"]  # the time alone
    # A reuse window that reaches past year 1 and 9999 from any accepted time.
    record(db, accepted, reuse_after=timedelta(days=365 * 120))
    again = record(db, accepted)
    assert again.stored == 0
    tracker = Tracker(db, settings)
    for incoming in accepted:
        found = tracker.lookup(incoming.number)
        assert found.outcome == "found"
        assert incoming.event.occurred_local in {e.occurred_local for e in found.events}


def _post(http: httpx.Client, auth: dict[str, str], events: list[dict[str, str]]) -> httpx.Response:
    return http.post("/api/v1/events", json={"events": events}, headers=auth)


def test_the_api_rejects_the_row_and_stores_the_others(db: Database, settings: Settings) -> None:
    auth = {"Authorization": f"Bearer {keys.create(db, 'feed', KeyScope.INGEST).key}"}
    body = [GOOD, *(_with_time(t) for t in EXTREMES), LATER]
    with serve(create_app(settings, db)) as http:
        answer = _post(http, auth, body)
        assert answer.status_code == 200, answer.text
        doc = answer.json()
        assert [r["outcome"] for r in doc["results"]] == [
            "stored",
            *["rejected"] * len(EXTREMES),
            "stored",
        ]
        for result in doc["results"][1:-1]:
            assert result["reasons"][0].startswith("event_time: ")
        assert http.get(f"/api/v1/tracking/{NUMBER}").json()["item"]["event_count"] == 2
        assert _post(http, auth, body).json()["duplicate"] == 2


def test_the_import_rejects_the_row_writes_the_rejects_file_and_stores_the_others(
    runner: CliRunner, db: Database, tmp_path: Path
) -> None:
    header = list(GOOD)
    rows = [list(GOOD.values()), *([*_with_time(t).values()] for t in EXTREMES)]
    rows.append(list(LATER.values()))
    path = write_csv(tmp_path / "events.csv", header, rows)
    for _run in range(2):  # a rerun rejects the same rows again, and stores nothing twice
        result = runner.invoke(app, ["import", str(path), "-q", "--batch-size", "100"])
        assert result.exit_code == EXIT_SOME_REJECTED, result.output
        assert "Traceback" not in result.output
        rejects = read_rejects_csv(tmp_path / "events.rejects.csv")
        assert [r["event_time"] for r in rejects] == EXTREMES
        assert [int(r["reject_line"]) for r in rejects] == list(range(3, 3 + len(EXTREMES)))
        assert all(r["reject_reason"].startswith("event_time: ") for r in rejects)
        assert count_events(db) == 2
