"""Load test: `emstrack serve --workers W` on the demo database, driven by `wrk`, on loopback.

The demo database is built once with `emstrack demo --items N --seed 1` and cached under
bench/out/. The server is the real `emstrack serve` command (several worker processes, access
log on), with the rate limit raised so that one client address is not refused (`--rate-limit`
keeps the real default; its 429s are then counted apart). `wrk` (bench/load.lua) GETs
`/api/v1/tracking/{number}` for a random number of a list of many distinct numbers: numbers on
record, plus 10 % valid S10 numbers that are not, whose expected answer is 404.

After a warm-up, the resident memory (VmRSS, summed over the server and its worker processes) is
sampled every 10 s; the run reports the sustained requests per second, the latency percentiles,
the answers by status, and the memory at the start and the end. It exits 1 when any request
failed otherwise than by the rate limiter: a 5xx or any other unexpected status, a socket error
or a timeout, or more 404s than the share of unknown numbers explains.

    python bench/load.py                         # 60 s, 2 workers, 20,000 items
    python bench/load.py --duration 600          # the 10-minute memory run
    python bench/load.py --rate-limit            # the real rate limit: count its 429s
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from emstrack.domain.s10 import check_digit

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PREFIX = "/api/v1/tracking/"
UNKNOWN_SHARE = 0.10  # valid S10 numbers that are not on record, answered 404
SAMPLE_EVERY = 10.0  # seconds between two RSS samples
HIGH_RATE = "100000000/minute"
console = Console(highlight=False, width=150)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _emstrack() -> str:
    beside = Path(sys.executable).parent / "emstrack"
    if beside.exists():
        return str(beside)
    found = shutil.which("emstrack")
    if found is None:
        raise SystemExit("the emstrack command is not installed (make install)")
    return found


def _database(items: int) -> Path:
    """The demo database of `items` items, seed 1, built once under bench/out/."""
    path = OUT / f"load-demo-{items}.db"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".tmp")
    for stale in (partial, Path(f"{partial}-wal"), Path(f"{partial}-shm")):
        stale.unlink(missing_ok=True)
    console.print(f"Building the demo database {path} ({items:,} items, seed 1)…")
    env = {**os.environ, "EMSTRACK_DATABASE_URL": f"sqlite:///{partial}"}
    command = [_emstrack(), "demo", "--items", str(items), "--seed", "1"]
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    with sqlite3.connect(partial) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    return path


def _numbers(path: Path, count: int, seed: int) -> tuple[Path, int, int]:
    """A file of `count` numbers on record and 10 % more that are not, in a seed-stable order."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        known = sorted(row[0] for row in conn.execute("SELECT DISTINCT number FROM items"))
    rng = random.Random(seed)
    found = rng.sample(known, min(count, len(known)))
    on_record = set(known)
    unknown: set[str] = set()
    want = round(len(found) * UNKNOWN_SHARE / (1 - UNKNOWN_SHARE))
    while len(unknown) < want:
        serial = f"{rng.randrange(10**8):08d}"
        number = f"EE{serial}{check_digit(serial)}CN"
        if number not in on_record:
            unknown.add(number)
    chosen = found + sorted(unknown)
    rng.shuffle(chosen)
    target = OUT / f"load-numbers-{path.stem}-{count}-{seed}.txt"
    target.write_text("".join(f"{n}\n" for n in chosen))
    return target, len(found), len(unknown)


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _children(pid: int) -> list[int]:
    """All descendants of `pid`, from /proc/PID/task/*/children."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                text = (task / "children").read_text()
            except OSError:
                continue
            for child in (int(s) for s in text.split()):
                if child not in found:
                    found.append(child)
                    pending.append(child)
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass(slots=True)
class Memory:
    """Summed VmRSS of the server process and its descendants, sampled over the run."""

    pid: int
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds, KiB)

    def pids(self) -> list[int]:
        return [self.pid, *_children(self.pid)]

    def sample(self, at: float) -> int:
        total = sum(_rss_kib(p) for p in self.pids())
        self.samples.append((at, total))
        return total


@dataclass(frozen=True, slots=True)
class Result:
    requests: int
    seconds: float
    bytes: int
    statuses: dict[int, int]
    socket_errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def _wrk(
    base: str, args: argparse.Namespace, numbers: Path, seconds: int, memory: Memory | None
) -> Result:
    command = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(HERE / "load.lua"),
        base,
        "--",
        "list",
        str(numbers),
        PREFIX,
    ]
    started = time.monotonic()
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as wrk:
        if memory is not None:
            next_at = SAMPLE_EVERY
            while wrk.poll() is None:
                elapsed = time.monotonic() - started
                if elapsed >= next_at and elapsed < seconds:
                    kib = memory.sample(round(elapsed))
                    if args.verbose:
                        console.print(f"  {round(elapsed):4d} s  RSS {kib / 1024:,.1f} MiB")
                    next_at += SAMPLE_EVERY
                time.sleep(0.2)
        stdout, stderr = wrk.communicate()
    if wrk.returncode != 0:
        raise SystemExit(f"wrk exited with {wrk.returncode}:\n{stdout}\n{stderr}")
    line = next((s for s in stdout.splitlines() if s.startswith("LOAD ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{stdout}\n{stderr}")
    data: dict[str, Any] = json.loads(line.removeprefix("LOAD "))
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        bytes=data["bytes"],
        statuses={int(k): int(v) for k, v in data["statuses"].items()},
        socket_errors={
            kind: int(data[f"{kind}_errors" if kind != "timeouts" else kind])
            for kind in ("connect", "read", "write", "timeouts")
        },
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
    )


def _start(
    path: Path, port: int, workers: int, rate_limit: bool, log: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EMSTRACK_DATABASE_URL": f"sqlite:///{path}"}
    if rate_limit:
        env.pop("EMSTRACK_RATE_LIMIT", None)
    else:
        # One client address sends everything: the limiter still counts every request (its
        # cost is part of the measure), but must not refuse them.
        env["EMSTRACK_RATE_LIMIT"] = HIGH_RATE
    command = [_emstrack(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}: see {log}")
        try:
            # Every worker must be up: a few answers in a row (they share the socket).
            if all(_get(f"http://127.0.0.1:{port}/healthz") == 200 for _ in range(4 * workers)):
                return server
        except OSError:
            time.sleep(0.2)
    _stop(server)
    raise SystemExit(f"the server did not answer within 60 s: see {log}")


def _stop(server: subprocess.Popen[bytes]) -> int | None:
    """Terminate the server and wait for it; kill any process of it left after 30 s."""
    descendants = _children(server.pid)
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    for pid in descendants:
        if Path(f"/proc/{pid}").exists():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return server.returncode


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (default 60)")
    parser.add_argument("--warmup", type=int, default=5, help="seconds of warm-up (default 5)")
    parser.add_argument("--items", type=int, default=20_000, help="demo database size")
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--numbers", type=int, default=5000, help="distinct numbers on record")
    parser.add_argument("--seed", type=int, default=1, help="seed of the choice of numbers")
    parser.add_argument(
        "--rate-limit",
        action="store_true",
        help="keep the real rate limit (EMSTRACK_RATE_LIMIT or its default): 429s are counted "
        "apart, not as failures",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print each RSS sample")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.workers < 1:
        parser.error("--duration and --workers must be at least 1, --warmup at least 0")
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2

    path = _database(args.items)
    numbers, found, unknown = _numbers(path, args.numbers, args.seed)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = OUT / "load-server.log"
    limit = os.environ.get("EMSTRACK_RATE_LIMIT", "default") if args.rate_limit else HIGH_RATE
    console.print(
        f"load: emstrack serve --workers {args.workers} on {path.name} ({args.items:,} items), "
        f"rate limit {limit}; wrk -t{args.threads} -c{args.connections} for {args.duration} s "
        f"over {found:,} numbers on record + {unknown:,} unknown ({UNKNOWN_SHARE:.0%}); "
        f"server log {log}"
    )
    server = _start(path, port, args.workers, args.rate_limit, log)
    memory = Memory(server.pid)
    try:
        console.print(f"server pid {server.pid}, processes {memory.pids()}")
        warm = None
        if args.warmup:
            warm = _wrk(base, args, numbers, args.warmup, None)
        start_kib = memory.sample(0)
        result = _wrk(base, args, numbers, args.duration, memory)
        end_kib = memory.sample(round(result.seconds))
        pids = memory.pids()
    finally:
        code = _stop(server)
    console.print(f"server stopped (exit status {code})")

    runs = [("warm-up", warm), ("load", result)] if warm is not None else [("load", result)]
    statuses = sorted({s for _, r in runs if r is not None for s in r.statuses})
    table = Table("run", "seconds", "requests", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
    for status in statuses:
        table.add_column(str(status), justify="right")
    table.add_column("socket errors", justify="right")
    for name, run in runs:
        if run is None:
            continue
        table.add_row(
            name,
            f"{run.seconds:.1f}",
            f"{run.requests:,}",
            f"{run.rate:,.0f}",
            f"{run.p50_ms:.1f}",
            f"{run.p90_ms:.1f}",
            f"{run.p99_ms:.1f}",
            f"{run.max_ms:.1f}",
            *(f"{run.statuses.get(s, 0):,}" for s in statuses),
            f"{sum(run.socket_errors.values()):,}",
        )
    console.print(table)
    samples = "  ".join(f"{at:.0f}s={kib / 1024:.1f}" for at, kib in memory.samples)
    console.print(f"RSS samples (MiB, {len(pids)} processes {pids}): {samples}")

    # A failure is any answer but 200, the 404 of an unknown number and the limiter's 429, or
    # any socket error; 404s beyond the share of unknown numbers mean numbers on record lost.
    failures = 0
    for _, run in runs:
        if run is None:
            continue
        failures += sum(n for s, n in run.statuses.items() if s not in (200, 404, 429))
        failures += sum(run.socket_errors.values())
    answered = sum(n for s, n in result.statuses.items() if s in (200, 404))
    share_404 = result.statuses.get(404, 0) / answered if answered else 0.0
    expected = unknown / (found + unknown)
    if share_404 > expected * 1.3 + 0.01:
        console.print(
            f"[red]{share_404:.1%} of the answers are 404, but only {expected:.1%} of the "
            "numbers are unknown: numbers on record were not found[/red]"
        )
        failures += 1
    limited = result.statuses.get(429, 0)
    max_kib = max(kib for _, kib in memory.samples)
    growth = (end_kib - start_kib) / start_kib * 100 if start_kib else 0.0
    console.print(
        f"load: {result.rate:,.0f} req/s sustained over {result.seconds:.0f} s "
        f"(p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms), "
        f"{failures:,} failures other than 429 ({limited:,} × 429, "
        f"{result.statuses.get(404, 0):,} × 404 for unknown numbers = {share_404:.1%} of "
        f"answers, {expected:.1%} expected); "
        f"RSS start {_mib(start_kib)}, end {_mib(end_kib)} ({growth:+.1f} %), "
        f"max {_mib(max_kib)}"
    )
    if failures:
        console.print(f"[red]FAIL: {failures:,} requests failed other than by the rate limiter")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
