"""Loading the demo into a database; loading it again stores nothing twice.

A large demo is generated and planned by a child process (`python -m emstrack.demo`, which runs
`produce`) while this one writes the plans, so that two cores share the work.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from emstrack.demo.generate import Demo
from emstrack.ingest.writer import plan_fresh, record, write_fresh
from emstrack.store.database import Database


@dataclass(frozen=True, slots=True)
class DemoSummary:
    """What one load of the demo stored, and an example number of each scenario."""

    items: int  # items (number and generation) created by this load
    events: int  # events stored by this load, duplicates not counted
    examples: dict[str, str]  # scenario -> one tracking number of that scenario


# From this many items on, a second process generates and plans the batches while this one
# writes them; below it, starting another interpreter costs more than it saves.
BACKGROUND_FROM = 20_000


def load_demo(
    db: Database,
    *,
    items: int = 5000,
    seed: int = 1,
    now: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    background_from: int = BACKGROUND_FROM,
) -> DemoSummary:
    """Generate the demo and record it; loading it again stores nothing twice.

    A large demo is generated and planned (`plan_fresh`: what the writer would store for
    numbers with nothing stored yet) by a child process while this one writes the plans, so the
    two cores share the work. When a batch's numbers turn out to be stored already (the demo
    loaded twice, or another writer), the rest goes through the ordinary `record`, which
    merges and de-duplicates: the data are the same either way.
    """
    now = now or datetime.now(UTC)
    totals = [0, 0]  # items created, events stored
    examples: dict[str, str] = {}
    written = 0  # batches written from plans
    if items >= background_from:
        written = _load_planned(db, items, seed, now, totals, examples, on_progress)
        if written < 0:
            return DemoSummary(items=totals[0], events=totals[1], examples=examples)
    demo = Demo(items, seed, now)
    for index, batch in enumerate(demo.batches()):
        if index < written:  # generated again only to reach the same place in the stream
            continue
        result = record(db, batch, now=now)
        totals[0] += result.items_created
        totals[1] += result.stored
        if on_progress is not None:
            on_progress(demo.done, items)
    return DemoSummary(items=totals[0], events=totals[1], examples=dict(demo.examples))


def _load_planned(
    db: Database,
    items: int,
    seed: int,
    now: datetime,
    totals: list[int],
    examples: dict[str, str],
    on_progress: Callable[[int, int], None] | None,
) -> int:
    """Write the child's plans; -1 when all are written, else how many were before one that
    could not be (the caller records the rest)."""
    # A plain child interpreter speaking pickle over a pipe, not multiprocessing, which would
    # run the caller's main module again in the child.
    sqlite = db.dialect == "sqlite"
    command = [sys.executable, "-m", "emstrack.demo", str(items), str(seed), now.isoformat()]
    command.append("sqlite" if sqlite else "other")
    written = 0
    # Its stderr goes to a file, not a pipe: a pipe nobody reads until the end would block a
    # child that writes more than the pipe holds (warnings), and the two would wait for ever.
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors) as child,
    ):
        assert child.stdout is not None
        try:
            while True:
                try:
                    kind, payload, done = pickle.load(child.stdout)
                except EOFError:
                    child.wait()
                    errors.seek(0)
                    lines = errors.read().decode(errors="replace").strip().splitlines()
                    why = lines[-1] if lines else f"exit status {child.wait()}"
                    raise RuntimeError(f"the demo generator stopped: {why}") from None
                if kind == "end":
                    examples.update(payload)
                    return -1
                result = write_fresh(db, payload)
                if result is None:
                    return written
                written += 1
                totals[0] += result.items_created
                totals[1] += result.stored
                if on_progress is not None:
                    on_progress(done, items)
        finally:
            if child.poll() is None:
                child.kill()


def produce(items: int, seed: int, now: datetime, sqlite: bool, out: BinaryIO) -> None:
    """The child of `_load_planned`: pickled plans, then the examples, written to `out`."""
    demo = Demo(items, seed, now)
    for batch in demo.batches():
        plan = plan_fresh(batch, sqlite=sqlite, now=now)
        pickle.dump(("plan", plan, demo.done), out, pickle.HIGHEST_PROTOCOL)
    pickle.dump(("end", demo.examples, demo.done), out, pickle.HIGHEST_PROTOCOL)
    out.flush()
