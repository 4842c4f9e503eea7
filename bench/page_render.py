"""The item page against the JSON lookup, in process (no server, no network).

A demo database (built under bench/out, cached) is served by the app, called directly as an
ASGI application in one event loop (no server, no client library: what is measured is the
app); the same random numbers are asked as `GET /api/v1/tracking/{n}` and as `GET /track/{n}`
(HTML, with a cookie and Accept-Language, as a returning browser), in alternating
rounds. Prints requests per second of this process's CPU time (a busy machine moves the wall
clock, much less the CPU time a request takes), the medians and their ratio; `--profile N`
prints a cProfile of N pages.

    python bench/page_render.py                 # 20,000-item demo, 7 rounds of 2 CPU seconds
    python bench/page_render.py --seconds 5 --profile 500
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.lookup import Tracker
from emstrack.lookup.bodies import PublicBodies, remake
from emstrack.store.database import Database
from emstrack.web import keptpages
from emstrack.web.app import create_app

OUT = Path(__file__).parent / "out"
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _database(items: int) -> Path:
    path = OUT / f"page-demo-{items}.sqlite"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        settings = Settings(database_url=f"sqlite:///{partial}")
        db = Database.open(settings)
        load_demo(db, items=items, seed=1, now=NOW)
        db.close()
        partial.rename(path)
    return path


def _numbers(db: Database, count: int) -> list[str]:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT number FROM items ORDER BY number").fetchall()
    found = sorted({r[0] for r in rows})
    return random.Random(11).sample(found, min(count, len(found)))


class Caller:
    """Calls the app as a server would: one request at a time, its whole body collected."""

    def __init__(self, app: Any, cookie: str, language: str) -> None:
        self.app = app
        self.cookie = cookie.encode()
        self.language = language.encode()

    async def get(self, url: str, accept: str = "application/json") -> tuple[int, bytes]:
        path, _, query = url.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [
                (b"host", b"bench"),
                (b"accept", accept.encode()),
                (b"accept-language", self.language),
                (b"cookie", self.cookie),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("bench", 80),
        }
        status, chunks = 0, []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)

    async def rate(self, urls: list[str], seconds: float, accept: str) -> float:
        """Requests per second of this process's CPU time (the machine may be busy: the wall
        clock would count the time other processes had the core)."""
        done, start = 0, time.process_time()
        while time.process_time() - start < seconds:
            for url in urls[:50]:
                status, _ = await self.get(url, accept)
                assert status == 200, (url, status)
                done += 1
            urls = urls[50:] + urls[:50]
        return done / (time.process_time() - start)


async def _run(args: argparse.Namespace) -> None:
    path = _database(args.items)
    settings = Settings(
        database_url=f"sqlite:///{path}",
        rate_limit="100000000/minute",
        # The demo's scans end on NOW: items in transit would look stale at today's clock, and
        # a stale item's page is drawn at each request; lookups are of items on their way.
        stale_after_days=100_000,
        keep_item_pages="all",  # every page kept, as the items viewed again and again get it
        secret_key=SecretStr("bench-secret-bench-secret-bench-secret"),
    )
    db = Database.open(settings)
    # The public answers the read model keeps, made by this tree's code (`emstrack db
    # refresh-answers`, as an operator runs it after an upgrade).
    print(f"kept public answers made again: {remake(db, PublicBodies(settings)):,}")
    if args.drawn:
        print("kept pages: none sent (--drawn)")
    else:
        made = keptpages.remake(db, keptpages.PageRender(Tracker(db, settings)))
        print(f"kept pages made again: {made:,}")
    numbers = _numbers(db, 2000)
    app = create_app(settings, db)
    if args.drawn:
        app.state.kept_pages = None  # every page drawn from the rows, as before they were kept
    async with app.router.lifespan_context(app):
        # A returning browser's cookies (pages are the same for every browser: none is needed).
        caller = Caller(app, "seen=1", "zh-CN" if args.lang == "zh" else "en")
        page_urls = [f"/track/{n}" for n in numbers]
        api_urls = [f"/api/v1/tracking/{n}?lang={args.lang}" for n in numbers]
        html = "text/html"
        json = "application/json"
        await caller.rate(page_urls, 1, html)  # warm up: templates compiled, caches filled
        await caller.rate(api_urls, 1, json)
        pages, answers = [], []
        for _ in range(args.rounds):
            pages.append(await caller.rate(page_urls, args.seconds, html))
            answers.append(await caller.rate(api_urls, args.seconds, json))
        page, answer = statistics.median(pages), statistics.median(answers)
        ratios = sorted(p / a for p, a in zip(pages, answers, strict=True))
        print(f"items {args.items:,}, lang {args.lang}, {args.rounds} rounds, per CPU second")
        print(f"page {page:,.0f}/s (median; rounds {', '.join(f'{p:,.0f}' for p in pages)})")
        print(f"JSON {answer:,.0f}/s (median; rounds {', '.join(f'{a:,.0f}' for a in answers)})")
        print(f"page / JSON: {page / answer:.2f} (per round {ratios[0]:.2f} to {ratios[-1]:.2f})")
        if args.profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for url in page_urls[: args.profile]:
                await caller.get(url, html)
            profiler.disable()
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(60)
            stats.sort_stats("tottime").print_stats(40)
            stats.print_callees("itemview.py.*build|pages.py.*item\\b|html.py.*render\\b")
    db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=2.0, help="CPU seconds per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--profile", type=int, default=0, help="cProfile N page requests")
    parser.add_argument(
        "--drawn", action="store_true", help="send no kept page: every page drawn from the rows"
    )
    asyncio.run(_run(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
