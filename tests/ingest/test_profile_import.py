"""Feeds read through source profiles, end to end: the status after every scan, the timeline a
person reads, nothing stored twice, nothing dropped, and no phone number in a public answer.
Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

import orjson
import pytest
from eventfiles import count_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.config import Settings
from emstrack.ingest import profiles
from emstrack.ingest.files import import_file
from emstrack.ingest.records import RecordError, parse_record
from emstrack.ingest.writer import record
from emstrack.lookup import Tracker
from emstrack.store.database import Database

NUMBER = "EE123456785CN"
PHONE = "13905661234"

# An EMS item from Chizhou, Anhui to New York as China Post and then USPS print it:
# (profile, local time, text, English text, office, expected status after the scan, label).
# Two scans share a minute; the Hefei arrival is stamped after its departure; "交航" has an
# empty English text; the acceptance names the postman and his phone.
JOURNEY = [
    ("chinapost", "2026-11-20 10:05",
     f"【池州市邮政分公司】已收寄，揽投员姓名：王五,联系电话:{PHONE}", "",
     "AnHuiShengChiZhouShi", "accepted", "Posted / collected"),
    ("chinapost", "2026-11-20 18:30", "到达安徽池州处理中心", "Arrival at Sorting Center",
     "24700100", "in_transit", "Arrived at sorting centre"),
    ("chinapost", "2026-11-20 18:30", "离开安徽池州处理中心", "Departure from Sorting Center",
     "24700100", "in_transit", "Left sorting centre"),
    ("chinapost", "2026-11-21 06:10", "离开合肥处理中心", "", "23000100", "in_transit",
     "Left sorting centre"),
    ("chinapost", "2026-11-21 06:12", "到达合肥处理中心", "", "23000100", "in_transit",
     "Arrived at sorting centre"),
    ("chinapost", "2026-11-22 09:40", "出口总包互封开拆", "Opening", "20110600", "in_transit",
     "Opened at the outward office of exchange"),
    ("chinapost", "2026-11-22 23:55", "交航", "", "ShangHaiShi", "in_transit",
     "Handed over to the airline"),
    ("chinapost", "2026-11-23 08:00", f"请联系投递员 电话:{PHONE}", "", "ShangHaiShi",
     "in_transit", "请联系投递员"),
    ("usps", "2026-11-24 05:12", "Processed Through Facility", "", "JAMAICA, NY 11431",
     "in_transit", "Processed through facility"),
    ("usps", "2026-11-25 07:48", "Out for Delivery", "", "BROOKLYN, NY 11201", "out_for_delivery",
     "Out for delivery"),
    ("usps", "2026-11-25 13:02", "Delivered, In/At Mailbox", "", "BROOKLYN, NY 11201",
     "delivered", "Delivered"),
]  # fmt: skip


def _row(step: tuple[str, ...]) -> dict[str, str]:
    _, when, text, english, office, _, _ = step
    row = {"tracking_number": NUMBER, "event_time": when, "description": text}
    row["description_en"] = english
    if office.isdigit():
        row["office_code"] = office
    else:
        row["office_name"] = office
    return row


def _store(db: Database, profile: str, *rows: dict[str, str]) -> list[str]:
    batch = [parse_record(r, source=profile, profile=profiles.load(profile)) for r in rows]
    return list(record(db, batch).outcomes)


def test_the_status_after_every_scan(db: Database, settings: Settings) -> None:
    tracker = Tracker(db, settings)
    for step in JOURNEY:
        assert _store(db, step[0], _row(step)) == ["stored"]
        assert tracker.lookup(NUMBER).status == step[5], step[2]
    # The timeline, newest first, as a person reads it; the fast path says the same.
    # Two scans of one office in one minute share their place in the journey: either order.
    answer = tracker.answer(NUMBER).body
    labels = [e["label"] for e in answer["events"]][::-1]
    assert _tie_sorted(labels) == _tie_sorted([step[6] for step in JOURNEY])
    assert answer == tracker.lookup(NUMBER).to_dict()
    zh = [e["label"] for e in tracker.answer(NUMBER, lang="zh").body["events"]][::-1]
    assert _tie_sorted(zh) == [
        "收寄", "到达处理中心", "离开处理中心", "离开处理中心", "到达处理中心", "出口总包互封开拆",
        "交航", "请联系投递员", "处理中心已处理", "安排投递", "已妥投",
    ]  # fmt: skip


def _tie_sorted(labels: list[str]) -> list[str]:
    return [labels[0], *sorted(labels[1:3]), *labels[3:]]


def test_reimporting_a_feed_stores_nothing_twice(db: Database) -> None:
    for profile in ("chinapost", "usps"):
        rows = [_row(s) for s in JOURNEY if s[0] == profile]
        assert set(_store(db, profile, *rows)) == {"stored"}
        assert set(_store(db, profile, *rows)) == {"duplicate"}
    assert count_events(db) == len(JOURNEY)


def test_a_phone_number_never_reaches_a_public_answer(db: Database, settings: Settings) -> None:
    for step in JOURNEY:
        _store(db, step[0], _row(step))
    tracker = Tracker(db, settings)
    for lang in ("en", "zh"):
        public = orjson.dumps(tracker.answer(NUMBER, lang=lang).body).decode()
        assert PHONE not in public
        assert PHONE not in orjson.dumps(tracker.lookup(NUMBER).to_dict(lang)).decode()
    private = orjson.dumps(tracker.answer(NUMBER, private=True).body).decode()
    assert PHONE in private  # the operator's view keeps the whole text


def test_import_with_a_profile(runner: CliRunner, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "chinapost.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["邮件号", "时间", "处理信息", "desc_en", "地点"])
        for step in JOURNEY[:7]:
            writer.writerow([NUMBER, step[1], step[2], step[3], step[4]])
    result = runner.invoke(app, ["import", "--quiet", "--profile", "chinapost", str(path)])
    assert result.exit_code == 0, result.output
    assert count_events(db) == 7
    # Without the profile the same file lacks the columns of today's format.
    result = runner.invoke(app, ["import", "--quiet", str(path)])
    assert result.exit_code == 1
    assert "lacks tracking_number, event_code, event_time" in result.output


def test_import_with_a_bad_profile(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("name = 'mine'\n[[rule]]\nid = 'x'\nmatch = ['a']\n", encoding="utf-8")
    result = runner.invoke(app, ["import", "--profile", str(path), str(tmp_path / "none.csv")])
    assert result.exit_code == 1
    assert "rule 1 (x) needs exactly one of 'event_code' and 'effect'" in result.output


_TEXT = st.sampled_from(
    [
        "交航",
        "妥投",
        "未妥投",
        "到达上海处理中心",
        "Collection",
        "",
        "  ",
        "什么",
        "Out for Delivery",
    ]
)
_ROWS = st.lists(
    st.fixed_dictionaries(
        {
            "tracking_number": st.sampled_from([NUMBER, "EE123456794CN", "EE123456785XX", ""]),
            "event_time": st.sampled_from(["2026-11-20 10:05", "2026-11-20 10:05:59", "soon"]),
            "description": _TEXT,
            "description_en": _TEXT,
        }
    ),
    max_size=8,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=_ROWS, profile=st.sampled_from(["chinapost", "usps"]))
def test_no_row_is_ever_dropped(db: Database, rows: list[dict[str, str]], profile: str) -> None:
    """read = stored + duplicate + rejected, whatever the rows say."""
    chosen = profiles.load(profile)
    batch, rejected = [], 0
    for row in rows:
        try:
            batch.append(parse_record(row, profile=chosen))
        except RecordError:
            rejected += 1
    outcomes = list(record(db, batch).outcomes)
    assert len(outcomes) == len(batch)
    assert set(outcomes) <= {"stored", "duplicate"}
    assert len(rows) == outcomes.count("stored") + outcomes.count("duplicate") + rejected


_CELL = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([NUMBER, "EE123456799CN", "EE123456794CN", "", "hello"]),
            st.sampled_from(["2026-11-20 10:05", "November 24, 2026, 9:30 am", "", "soon"]),
            st.one_of(_TEXT, _CELL),
            st.one_of(_TEXT, _CELL),
        ),
        max_size=10,
    )
)
def test_no_row_of_a_file_is_ever_dropped(
    db: Database, tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[str, ...]]
) -> None:
    """A file read through a profile: read = new + duplicate + rejected, rejects in their file."""
    path = tmp_path_factory.mktemp("feed") / "usps.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["tracking", "eventTime", "event", "description_en"])
        writer.writerows(rows)
    summary = import_file(
        db, path, Settings(database_url="sqlite://"), profile=profiles.load("usps")
    )
    assert summary.read == summary.new + summary.duplicate + summary.rejected
    if summary.rejected:
        assert summary.rejects_path is not None
        with summary.rejects_path.open(encoding="utf-8", newline="") as f:
            assert len(list(csv.DictReader(f))) == summary.rejected


def test_the_page_shows_the_operator_labels(db: Database, settings: Settings) -> None:
    for step in JOURNEY[:8]:
        _store(db, step[0], _row(step))
    events = Tracker(db, settings).lookup(NUMBER).events
    assert [e.label("en") for e in events[:2]] == ["请联系投递员", "Handed over to the airline"]
    assert events[1].label("zh") == "交航"


def test_an_operator_event_shows_no_upu_code(db: Database, settings: Settings) -> None:
    """A scan the profile maps to an operator event has no UPU code: `OPR` in the answer, with
    the status its effect declares; a text the profile maps to a UPU code shows that code."""
    for step in JOURNEY:
        _store(db, step[0], _row(step))
    events = Tracker(db, settings).answer(NUMBER).body["events"]
    by_label = {e["label"]: e for e in events}
    sorting = by_label["Arrived at sorting centre"]
    assert (sorting["code"], sorting["known_code"], sorting["status"]) == (
        "OPR",
        False,
        "in_transit",
    )
    assert by_label["Delivered"]["code"] == "EMI"
    assert by_label["Delivered"]["known_code"] is True
