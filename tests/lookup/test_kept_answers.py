"""The public answers the read model keeps (`emstrack.lookup.bodies`, `store.answers`): made by
the writers in the same transaction, they are byte for byte the answers a lookup makes; they are
sent only where they were made by this release and settings (else the answer is made, as right
and only slower); `emstrack db refresh-answers` makes them again; a renderer that fails loses no
event; a private answer never comes from them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from sqlalchemy import select, text
from typer.testing import CliRunner

from emstrack.cli import app
from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain.lang import Lang
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.lookup import Tracker
from emstrack.lookup.bodies import PublicBodies, install, remake, stamp_of
from emstrack.store.database import Database
from emstrack.store.schema import item_answers, item_public_answers

NOW = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)
NUMBER = "EE123456785CN"


def _made(tracker: Tracker, raw: str, lang: Lang) -> str:
    """The answer a lookup makes from the rows (the general path)."""
    return orjson.dumps(tracker.lookup(raw).to_dict(lang)).decode()


def _rows(db: Database) -> dict[str, tuple[Any, ...]]:
    """Each number's (version, and the stamp and answers kept for that version, or Nones)."""
    kept = item_public_answers
    with db.read() as conn:
        query = select(
            item_answers.c.number,
            item_answers.c.version,
            kept.c.stamp,
            kept.c.public_en,
            kept.c.public_zh,
        ).outerjoin(
            kept,
            (kept.c.number == item_answers.c.number) & (kept.c.version == item_answers.c.version),
        )
        return {row[0]: tuple(row[1:]) for row in conn.execute(query)}


def test_every_kept_answer_is_the_one_a_lookup_makes(db: Database, settings: Settings) -> None:
    install(db, settings)
    load_demo(db, items=150, seed=1, now=NOW)
    tracker = Tracker(db, settings)
    rows = _rows(db)
    assert rows
    kept = 0
    for number, (_, stamp, public_en, public_zh) in rows.items():
        assert stamp == tracker.stamp, number  # every row made by this release
        if public_en is None:
            assert public_zh is None
            assert tracker.answer(number).kept is None  # made at each lookup
            continue
        kept += 1
        typed = f"{number[:2].lower()} {number[2:6]} {number[6:]}"
        for lang in ("en", "zh"):
            made = _made(tracker, number, lang)
            for raw in (number, typed):
                answer = tracker.answer(raw, lang=lang)
                assert answer.kept == made, (raw, lang)
                assert answer.content() == made.encode()
            # A private answer is made, with the personal fields, never taken from them.
            private = tracker.answer(number, lang=lang, private=True)
            assert private.kept is None
            assert private.body["item"]["destination_postcode_verified"] in (True, False)
    # Only domestic numbers without a check digit carry a note and are made each time.
    assert kept >= 0.9 * len(rows)
    # The batch takes them too, and makes the private ones.
    some = [n for n, row in rows.items() if row[2] is not None][:5]
    langs: tuple[Lang, ...] = ("en", "zh")
    for lang in langs:
        answers = tracker.answer_many(some, lang=lang)
        assert [a.kept for a in answers] == [_made(tracker, n, lang) for n in some]
        assert all(a.kept is None for a in tracker.answer_many(some, lang=lang, private=True))


def test_the_staged_import_keeps_them_too(db: Database, settings: Settings) -> None:
    if db.dialect != "postgresql":
        pytest.skip("the staged import (COPY) is PostgreSQL's; SQLite writes through refresh")
    install(db, settings)
    batch = [parse_record(r, source="test") for r in history(NUMBER, *DELIVERED_TO_DE)]
    record(db, batch, staged=True)
    tracker = Tracker(db, settings)
    for lang in ("en", "zh"):
        answer = tracker.answer(NUMBER, lang=lang)
        assert answer.kept is not None
        assert answer.kept == _made(tracker, NUMBER, lang)


def test_answers_kept_by_another_release_are_not_sent(db: Database, settings: Settings) -> None:
    install(db, settings)
    load_demo(db, items=20, seed=2, now=NOW)
    # Another home country changes what an answer says: another stamp.
    other = settings.model_copy(update={"home_country": "GB"})
    assert stamp_of(other) != stamp_of(settings)
    tracker = Tracker(db, other)
    numbers = sorted(n for n, row in _rows(db).items() if row[2] is not None)
    before = {n: row[0] for n, row in _rows(db).items()}
    for number in numbers:
        answer = tracker.answer(number, lang="zh")
        assert answer.kept is None
        assert answer.content() == _made(tracker, number, "zh").encode()
    # Made again for these settings: sent, and the same bytes; the versions stay.
    render = PublicBodies(other)
    steps: list[int] = []
    done = remake(db, render, steps.append, batch=7)
    assert done == len(before)
    assert len(steps) > 1  # in steps of 7, each its own transaction
    assert steps[-1] == done
    assert {n: row[0] for n, row in _rows(db).items()} == before
    for number in numbers:
        answer = tracker.answer(number, lang="zh")
        assert answer.kept == _made(tracker, number, "zh")


def test_a_renderer_that_fails_loses_no_event(
    db: Database, settings: Settings, load: Loader, runner: CliRunner
) -> None:
    class Broken:
        stamp = "broken"

        def __call__(self, number: str, document: str) -> tuple[str, str | None, str | None]:
            raise RuntimeError(f"cannot make {number}")

    db.render_answers = Broken()
    assert load(*history(NUMBER, *DELIVERED_TO_DE[:4])) == ["stored"] * 4
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 4
    ((version, stamp, public_en, _),) = _rows(db).values()
    assert (stamp, public_en) == (None, None)
    tracker = Tracker(db, settings)
    answer = tracker.answer(NUMBER, lang="en")
    assert answer.kept is None
    assert len(answer.body["events"]) == 4
    # The operator's command makes them; a second run finds nothing to do.
    first = runner.invoke(app, ["db", "refresh-answers", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "Made the public answers of 1 number again." in first.output
    again = runner.invoke(app, ["db", "refresh-answers", "--quiet"])
    assert again.exit_code == 0, again.output
    assert "Every kept answer is current." in again.output
    ((version_after, stamp, public_en, _),) = _rows(db).values()
    assert version_after == version
    assert stamp == stamp_of(settings)
    assert public_en == _made(tracker, NUMBER, "en")


def test_keeping_them_can_be_turned_off(
    db: Database, settings: Settings, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(db, settings)
    load_demo(db, items=12, seed=3, now=NOW)
    assert any(row[2] is not None for row in _rows(db).values())
    off = settings.model_copy(update={"keep_public_answers": False})
    tracker = Tracker(db, off)  # the writers of this database keep none from now on
    assert db.render_answers is None
    # The operator's command removes those kept, in steps, and then has nothing to do.
    monkeypatch.setenv("EMSTRACK_KEEP_PUBLIC_ANSWERS", "false")
    first = runner.invoke(app, ["db", "refresh-answers", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "Removed the kept public answers of" in first.output
    assert all(row[1:] == (None, None, None) for row in _rows(db).values())
    again = runner.invoke(app, ["db", "refresh-answers", "--quiet"])
    assert "No public answers are kept." in again.output
    record(db, [parse_record(r, source="test") for r in history(NUMBER, *DELIVERED_TO_DE)])
    assert _rows(db)[NUMBER][1:] == (None, None, None)
    for lang in ("en", "zh"):
        answer = tracker.answer(NUMBER, lang=lang)
        assert answer.kept is None
        assert answer.content() == _made(tracker, NUMBER, lang).encode()


def test_the_file_import_keeps_them_once_at_the_end(
    db: Database,
    settings: Settings,
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Three numbers' scans interleaved in time, in batches of 4: each number is written by
    # several batches, its answers made once, after the last.
    numbers = [NUMBER, "RR473124829GB", "CP123456785DE"]
    rows = sorted(
        (step[1], number, step)
        for number in numbers
        for step in DELIVERED_TO_DE[: 6 + numbers.index(number)]
    )
    lines = ["tracking_number,event_code,event_time,office_code,country"]
    lines += [
        f"{n},{code},{when},{office},{country}" for _, n, (code, when, office, country) in rows
    ]
    feed = tmp_path / "feed.csv"
    feed.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("EMSTRACK_IMPORT_BATCH_SIZE", "4")
    done = runner.invoke(app, ["import", str(feed), "-q"])
    assert done.exit_code == 0, done.output
    tracker = Tracker(db, settings)
    kept = _rows(db)
    assert sorted(kept) == sorted(numbers)
    for number in numbers:
        assert kept[number][1] == tracker.stamp
        for lang in ("en", "zh"):
            answer = tracker.answer(number, lang=lang)
            assert answer.kept == _made(tracker, number, lang), (number, lang)
            assert len(answer.body["events"]) == 6 + numbers.index(number)
