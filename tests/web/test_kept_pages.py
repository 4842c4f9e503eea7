"""The item pages the read model keeps (`emstrack.web.keptpages`, `store.pages`): made by the page
keeper from the rows the writers mark due, they are byte for byte the page the route draws, at
every minute until the item would look stale; the route sends them only for the number as it
is written without a query, of this deploy's stamp and the row's version; the keeper never
loses a newer version's mark; `emstrack db refresh-answers` makes and removes them."""

from __future__ import annotations

import asyncio
import random
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from babel.dates import format_timedelta
from factories import DELIVERED_TO_DE, Loader, history
from sqlalchemy import text
from typer.testing import CliRunner
from webclient import asgi_call, asgi_scope, serve

from emstrack.cli import app as cli
from emstrack.config import Settings, get_settings
from emstrack.demo import load_demo
from emstrack.domain.lang import BABEL_LOCALE, Lang
from emstrack.domain.tracking_number import Scope
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.lookup import Outcome, Tracker
from emstrack.lookup.bodies import install
from emstrack.store import pages
from emstrack.store.answers import AnswerRow
from emstrack.store.database import Database
from emstrack.web import caching, i18n, itempage, itemview, keptpages
from emstrack.web.app import create_app
from emstrack.web.pages import item_page

NUMBER = "EE123456785CN"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Every found item's page kept after every change (`keep_item_pages=all`), unless a test
    says otherwise; the writers of the test database told so."""
    return Settings(database_url=database_url, keep_item_pages="all")


@pytest.fixture(autouse=True)
def _writers_keep(db: Database, settings: Settings) -> None:
    install(db, settings)


LANGS: tuple[Lang, ...] = ("en", "zh")
HTML = "text/html"


def _kept(db: Database) -> dict[str, tuple[Any, ...]]:
    """Each number's (row version, due, and the kept pages' version, stamp, English, Chinese)."""
    with db.read() as conn:
        rows = conn.execute(
            text(
                "SELECT a.number, a.version, a.page_due, k.version, k.stamp, k.page_en, "
                "k.page_zh FROM item_answers a LEFT JOIN item_pages k ON k.number = a.number"
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}


def _local(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M")


def _same(kept: httpx.Response, drawn: httpx.Response) -> None:
    assert kept.status_code == drawn.status_code
    assert kept.content == drawn.content
    headers = {k: v for k, v in kept.headers.items() if not k.startswith("ratelimit")}
    assert headers == {k: v for k, v in drawn.headers.items() if not k.startswith("ratelimit")}


def _both(http: httpx.Client, app: Any, url: str, **headers: str) -> tuple[httpx.Response, ...]:
    """`url` as the route sends it with the kept pages, then drawn from the rows, in the same
    minute (the page's tag names the minute)."""
    for _ in range(3):
        kept = http.get(url, headers=headers)
        render, app.state.kept_pages = app.state.kept_pages, None
        try:
            drawn = http.get(url, headers=headers)
        finally:
            app.state.kept_pages = render
        if kept.headers.get("etag") == drawn.headers.get("etag"):
            return kept, drawn
    raise AssertionError("the minute turned three times")


def test_every_kept_page_is_the_page_the_route_draws(db: Database, settings: Settings) -> None:
    settings = settings.model_copy(update={"rate_limit": "100000/minute"})
    load_demo(db, items=80, seed=4, now=datetime.now(UTC))
    assert all(row[1] for row in _kept(db).values())  # every written row is due
    keeper = keptpages.Keeper(db, settings, batch=25)
    assert keeper.catch_up() == len(_kept(db))
    rows = _kept(db)
    assert not any(row[1] for row in rows.values())  # none left due
    stamp = keeper.render.stamp
    numbers = sorted(n for n, row in rows.items() if row[5] is not None)
    assert len(numbers) == len(rows)  # every found number, as it is written
    assert all(rows[n][2] == rows[n][0] and rows[n][3] == stamp for n in numbers)
    # Most are sent kept now (the others' items look stale by now: drawn, and compared too).
    clock = caching.page_clock()
    sent = [n for n in numbers[:30] if keptpages.fill(rows[n][4], "en", clock) is not None]
    assert len(sent) >= 15
    app = create_app(settings, db)
    with serve(app) as http:
        http.headers["Accept"] = "text/html"
        for number in numbers[:30]:
            for lang in LANGS:
                kept, drawn = _both(http, app, f"/track/{number}", **{"Accept-Language": lang})
                assert kept.status_code == 200
                _same(kept, drawn)
            # A revalidation is answered 304 from the read alone, as before.
            tag = kept.headers["etag"]
            again = http.get(f"/track/{number}", headers={"If-None-Match": tag})
            assert again.status_code in (200, 304)  # 200 only when the minute turned


def test_the_route_sends_the_kept_bytes_only_where_they_apply(
    db: Database, settings: Settings, load: Loader
) -> None:
    settings = settings.model_copy(update={"rate_limit": "100000/minute"})
    now = datetime.now(UTC).replace(microsecond=0)
    steps = [
        (code, _local(now - timedelta(hours=30 - i)), office, country)
        for i, (code, _, office, country) in enumerate(DELIVERED_TO_DE[:4])
    ]
    assert load(*history(NUMBER, *steps)) == ["stored"] * 4
    keeper = keptpages.Keeper(db, settings)
    assert keeper.catch_up() == 1
    (version, _, _, stamp, _, _) = _kept(db)[NUMBER]
    _mark(db, NUMBER)
    app = create_app(settings, db)
    with serve(app) as http:
        http.headers.update({"Accept": "text/html", "Accept-Language": "en"})
        assert "<!-- kept -->" in http.get(f"/track/{NUMBER}").text
        # The number written otherwise, a query, another language: drawn.
        for url in (f"/track/{NUMBER.lower()}", f"/track/{NUMBER}?scope=international"):
            page = http.get(url)
            assert page.status_code == 200
            assert "<!-- kept -->" not in page.text
        assert "<!-- kept -->" not in http.get(f"/track/{NUMBER}?lang=en").text
        # Another deploy's stamp (another public address is on the page): drawn.
        app.state.kept_pages.stamp = "another"
        assert "<!-- kept -->" not in http.get(f"/track/{NUMBER}").text
        app.state.kept_pages.stamp = stamp
        assert "<!-- kept -->" in http.get(f"/track/{NUMBER}").text
        # A new scan: the row's version moves on, its page is due, the old one never sent.
        later = [("EMF", _local(now - timedelta(hours=2)), *DELIVERED_TO_DE[4][2:])]
        assert load(*history(NUMBER, *later)) == ["stored"]
        row = _kept(db)[NUMBER]
        assert row[0] == version + 1
        assert row[1]
        assert "<!-- kept -->" not in http.get(f"/track/{NUMBER}").text
        assert keeper.catch_up() == 1
        kept, drawn = _both(http, app, f"/track/{NUMBER}")
        _same(kept, drawn)


def test_a_kept_page_filled_at_any_minute_is_the_page_drawn_then(
    db: Database, settings: Settings
) -> None:
    made_at = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)
    load_demo(db, items=40, seed=5, now=made_at)
    tracker = Tracker(db, settings)
    render = keptpages.PageRender(tracker)
    stale_after = timedelta(days=settings.stale_after_days)
    stale_seen = 0
    with db.read() as conn:
        documents = conn.execute(text("SELECT number, answer FROM item_answers")).all()
    for number, document in documents:
        made = render(number, document)
        if made is None:
            continue
        result = tracker.result_of(tracker.parse(number, Scope.ANY), AnswerRow(0, "", document))
        assert result.outcome is Outcome.FOUND
        seen = itemview.last_seen(result)
        assert seen is not None
        path = f"/track/{number}"
        terminal = bool(result.state and result.state.terminal)
        clocks = [seen + timedelta(minutes=m) for m in (1, 59, 61, 60 * 26)]
        clocks += [seen + stale_after, seen + stale_after + timedelta(minutes=1)]
        for lang, page in zip(LANGS, made, strict=True):
            for clock in clocks:
                drawn = itempage.draw_item(result, lang, settings, path, path, now=clock)
                filled = keptpages.fill(page, lang, clock)
                if filled is None:
                    # Only once the item looks stale, which the drawn page says.
                    assert not terminal
                    assert clock - seen > stale_after
                    assert 'id="advice-stale"' in drawn
                    stale_seen += 1
                else:
                    assert filled == drawn, (number, lang, clock)
    assert stale_seen  # the boundary was crossed


def test_the_keeper_never_loses_a_newer_version(
    db: Database, settings: Settings, load: Loader
) -> None:
    assert load(*history(NUMBER, *DELIVERED_TO_DE[:3])) == ["stored"] * 3
    keeper = keptpages.Keeper(db, settings)
    with db.read() as conn:
        ((number, version, document),) = pages.due(conn)
    # A writer stores a scan while the keeper draws the version it read.
    drawn = keeper.render(number, document)
    assert drawn is not None
    assert load(*history(NUMBER, *DELIVERED_TO_DE[3:4])) == ["stored"]
    with db.write() as conn:
        pages.store(conn, [(number, version, keeper.render.stamp, *drawn)])
    row = _kept(db)[NUMBER]
    assert row[0] == version + 1
    assert row[1]  # still due: its version was not drawn
    assert keeper.catch_up() == 1
    newer = _kept(db)[NUMBER]
    assert newer[2] == version + 1
    assert not newer[1]
    # A slower keeper's page of the older version never replaces the newer one.
    with db.write() as conn:
        pages.store(conn, [(number, version, keeper.render.stamp, *drawn)])
    assert _kept(db)[NUMBER][2:] == newer[2:]


def test_refresh_answers_makes_and_removes_the_pages(
    db: Database,
    settings: Settings,
    load: Loader,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMSTRACK_KEEP_ITEM_PAGES", "all")
    assert load(*history(NUMBER, *DELIVERED_TO_DE)) == ["stored"] * len(DELIVERED_TO_DE)
    first = runner.invoke(cli, ["db", "refresh-answers", "--quiet"])
    assert first.exit_code == 0, first.output
    assert "Made the item pages of 1 number again." in first.output
    again = runner.invoke(cli, ["db", "refresh-answers", "--quiet"])
    assert "Every kept page is current." in again.output
    (version, _, page_version, stamp, page_en, page_zh) = _kept(db)[NUMBER]
    assert page_version == version
    assert page_en
    assert page_zh
    assert stamp == keptpages.stamp_of(Settings())
    monkeypatch.setenv("EMSTRACK_KEEP_ITEM_PAGES", "off")
    get_settings.cache_clear()
    gone = runner.invoke(cli, ["db", "refresh-answers", "--quiet"])
    assert gone.exit_code == 0, gone.output
    assert "Removed the kept item pages of 1 number." in gone.output
    assert _kept(db)[NUMBER][2:] == (None, None, None, None)
    assert "No pages are kept." in runner.invoke(cli, ["db", "refresh-answers", "-q"]).output


def test_every_setting_is_on_the_pages_stamp_or_said_not_to_be(settings: Settings) -> None:
    # A setting added later is in the stamp unless someone says it never changes a page.
    assert set(Settings.model_fields) >= keptpages.NOT_ON_PAGES
    stamp = keptpages.stamp_of(settings)
    for name, value in {
        "public_url": "https://track.example.org",
        "stale_after_days": 9,
        "home_country": "GB",
        "wechat_qr_url": "https://weixin.qq.com/r/abc",
    }.items():
        assert keptpages.stamp_of(settings.model_copy(update={name: value})) != stamp, name
    for name, value in {"rate_limit": "1/minute", "database_url": "sqlite:///elsewhere"}.items():
        assert keptpages.stamp_of(settings.model_copy(update={name: value})) == stamp, name


@pytest.mark.parametrize("lang", LANGS)
def test_how_long_ago_is_said_in_babels_own_words(lang: Lang) -> None:
    # `i18n.ago` makes each wording once, by babel's own choice of unit and value: the same
    # words as babel for every difference, across every unit's edges, before and after.
    rng = random.Random(7)
    seconds: list[float] = [0, 1, 59, 60, 65, 66, 89, 90, 3599, 3600, 3960, 86399, 86400, 95040]
    seconds += [rng.randrange(0, 3 * 365 * 86400) for _ in range(5000)]
    seconds += [rng.randrange(0, 7200) + rng.random() for _ in range(2000)]
    locale = BABEL_LOCALE[lang]
    for s in seconds:
        for sign in (1, -1):
            delta = timedelta(seconds=sign * s)
            words = format_timedelta(-delta, add_direction=True, locale=locale, threshold=1.1)
            assert i18n.ago(delta, lang) == words, (delta, lang)


def test_the_page_lane_answers_as_the_route(db: Database, settings: Settings, load: Loader) -> None:
    # A page request with an `Authorization` header (which pages ignore) takes the route: the
    # same bytes as the lane's, kept or drawn, found or not.
    settings = settings.model_copy(update={"rate_limit": "100000/minute"})
    now = datetime.now(UTC).replace(microsecond=0)
    steps = [
        (code, _local(now - timedelta(hours=20 - i)), office, country)
        for i, (code, _, office, country) in enumerate(DELIVERED_TO_DE[:5])
    ]
    assert load(*history(NUMBER, *steps)) == ["stored"] * 5
    keptpages.Keeper(db, settings).catch_up()
    app = create_app(settings, db)
    with serve(app) as http:
        http.headers["Accept"] = "text/html"
        for number in (NUMBER, NUMBER.lower(), "EE123456780CN", "RR473124829GB", "nonsense"):
            for lang in LANGS:
                for _ in range(3):
                    lane = http.get(f"/track/{number}", headers={"Accept-Language": lang})
                    route = http.get(
                        f"/track/{number}",
                        headers={"Accept-Language": lang, "Authorization": "Bearer x"},
                    )
                    if lane.headers.get("etag") == route.headers.get("etag"):
                        break
                _same(lane, route)


def test_the_page_lane_is_taken_and_the_route_is_not(db: Database, settings: Settings) -> None:
    app = create_app(settings, db)
    scopes = {
        "lane": asgi_scope(f"/track/{NUMBER}", accept=HTML),
        "query": asgi_scope(f"/track/{NUMBER}", "scope=international", accept=HTML),
        "key": asgi_scope(
            f"/track/{NUMBER}", accept=HTML, headers=[(b"authorization", b"Bearer k")]
        ),
        "head": asgi_scope(f"/track/{NUMBER}", accept=HTML, method="HEAD"),
    }

    async def run() -> None:
        async with app.router.lifespan_context(app):
            for scope in scopes.values():
                await asgi_call(app, scope)

    asyncio.run(run())
    assert "endpoint" not in scopes["lane"]  # the router never saw it
    for name in ("query", "key", "head"):
        assert scopes[name].get("endpoint") is item_page, name


def test_kept_pages_can_be_turned_off(db: Database, settings: Settings) -> None:
    off = settings.model_copy(update={"keep_item_pages": "off"})
    Tracker(db, off)  # the writers of this database mark no page due from now on
    assert not db.pages_due
    rows = [parse_record(r, source="test") for r in history(NUMBER, *DELIVERED_TO_DE[:4])]
    record(db, rows[:2])
    record(db, rows[2:], staged=True)  # COPY through staging tables on PostgreSQL
    assert _kept(db)[NUMBER][1:] == (False, None, None, None, None)  # (0 on SQLite)
    assert keptpages.install(Tracker(db, off), off) is None
    assert keptpages.start_keeper_thread(off) is None
    # On again: the next write marks the row due.
    Tracker(db, settings)
    record(db, [parse_record(r, source="test") for r in history(NUMBER, *DELIVERED_TO_DE[4:5])])
    assert _kept(db)[NUMBER][1]


def test_the_page_lane_is_charged_like_the_route(db: Database, settings: Settings) -> None:
    # Each page through the lane counts against the address's limit, and the page past it is
    # the route's own 429 page.
    app = create_app(settings.model_copy(update={"rate_limit": "3/minute"}), db)
    with serve(app) as http:
        http.headers["Accept"] = "text/html"
        statuses = [http.get(f"/track/{NUMBER}").status_code for _ in range(4)]
        assert statuses == [404, 404, 404, 429]
        lane = http.get(f"/track/{NUMBER}")
        route = http.get(f"/track/{NUMBER}", headers={"Authorization": "Bearer x"})
    assert lane.status_code == route.status_code == 429
    assert lane.headers["content-type"].startswith("text/html")
    assert lane.content == route.content
    assert lane.headers.get("retry-after") is not None


def _mark(db: Database, number: str) -> None:
    """Mark the kept English page of `number`, so that a test sees which bytes were sent."""
    (_, _, _, _, page_en, _) = _kept(db)[number]
    marked = zlib.decompress(page_en).replace(b"<html", b"<!-- kept --><html", 1)
    with db.write() as conn:
        conn.execute(
            text("UPDATE item_pages SET page_en = :page WHERE number = :n"),
            {"page": zlib.compress(marked), "n": number},
        )


def test_viewed_pages_are_kept_after_their_first_view(
    db: Database, settings: Settings, load: Loader, runner: CliRunner
) -> None:
    # `viewed` (the default): the writers mark nothing; a page drawn for a viewer has its row
    # marked due, the keeper makes it, the next viewers get it kept. A page never viewed is
    # never made.
    viewed = settings.model_copy(update={"keep_item_pages": "viewed", "rate_limit": "1000/minute"})
    install(db, viewed)
    now = datetime.now(UTC).replace(microsecond=0)
    for number in (NUMBER, "RR473124829GB"):
        steps = [
            (code, _local(now - timedelta(hours=20 - i)), office, country)
            for i, (code, _, office, country) in enumerate(DELIVERED_TO_DE[:4])
        ]
        assert load(*history(number, *steps)) == ["stored"] * 4
    assert not any(row[1] for row in _kept(db).values())  # nothing due
    keeper = keptpages.Keeper(db, viewed)
    assert keeper.catch_up() == 0
    app = create_app(viewed, db)
    with serve(app) as http:
        http.headers.update({"Accept": "text/html", "Accept-Language": "en"})
        first = http.get(f"/track/{NUMBER}")
        assert first.status_code == 200
        assert http.get(f"/track/{NUMBER.lower()}").status_code == 200  # not as written: no mark
        app.state.page_misses.flush()
        assert {n for n, row in _kept(db).items() if row[1]} == {NUMBER}
        assert keeper.catch_up() == 1
        _mark(db, NUMBER)
        assert "<!-- kept -->" in http.get(f"/track/{NUMBER}").text
        # A new scan: the kept page is of the old version; the next view is drawn and marks
        # the row again; the one after it is kept.
        later = [("EMF", _local(now - timedelta(hours=2)), *DELIVERED_TO_DE[4][2:])]
        assert load(*history(NUMBER, *later)) == ["stored"]
        assert not _kept(db)[NUMBER][1]
        assert "<!-- kept -->" not in http.get(f"/track/{NUMBER}").text
        app.state.page_misses.flush()
        assert keeper.catch_up() == 1
        kept, drawn = _both(http, app, f"/track/{NUMBER}")
        _same(kept, drawn)
    # After an upgrade, `refresh-answers` makes again the pages kept, not the others.
    with db.write() as conn:
        conn.execute(text("UPDATE item_pages SET stamp = 'another'"))
    done = runner.invoke(cli, ["db", "refresh-answers", "--quiet"])
    assert done.exit_code == 0, done.output
    assert "Made the item pages of 1 number again." in done.output
    assert _kept(db)["RR473124829GB"][2:] == (None, None, None, None)
