"""HTTP throughput: `GET /api/v1/tracking/{number}` against a bare route of the same server.

One uvicorn server on loopback runs the app of `emstrack serve` with the same options (one
worker, uvloop and httptools where installed, access log on), built by bench/bare_app.py, which
adds `GET /bench/bare`: a constant body of the size of a typical answer (the median size over
200 sampled numbers), through the same JSONResponse class. That route is the framework's
ceiling; the tracking endpoint is looked up for a random number of a list of many distinct
numbers on every request (no single cached number). `wrk` is the load generator; the two
routes are measured in alternating rounds.

    python bench/http_load.py                        # the 1M-item database if built, else 100k
    python bench/http_load.py --duration 5 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dataset
import orjson
from lookup import sample_numbers
from rich.console import Console
from rich.table import Table

from emstrack.config import Settings
from emstrack.lookup import Outcome, Tracker
from emstrack.store.database import Database
from emstrack.store.engine import make_engine

BATCH = 10  # numbers per batch request
AIM = 0.6
HERE = Path(__file__).resolve().parent
console = Console()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return int(response.status), bytes(response.read())


def _typical_body(path: Path, numbers: list[str]) -> tuple[str, bytes]:
    """The number whose answer has the median size, and that answer's bytes."""
    settings = Settings(database_url=f"sqlite:///{path}")
    db = Database(make_engine(settings.database_url), owns_engine=True)
    tracker = Tracker(db, settings)
    sized = []
    for number in numbers[:200]:
        result = tracker.lookup(number)
        if result.outcome != Outcome.FOUND:
            raise SystemExit(f"{number} was not found in {path}")
        body = orjson.dumps(result.to_dict())
        sized.append((len(body), number, body))
    db.close()
    sized.sort()
    _, number, body = sized[len(sized) // 2]
    return number, body


@dataclass(frozen=True, slots=True)
class Round:
    route: str
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


def _wrk(base: str, args: argparse.Namespace, route: str, target: list[str], secs: int) -> Round:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{secs}s",
        "-s",
        str(HERE / "wrk.lua"),
        base,
        "--",
        *target,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next((s for s in done.stdout.splitlines() if s.startswith("BENCH ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH "))
    return Round(
        route,
        data["requests"],
        data["duration_us"] / 1e6,
        data["non2xx"],
        data["socket_errors"],
        data["p50_us"] / 1000,
        data["p99_us"] / 1000,
    )


def _database(items: int | None) -> Path:
    if items is not None:
        return dataset.build_database(items)
    big = dataset.database_path(1_000_000)
    if big.exists():
        return big
    console.print("The 1,000,000-item database is not built; using 100,000 items.")
    return dataset.build_database(100_000)


def _start(path: Path, port: int, body_file: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "EMSTRACK_DATABASE_URL": f"sqlite:///{path}",
        "EMSTRACK_BENCH_BODY": str(body_file),
        # One client address sends everything: the limiter still counts every request (its
        # cost is measured), but must not refuse them.
        "EMSTRACK_RATE_LIMIT": "100000000/minute",
        "PYTHONPATH": str(HERE.parent),
    }
    # The options of `emstrack serve` (cli.py): one worker, log level info (so access log on).
    command = [sys.executable, "-m", "uvicorn", "bench.bare_app:create", "--factory"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}: see {log}")
        try:
            if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"the server did not answer within 60 s: see {log}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=None, help="database size (default: 1M/100k)")
    parser.add_argument("--numbers", type=int, default=10_000, help="distinct numbers requested")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each route")
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    path = _database(args.items)
    numbers = sample_numbers(path, args.numbers, seed=11)
    numbers_file = dataset.OUT / "http-numbers.txt"
    numbers_file.write_text("\n".join(numbers) + "\n")
    typical, body = _typical_body(path, numbers)
    body_file = dataset.OUT / "http-body.json"
    body_file.write_bytes(body)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = dataset.OUT / "http-server.log"
    server = _start(path, port, body_file, log)
    try:
        bare_status, bare_body = _get(f"{base}/bench/bare")
        real_status, real_body = _get(f"{base}/api/v1/tracking/{typical}")
        if (bare_status, real_status) != (200, 200) or len(bare_body) != len(real_body):
            raise SystemExit(
                f"bodies differ: bare {bare_status} {len(bare_body)} B, "
                f"tracking {real_status} {len(real_body)} B"
            )
        routes = {
            "bare": ["/bench/bare"],
            "tracking": ["list", str(numbers_file), "/api/v1/tracking/"],
            "page": ["list", str(numbers_file), "/track/"],
            "batch": ["batch", str(numbers_file), str(BATCH)],
        }
        console.print(
            f"Database {path.name}; {len(numbers):,} distinct numbers; body {len(body):,} B; "
            f"server: 1 uvicorn worker; wrk -t{args.threads} -c{args.connections} "
            f"-d{args.duration}s, {args.rounds} round(s) per route, alternating."
        )
        for target in routes.values():  # warm-up: connections, caches, the JIT of LuaJIT
            _wrk(base, args, "warm-up", target, 2)
        rounds: list[Round] = []
        for r in range(args.rounds):
            order = list(routes.items())
            if r % 2:
                order.reverse()
            for route, target in order:
                rounds.append(_wrk(base, args, route, target, args.duration))
    finally:
        server.terminate()
        server.wait(timeout=30)

    table = Table("route", "requests", "req/s", "p50 ms", "p99 ms", "non-2xx", "socket errors")
    for run in rounds:
        table.add_row(
            run.route,
            f"{run.requests:,}",
            f"{run.per_second:,.0f}",
            f"{run.p50_ms:.1f}",
            f"{run.p99_ms:.1f}",
            f"{run.non2xx}",
            f"{run.socket_errors}",
        )
    console.print(table)
    rates = {
        route: sum(r.requests for r in rounds if r.route == route)
        / sum(r.seconds for r in rounds if r.route == route)
        for route in routes
    }
    bare, ours = rates["bare"], rates["tracking"]
    p50 = statistics.median(r.p50_ms for r in rounds if r.route == "tracking")
    p99 = max(r.p99_ms for r in rounds if r.route == "tracking")
    failures = sum(r.non2xx + r.socket_errors for r in rounds)
    page, batch = rates["page"], rates["batch"] * BATCH
    print(
        f"page /track/{{number}}: {page:,.0f} pages/s, ratio {page / bare:.2f} against the bare "
        f"route; batch of {BATCH}: {batch:,.0f} numbers/s, {batch / ours:.2f} x the single lookup"
    )
    ratio = ours / bare
    verdict = "" if ratio >= AIM else "  BELOW AIM"
    print(
        f"http: ours {ours:,.0f} req/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms), "
        f"bare {bare:,.0f} req/s, ratio {ratio:.2f} (aim >= {AIM}), "
        f"non-2xx or errors {failures}{verdict}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
