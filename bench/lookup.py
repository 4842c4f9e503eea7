"""Lookup throughput: `Tracker.lookup` against the same two reads done with plain `sqlite3`.

On a database of N items of ~15 events (built by dataset.py and cached), a fixed random sample
of numbers is looked up by three contenders, in rounds that rotate which one goes first:

- baseline: one plain `sqlite3` connection runs the two SELECTs of `store/events.py` (the
  items of the number, then the events of its newest generation), same SQL text, and
  `fetchall()`s them. No parsing, no objects, no JSON.
- ours: `Tracker(db, settings).answer(number).body`, the whole answer a client gets
  (before the web layer's `orjson.dumps`), as the API builds it: straight from the rows.
- ours, lookup + to_dict: the same answer through `lookup(number).to_dict()`, with an `Event`
  per row (what the CLI and the pages use, and the general path of `answer`).
- ours, no to_dict: `lookup(number)` only, to show where the time goes.

    python bench/lookup.py                    # 1,000,000 items (built first if missing)
    python bench/lookup.py --items 100000 --seconds 5
    python bench/lookup.py --profile 5000     # and a cProfile of ours: top entries
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import dataset
from rich.console import Console
from rich.table import Table

from emstrack.config import Settings
from emstrack.lookup import Outcome, Tracker
from emstrack.store.database import Database
from emstrack.store.engine import make_engine
from emstrack.store.events import EVENT_FIELDS
from emstrack.store.items import ITEM_FIELDS

AIM = 0.5
console = Console()


class Baseline:
    """The lookup's two reads on a plain connection; only the generation is picked between."""

    # The columns the lookup selects (the store's own lists, so both sides fetch the same bytes).
    ITEMS_SQL = f"SELECT {', '.join(ITEM_FIELDS)} FROM items WHERE number = ? ORDER BY generation"
    EVENTS_SQL = f"SELECT {', '.join(EVENT_FIELDS)} FROM events WHERE number = ? AND generation = ?"

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("PRAGMA busy_timeout=30000")

    def __call__(self, number: str) -> object:
        items = self.conn.execute(self.ITEMS_SQL, (number,)).fetchall()
        generation = items[-1][1]  # ordered by generation; one per item in this data set
        return self.conn.execute(self.EVENTS_SQL, (number, generation)).fetchall()


@dataclass
class Contender:
    name: str
    run: Callable[[str], object]
    nanos: list[int] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return len(self.nanos) / (sum(self.nanos) / 1e9) if self.nanos else 0.0

    def percentile(self, q: int) -> float:
        """Latency in microseconds at percentile `q`."""
        if len(self.nanos) < 2:
            return 0.0
        return statistics.quantiles(self.nanos, n=100)[q - 1] / 1000


def _measure(contender: Contender, numbers: list[str]) -> None:
    clock = time.perf_counter_ns
    run = contender.run
    nanos = contender.nanos
    for number in numbers:
        start = clock()
        run(number)
        nanos.append(clock() - start)


def sample_numbers(path: Path, size: int, seed: int) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        numbers = [row[0] for row in conn.execute("SELECT number FROM items")]
    finally:
        conn.close()
    return random.Random(seed).sample(numbers, min(size, len(numbers)))


def _profile(tracker: Tracker, numbers: list[str], top: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for number in numbers:
        tracker.answer(number)
    profiler.disable()
    out = dataset.OUT / "lookup.prof"
    profiler.dump_stats(out)
    console.print(f"\ncProfile of ours over {len(numbers):,} lookups (saved to {out}):")
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="items in the database")
    parser.add_argument("--sample", type=int, default=20_000, help="distinct numbers looked up")
    parser.add_argument("--seconds", type=float, default=10, help="time of ours, at least")
    parser.add_argument("--round", type=int, default=500, help="lookups per round")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="profile N lookups")
    args = parser.parse_args(argv)

    path = dataset.build_database(args.items)
    numbers = sample_numbers(path, args.sample, args.seed)
    settings = Settings(database_url=f"sqlite:///{path}")
    db = Database(make_engine(settings.database_url), owns_engine=True)
    tracker = Tracker(db, settings)
    answer = tracker.lookup(numbers[0])
    if answer.outcome != Outcome.FOUND:
        raise SystemExit(f"{numbers[0]} was not found in {path}")

    baseline = Baseline(path)
    contenders = [
        Contender("baseline (sqlite3, 2 SELECTs)", baseline),
        Contender("ours: answer (the API's)", lambda n: tracker.answer(n).body),
        Contender("ours: lookup + to_dict", lambda n: tracker.lookup(n).to_dict()),
        Contender("ours: lookup only", tracker.lookup),
    ]
    console.print(
        f"Database {path.name}: {args.items:,} items; {len(numbers):,} sampled numbers; "
        f"rounds of {args.round} lookups, order rotated; ours runs at least {args.seconds:g} s."
    )
    _measure(contenders[0], numbers)  # warm the OS page cache for every contender alike
    for contender in contenders:
        _measure(contender, numbers[:200])
        contender.nanos.clear()

    started = time.perf_counter()
    r = 0
    while sum(contenders[1].nanos) / 1e9 < args.seconds:
        start = (r * args.round) % len(numbers)
        chunk = numbers[start : start + args.round]
        for i in range(len(contenders)):
            _measure(contenders[(r + i) % len(contenders)], chunk)
        r += 1
    wall = time.perf_counter() - started

    table = Table("contender", "lookups", "items/s", "p50 µs", "p99 µs", "vs baseline")
    base_rate = contenders[0].per_second
    for c in contenders:
        table.add_row(
            c.name,
            f"{len(c.nanos):,}",
            f"{c.per_second:,.0f}",
            f"{c.percentile(50):,.0f}",
            f"{c.percentile(99):,.0f}",
            f"{c.per_second / base_rate:.2f}",
        )
    console.print(table)
    console.print(f"({r} rounds in {wall:.0f} s)")
    ours = contenders[1].per_second  # the API's answer
    ratio = ours / base_rate
    verdict = "" if ratio >= AIM else "  BELOW AIM"
    print(
        f"lookup: ours (answer) {ours:,.0f} items/s, baseline {base_rate:,.0f} items/s, "
        f"ratio {ratio:.2f} (aim >= {AIM}){verdict}; lookup + to_dict "
        f"{contenders[2].per_second / base_rate:.2f}"
    )
    if args.profile:
        _profile(tracker, numbers[: args.profile], top=25)
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
