"""HTTP throughput: `GET /api/v1/tracking/{number}` against a bare route and a hand-written peer.

One uvicorn server on loopback runs the app of `emstrack serve` with the same options (one
worker, uvloop and httptools where installed, access log on), built by bench/bare_app.py, which
adds `GET /bench/bare`: a constant body of the size of a typical answer (the median size over
200 sampled numbers), through the same JSONResponse class. That route is the framework's
ceiling. A second server runs bench/peer_app.py: a hand-written FastAPI endpoint reading the same
item and events rows from the same database (`sqlite3` on SQLite, `asyncpg` on PostgreSQL) and
returning them as JSON: the lookup should be at least as fast as it. The tracking endpoint, the
item page `GET /track/{number}`, the batch and the peer are looked up for a random number of a
list of many distinct numbers on every request (no single cached number). `wrk` is the load
generator; the routes are measured in alternating rounds, and each round also reads the CPU time
the server's processes used (from /proc), so that requests per second per server core are known
even where the load generator shares the machine.

Where the server sends `ETag`s, a sixth route sends each number's own tag in `If-None-Match`, as
a caching proxy revalidating an entry does: the answer is `304 Not Modified`.

Then `emstrack serve --workers N` itself is measured on the tracking route for each N of
`--workers` (default 1,2): requests per second, server cores used and requests per second per
server core.

With `--database-url` the data set is built in that PostgreSQL database with COPY
(`dataset.build_postgres`; a missing database is created, one with other tables is refused),
and the same data set on SQLite too: a third server, `emstrack serve`'s app on that SQLite file,
takes its turn in the alternating rounds (`tracking (SQLite)`), so that PostgreSQL's lookup is
compared with SQLite's in one run, under the same load on the machine (`--no-sqlite`: not).
Before the servers start, `emstrack db refresh-answers` makes the public answers the read model
keeps (`lookup.bodies`) where this tree's code did not make them.

    python bench/http_load.py                        # the 1M-item database if built, else 100k
    python bench/http_load.py --duration 5 --rounds 1
    python bench/http_load.py --items 100000 --database-url postgresql://127.0.0.1/emstrack_bench
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dataset
import orjson
import psycopg
from lookup import sample_numbers
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url

from emstrack.config import Settings
from emstrack.lookup import Outcome, Tracker
from emstrack.store.database import Database
from emstrack.store.engine import make_engine

BATCH = 10  # numbers per batch request
AIM = 0.6  # the lookup against the bare route
PEER_AIM = 1.0  # the lookup against the hand-written peer
PAGE_AIM = 0.5  # the page against the lookup
HERE = Path(__file__).resolve().parent
EMSTRACK = Path(sys.executable).with_name("emstrack")
TICK = os.sysconf("SC_CLK_TCK")
console = Console(width=150)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _etags(base: str, numbers: list[str], path: Path) -> bool:
    """Write `NUMBER ETAG` lines for `numbers` (their public answers' tags) to `path`; False
    when the server sends no ETag (a version without HTTP caching)."""
    lines = []
    for number in numbers:
        with urllib.request.urlopen(f"{base}/api/v1/tracking/{number}", timeout=10) as response:
            tag = response.headers.get("ETag")
        if tag is None:
            return False
        lines.append(f"{number} {tag}")
    path.write_text("\n".join(lines) + "\n")
    return True


def _typical_body(url: str, numbers: list[str]) -> tuple[str, bytes]:
    """The number whose answer has the median size, and that answer's bytes."""
    settings = Settings(database_url=url)
    db = Database(make_engine(settings.database_url), owns_engine=True)
    tracker = Tracker(db, settings)
    sized = []
    for number in numbers[:200]:
        result = tracker.lookup(number)
        if result.outcome != Outcome.FOUND:
            raise SystemExit(f"{number} was not found in {url}")
        body = orjson.dumps(result.to_dict())
        sized.append((len(body), number, body))
    db.close()
    sized.sort()
    _, number, body = sized[len(sized) // 2]
    return number, body


def _pg_sample(libpq_url: str, size: int, seed: int) -> list[str]:
    """As lookup.sample_numbers: the same numbers as on the SQLite twin of the data set."""
    with psycopg.connect(libpq_url) as conn:
        numbers = [row[0] for row in conn.execute("SELECT number FROM items ORDER BY number")]
    return random.Random(seed).sample(numbers, min(size, len(numbers)))


def _cpu_seconds(root: int) -> float:
    """User + system CPU time of process `root` and all its live descendants (from /proc)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    tree, total = {root}, 0
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    for pid in tree:
        total += ticks.get(pid, 0)
    return total / TICK


def _database_ticks(database: str | None) -> dict[int, int]:
    """CPU ticks of each PostgreSQL backend connected to `database` (none for SQLite)."""
    ticks: dict[int, int] = {}
    if database is None:
        return ticks
    mark = f" {database} ".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                title = f.read()
            if not title.startswith(b"postgres: ") or mark not in title:
                continue
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    return ticks


def _database_cpu_seconds(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU seconds the backends used between two readings (one that exited meanwhile is not
    counted: the servers keep their connections, so there are hardly any)."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / TICK


#: The PostgreSQL database of the run, whose backends' CPU time is counted (None: SQLite).
_DATABASE: list[str | None] = [None]


@dataclass(frozen=True, slots=True)
class Round:
    route: str
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_cpu: float  # CPU seconds the server's processes used during the round
    wrk_cpu: float  # CPU seconds wrk used
    db_cpu: float  # CPU seconds PostgreSQL's backends used for the server (0 on SQLite)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def per_core_second(self) -> float:
        """Requests per CPU second of the server: requests per second per server core."""
        return self.requests / self.server_cpu if self.server_cpu else 0.0

    @property
    def per_core_with_db(self) -> float:
        """Requests per CPU second of the server and its database backends together."""
        cpu = self.server_cpu + self.db_cpu
        return self.requests / cpu if cpu else 0.0


def _wrk(
    server: subprocess.Popen[bytes],
    base: str,
    args: argparse.Namespace,
    route: str,
    target: list[str],
    secs: int,
) -> Round:
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
    cpu_before = _cpu_seconds(server.pid)
    db_before = _database_ticks(_DATABASE[0])
    own_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    own_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = _cpu_seconds(server.pid) - cpu_before
    db_cpu = _database_cpu_seconds(db_before, _database_ticks(_DATABASE[0]))
    wrk_cpu = own_after.ru_utime + own_after.ru_stime - own_before.ru_utime - own_before.ru_stime
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
        server_cpu,
        wrk_cpu,
        db_cpu,
    )


def _database(items: int | None) -> Path:
    if items is not None:
        return dataset.build_database(items)
    big = dataset.database_path(1_000_000)
    if big.exists():
        return big
    console.print("The 1,000,000-item database is not built; using 100,000 items.")
    return dataset.build_database(100_000)


def _refresh_answers(env: dict[str, str]) -> None:
    """The kept public answers made by this tree (`emstrack db refresh-answers`), as an operator
    runs it after an upgrade: a data set built by another tree, or before them, has none."""
    listed = subprocess.run(
        [str(EMSTRACK), "db", "--help"], env=env, capture_output=True, text=True, check=True
    )
    if "refresh-answers" not in listed.stdout:
        console.print("This tree keeps no public answers (no `emstrack db refresh-answers`).")
        return
    done = subprocess.run(
        [str(EMSTRACK), "db", "refresh-answers", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    console.print(done.stdout.strip())


def _environment(database_url: str, body_file: Path) -> dict[str, str]:
    return {
        **os.environ,
        "EMSTRACK_DATABASE_URL": database_url,
        "EMSTRACK_BENCH_BODY": str(body_file),
        # One client address sends everything: the limiter still counts every request (its
        # cost is measured), but must not refuse them.
        "EMSTRACK_RATE_LIMIT": "100000000/minute",
        # The data set's scans are of 2024: its items in transit would look stale now, and a
        # stale item's page is drawn at each request. Lookups are of items on their way (the
        # page of an item with news in the last days is sent kept): measure those.
        "EMSTRACK_STALE_AFTER_DAYS": "100000",
        # Every found item's page kept (`emstrack db refresh-answers` makes them all): the page
        # as items viewed again and again get it (the default keeps those viewed since their
        # last change, the first view after a change being drawn).
        "EMSTRACK_KEEP_ITEM_PAGES": "all",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(HERE.parent), os.environ.get("PYTHONPATH", "")) if p
        ),
    }


def _start(
    command: list[str], env: dict[str, str], port: int, log: Path
) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        # From this tree: `python -m uvicorn` puts its working directory first on the path,
        # which would serve the code of wherever the benchmark was started from instead.
        server = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=HERE.parent
        )
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


def _uvicorn(app: str, port: int) -> list[str]:
    # The options of `emstrack serve` (cli.py): one worker, log level info (so access log on).
    command = [sys.executable, "-m", "uvicorn", app, "--factory"]
    return [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def _rate(rounds: list[Round], route: str) -> float:
    mine = [r for r in rounds if r.route == route]
    return sum(r.requests for r in mine) / sum(r.seconds for r in mine)


def _per_core(rounds: list[Round], route: str) -> float:
    mine = [r for r in rounds if r.route == route]
    cpu = sum(r.server_cpu for r in mine)
    return sum(r.requests for r in mine) / cpu if cpu else 0.0


def _table(rounds: list[Round], title: str) -> Table:
    table = Table(
        "route",
        "requests",
        "req/s",
        "p50 ms",
        "p99 ms",
        "non-2xx",
        "socket errors",
        "server cores",
        "req/s per server core",
        "wrk cores",
        "db cores",
        "req/s per core, server + db",
        title=title,
    )
    for run in rounds:
        table.add_row(
            run.route,
            f"{run.requests:,}",
            f"{run.per_second:,.0f}",
            f"{run.p50_ms:.1f}",
            f"{run.p99_ms:.1f}",
            f"{run.non2xx}",
            f"{run.socket_errors}",
            f"{run.server_cpu / run.seconds:.2f}",
            f"{run.per_core_second:,.0f}",
            f"{run.wrk_cpu / run.seconds:.2f}",
            f"{run.db_cpu / run.seconds:.2f}",
            f"{run.per_core_with_db:,.0f}",
        )
    return table


def _scaling(
    args: argparse.Namespace, database_url: str, body_file: Path, numbers_file: Path
) -> list[Round]:
    """`emstrack serve --workers N` on the tracking route, for each N of `--workers`."""
    rounds: list[Round] = []
    target = ["list", str(numbers_file), "/api/v1/tracking/"]
    for workers in args.workers:
        port = _free_port()
        command = [str(EMSTRACK), "serve", "--host", "127.0.0.1", "--port", str(port)]
        command += ["--workers", str(workers)]
        log = dataset.OUT / f"http-serve-{workers}.log"
        server = _start(command, _environment(database_url, body_file), port, log)
        try:
            base = f"http://127.0.0.1:{port}"
            _wrk(server, base, args, "warm-up", target, 3)
            run = _wrk(server, base, args, f"serve --workers {workers}", target, args.duration)
            rounds.append(run)
        finally:
            _stop(server)
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=None, help="database size (default: 1M/100k)")
    parser.add_argument(
        "--database-url", help="PostgreSQL (postgresql://...): build the data set there, with COPY"
    )
    parser.add_argument("--numbers", type=int, default=10_000, help="distinct numbers requested")
    parser.add_argument(
        "--no-sqlite",
        action="store_true",
        help="with --database-url: do not run the SQLite server alongside",
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each route")
    parser.add_argument(
        "--workers",
        type=lambda text: [int(n) for n in text.split(",") if n],
        default=[1, 2],
        help="`emstrack serve --workers N` runs, comma-separated ('' for none)",
    )
    args = parser.parse_args(argv)

    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if args.database_url:
        items = args.items or 100_000
        database_url = dataset.build_postgres(args.database_url, items)
        peer_database = dataset.pg_urls(database_url)[1]
        _DATABASE[0] = make_url(peer_database).database
        numbers = _pg_sample(peer_database, args.numbers, seed=11)
        name = f"PostgreSQL {make_url(peer_database).render_as_string()}, {items:,} items"
    else:
        path = _database(args.items)
        database_url = f"sqlite:///{path}"
        peer_database = str(path)
        numbers = sample_numbers(path, args.numbers, seed=11)
        name = f"SQLite {path.name}"
    dataset.OUT.mkdir(parents=True, exist_ok=True)  # a PostgreSQL run on a fresh clone has none yet
    numbers_file = dataset.OUT / "http-numbers.txt"
    numbers_file.write_text("\n".join(numbers) + "\n")
    typical, body = _typical_body(database_url, numbers)
    body_file = dataset.OUT / "http-body.json"
    body_file.write_bytes(body)

    port, peer_port = _free_port(), _free_port()
    base, peer_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{peer_port}"
    env = _environment(database_url, body_file)
    _refresh_answers(env)
    # PostgreSQL's run: the same data set on SQLite, its server alongside (the same numbers).
    sqlite_env = None
    if args.database_url and not args.no_sqlite:
        sqlite_env = _environment(f"sqlite:///{dataset.build_database(items)}", body_file)
        _refresh_answers(sqlite_env)
    started: list[subprocess.Popen[bytes]] = []
    try:
        server = _start(
            _uvicorn("bench.bare_app:create", port), env, port, dataset.OUT / "http-server.log"
        )
        started.append(server)
        peer = _start(
            _uvicorn("bench.peer_app:create", peer_port),
            {**env, "EMSTRACK_PEER_DATABASE": peer_database},
            peer_port,
            dataset.OUT / "http-peer.log",
        )
        started.append(peer)
        if sqlite_env is not None:
            sqlite_port = _free_port()
            sqlite_base = f"http://127.0.0.1:{sqlite_port}"
            on_sqlite = _start(
                _uvicorn("bench.bare_app:create", sqlite_port),
                sqlite_env,
                sqlite_port,
                dataset.OUT / "http-server-sqlite.log",
            )
            started.append(on_sqlite)
            if _get(f"{sqlite_base}/api/v1/tracking/{typical}") != _get(
                f"{base}/api/v1/tracking/{typical}"
            ):
                raise SystemExit("the SQLite data set answers otherwise than PostgreSQL's")
    except BaseException:
        for proc in started:
            _stop(proc)
        raise
    try:
        bare_status, bare_body = _get(f"{base}/bench/bare")
        real_status, real_body = _get(f"{base}/api/v1/tracking/{typical}")
        peer_status, peer_body = _get(f"{peer_base}/peer/{typical}")
        if (bare_status, real_status, peer_status) != (200, 200, 200) or len(bare_body) != len(
            real_body
        ):
            raise SystemExit(
                f"bodies differ: bare {bare_status} {len(bare_body)} B, "
                f"tracking {real_status} {len(real_body)} B, peer {peer_status}"
            )
        tags_file = dataset.OUT / "http-etags.txt"
        revalidate = _etags(base, numbers[:1000], tags_file)
        routes = {
            "bare": (server, base, ["/bench/bare"]),
            "tracking": (server, base, ["list", str(numbers_file), "/api/v1/tracking/"]),
            "peer": (peer, peer_base, ["list", str(numbers_file), "/peer/"]),
            "page": (server, base, ["list", str(numbers_file), "/track/"]),
            "batch": (server, base, ["batch", str(numbers_file), str(BATCH)]),
        }
        if sqlite_env is not None:
            routes["tracking (SQLite)"] = (
                on_sqlite,
                sqlite_base,
                ["list", str(numbers_file), "/api/v1/tracking/"],
            )
        if revalidate:  # what a cache's revalidation of an unchanged answer costs: a 304
            routes["revalidate"] = (
                server,
                base,
                ["revalidate", str(tags_file), "/api/v1/tracking/"],
            )
        console.print(
            f"Database {name}; {len(numbers):,} distinct numbers; body {len(body):,} B "
            f"(the peer's: {len(peer_body):,} B); server: 1 uvicorn worker; "
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
            f"{args.rounds} round(s) per route, alternating; {os.cpu_count()} cores."
        )
        for proc, url, target in routes.values():  # warm-up: connections, caches, LuaJIT
            _wrk(proc, url, args, "warm-up", target, 2)
        rounds: list[Round] = []
        for r in range(args.rounds):
            order = list(routes.items())
            if r % 2:
                order.reverse()
            for route, (proc, url, target) in order:
                rounds.append(_wrk(proc, url, args, route, target, args.duration))
    finally:
        for proc in started:
            _stop(proc)
    scaling = _scaling(args, database_url, body_file, numbers_file) if args.workers else []

    console.print(_table(rounds, "Routes, alternating rounds"))
    if scaling:
        console.print(_table(scaling, "emstrack serve --workers N, tracking route"))
    bare, ours, peer_rate = _rate(rounds, "bare"), _rate(rounds, "tracking"), _rate(rounds, "peer")
    p50 = statistics.median(r.p50_ms for r in rounds if r.route == "tracking")
    p99 = max(r.p99_ms for r in rounds if r.route == "tracking")
    failures = sum(r.non2xx + r.socket_errors for r in rounds + scaling)
    page, batch = _rate(rounds, "page"), _rate(rounds, "batch") * BATCH

    def verdict(ratio: float, aim: float) -> str:
        return f"(aim >= {aim})" + ("" if ratio >= aim else " BELOW AIM")

    print(
        f"page /track/{{number}}: {page:,.0f} pages/s, {page / ours:.2f} of the JSON lookup "
        f"{verdict(page / ours, PAGE_AIM)}; batch of {BATCH}: {batch:,.0f} numbers/s, "
        f"{batch / ours:.2f} x the single lookup"
    )
    print(
        f"peer (hand-written FastAPI + {'asyncpg' if args.database_url else 'sqlite3'}): "
        f"{peer_rate:,.0f} req/s; ours {ours / peer_rate:.2f} of it "
        f"{verdict(ours / peer_rate, PEER_AIM)}; per server core "
        f"{_per_core(rounds, 'tracking'):,.0f} against {_per_core(rounds, 'peer'):,.0f} "
        f"({_per_core(rounds, 'tracking') / _per_core(rounds, 'peer'):.2f})"
    )
    if "revalidate" in routes:
        again = _rate(rounds, "revalidate")
        print(
            f"revalidation (If-None-Match, 304): {again:,.0f} req/s, {again / ours:.2f} x the "
            f"lookup; per server core {_per_core(rounds, 'revalidate'):,.0f}"
        )
    for run in scaling:
        print(
            f"{run.route}: {run.per_second:,.0f} req/s, {run.server_cpu / run.seconds:.2f} server "
            f"cores busy, {run.per_core_second:,.0f} req/s per server core "
            f"(wrk took {run.wrk_cpu / run.seconds:.2f} cores, the database's backends "
            f"{run.db_cpu / run.seconds:.2f}: {run.per_core_with_db:,.0f} req/s per core of both)"
        )
    if sqlite_env is not None:
        lite = _rate(rounds, "tracking (SQLite)")
        mine, theirs = _per_core(rounds, "tracking"), _per_core(rounds, "tracking (SQLite)")
        print(
            f"PostgreSQL's lookup against SQLite's, same data, same run: {ours:,.0f} against "
            f"{lite:,.0f} req/s ({ours / lite:.2f}) {verdict(ours / lite, 1.0)}; per server core "
            f"{mine:,.0f} against {theirs:,.0f} ({mine / theirs:.2f})"
        )
    ratio = ours / bare
    print(
        f"http: ours {ours:,.0f} req/s (p50 {p50:.1f} ms, p99 {p99:.1f} ms), "
        f"bare {bare:,.0f} req/s, ratio {ratio:.2f} {verdict(ratio, AIM)}, "
        f"non-2xx or errors {failures}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
