"""The database goes away mid-run: 503 with `Retry-After`, a health check that says why, recovery
without a restart, and no accepted event lost.

PostgreSQL is tested for real on a private cluster made for the test (initdb in a temporary
directory, its own port and socket on loopback), never the machine's shared server: the cluster
is stopped with `pg_ctl stop -m immediate` while events are being pushed, then started again.
SQLite is tested with another process holding the write lock (`BEGIN EXCLUSIVE`) and a short
`EMSTRACK_SQLITE_BUSY_TIMEOUT_MS`: making the file unwritable with `chmod` proves nothing here,
since the server's open connections keep their file handles and root ignores permissions. A file
that cannot be written is opened read-only by SQLite itself (`mode=ro`), which fails a write
exactly as a read-only mount or a file of another user does, for root too.

A write is caught in the middle on PostgreSQL by another session that locks the `items` table:
the server stops while the writer waits inside its transaction, on the driver's own cursor.
The command line is held to the same faults: one line that says what is wrong, exit status 1.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text
from typer.testing import CliRunner
from webclient import serve

from emstrack import keys
from emstrack.cli import app as cli
from emstrack.config import Settings, get_settings
from emstrack.domain import s10
from emstrack.keys import KeyScope
from emstrack.store.engine import make_engine
from emstrack.web.app import create_app

PROBLEM = "application/problem+json"


def _pg_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


@dataclass
class Cluster:
    """A private PostgreSQL cluster: `stop()` kills it at once, `start()` brings it back."""

    bin: Path
    home: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.home / "data"), *args],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.home} -c listen_addresses=127.0.0.1"
        self._pg_ctl("start", "-w", "-t", "30", "-l", str(self.home / "log"), "-o", options)

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "immediate", "-w")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    bin_dir = _pg_bin()
    if bin_dir is None or not (bin_dir / "pg_ctl").exists():
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    as_user: list[str] = []
    home = Path(tempfile.mkdtemp(prefix="emstrack-pg-"))
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(home)
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        if not shutil.which("runuser"):
            shutil.rmtree(home)
            pytest.skip("running as root and `runuser` is missing")
        os.chown(home, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    home.chmod(0o700)
    db = Cluster(bin_dir, home, _free_port(), as_user)
    initdb = ["-D", str(home / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8"]
    subprocess.run(
        [*as_user, str(bin_dir / "initdb"), *initdb, "--no-instructions"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    db.start()
    try:
        yield db
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            db.stop()
        shutil.rmtree(home, ignore_errors=True)


def _event(i: int) -> dict[str, str]:
    serial = f"{70000000 + i:08d}"
    return {
        "tracking_number": f"EE{serial}{s10.check_digit(serial)}CN",
        "event_code": "EMA",
        "event_time": "2026-11-20T09:00",
        "office_code": "CNBJSD",
        "country": "CN",
    }


@dataclass
class Feeder:
    """Pushes one new event per request from a thread until stopped; remembers every answer."""

    http: httpx.Client
    headers: dict[str, str]
    answers: list[tuple[dict[str, str], httpx.Response]] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        i = 0
        while not self.stopping.is_set():
            event = _event(i)
            i += 1
            self.answers.append(
                (event, self.http.post("/api/v1/events", json=event, headers=self.headers))
            )
            time.sleep(0.01)

    def accepted(self) -> list[dict[str, str]]:
        return [event for event, r in self.answers if r.is_success]

    def refused(self) -> list[httpx.Response]:
        return [r for _, r in self.answers if not r.is_success]


def _ingest_key(app: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys.create(app.state.db, 'feed', KeyScope.INGEST).key}"}


def _wait(condition: Any, seconds: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, f"timed out waiting for {what}"
        time.sleep(0.05)
    return time.monotonic() - start


def _assert_unavailable(r: httpx.Response, why: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.headers["retry-after"] == "5"
    body = r.json()
    assert body["code"] == "database_unavailable"
    assert why in body["detail"]
    for internal in ("psycopg", "sqlalchemy", "sqlite3", "127.0.0.1", "SELECT", "INSERT", "/tmp"):
        assert internal not in r.text


def test_postgresql_stopped_mid_run(cluster: Cluster) -> None:
    settings = Settings(database_url=cluster.url, rate_limit_key="100000/minute")
    app = create_app(settings)
    headers = _ingest_key(app)
    cannot_connect = "cannot connect to the database"
    with serve(app) as http:
        feeder = Feeder(http, headers)
        thread = threading.Thread(target=feeder.run, daemon=True)
        thread.start()
        try:
            _wait(lambda: len(feeder.accepted()) >= 20, 30, "events to be accepted")
            cluster.stop()  # while the feeder is pushing
            _wait(lambda: len(feeder.refused()) >= 5, 30, "refused events")

            number = feeder.accepted()[0]["tracking_number"]
            _assert_unavailable(http.get(f"/api/v1/tracking/{number}"), cannot_connect)
            _assert_unavailable(
                http.post("/api/v1/events", json=_event(10**6), headers=headers), cannot_connect
            )
            health = http.get("/healthz")
            _assert_unavailable(health, cannot_connect)
            assert health.json()["database"] == "unavailable"
            page = http.get(f"/track/{number}", headers={"Accept": "text/html"})
            assert page.status_code == 503
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["retry-after"] == "5"
            assert "try again" in page.text
            assert "psycopg" not in page.text

            cluster.start()  # the app is not restarted
            recovered = _wait(lambda: http.get("/healthz").status_code == 200, 10, "recovery")
            before = len(feeder.accepted())
            _wait(lambda: len(feeder.accepted()) >= before + 10, 10, "ingest to recover")
            assert http.get(f"/api/v1/tracking/{number}").status_code == 200
        finally:
            feeder.stopping.set()
            thread.join(10)

        # Every answer was a success or a clean 503: nothing else, nothing in between.
        for r in feeder.refused():
            _assert_unavailable(r, "")
        accepted = feeder.accepted()
        assert len(feeder.refused()) >= 5
        # Every event answered 2xx is in the database: sent again, each one is a duplicate.
        again = http.post("/api/v1/events", json={"events": accepted}, headers=headers)
        assert again.status_code == 200
        assert again.json()["duplicate"] == len(accepted), again.json()
    engine = make_engine(cluster.url)
    try:
        with engine.connect() as conn:
            stored = set(conn.execute(text("SELECT DISTINCT number FROM items")).scalars())
    finally:
        engine.dispose()
    assert {e["tracking_number"] for e in accepted} <= stored
    print(f"recovered {recovered:.2f} s after the restart; {len(accepted)} accepted, all stored")


def test_sqlite_write_lock_held(tmp_path: Path) -> None:
    path = tmp_path / "emstrack.db"
    settings = Settings(database_url=f"sqlite:///{path}", sqlite_busy_timeout_ms=200)
    app = create_app(settings)
    headers = _ingest_key(app)
    with serve(app) as http:
        assert http.post("/api/v1/events", json=_event(1), headers=headers).status_code == 200
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
            start = time.monotonic()
            refused = http.post("/api/v1/events", json=_event(2), headers=headers)
            assert time.monotonic() - start < 5
            _assert_unavailable(refused, "locked by another process")
            # WAL: readers do not wait for the writer, so lookups and the health check still work.
            number = _event(1)["tracking_number"]
            assert http.get(f"/api/v1/tracking/{number}").status_code == 200
            assert http.get("/healthz").status_code == 200
        finally:
            other.rollback()
            other.close()
        stored = http.post("/api/v1/events", json=_event(2), headers=headers)
        assert stored.status_code == 200
        assert stored.json()["stored"] == 1
        again = http.post(
            "/api/v1/events", json={"events": [_event(1), _event(2)]}, headers=headers
        )
        assert again.json()["duplicate"] == 2


def _read_only(path: Path) -> str:
    """A URL that opens the SQLite file read-only: writes fail as on a read-only mount."""
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def _posted_once(path: Path) -> dict[str, str]:
    """A database at `path` with `_event(1)` and an ingest key, used just now.

    A key's last use is written at most once a minute: used now, a read-only server need not
    write it, and the request goes on to write its events.
    """
    writable = create_app(Settings(database_url=f"sqlite:///{path}"))
    headers = _ingest_key(writable)
    with serve(writable) as http:
        assert http.post("/api/v1/events", json=_event(1), headers=headers).status_code == 200
    writable.state.db.dispose()
    return headers


def test_sqlite_file_that_cannot_be_written(tmp_path: Path) -> None:
    path = tmp_path / "emstrack.db"
    headers = _posted_once(path)
    settings = Settings.model_validate(
        {
            "database_url": _read_only(path),
            "secret_key": "x" * 40,  # subscriptions on: the form below writes
            "public_url": "https://t.example.org",
        }
    )
    number = _event(1)["tracking_number"]
    with serve(create_app(settings)) as http:
        refused = http.post(
            "/api/v1/events", json={"events": [_event(2), _event(3)]}, headers=headers
        )
        _assert_unavailable(refused, "cannot be written to")
        # Reading needs no write: lookups, pages and the health check go on.
        assert http.get(f"/api/v1/tracking/{number}").status_code == 200
        assert http.get("/healthz").status_code == 200
        page = http.get(f"/track/{number}", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert f'action="/track/{number}/subscribe"' in page.text
        form = {"email": "alice@example.com"}
        html = {"Accept": "text/html"}
        subscribed = http.post(f"/track/{number}/subscribe", data=form, headers=html)
        assert subscribed.status_code == 503
        assert subscribed.headers["content-type"].startswith("text/html")
        assert subscribed.headers["retry-after"] == "5"
        assert "alice@example.com" not in subscribed.text

    # Nothing of the refused batch was kept; with the file writable again, it is taken whole.
    writable = create_app(Settings(database_url=f"sqlite:///{path}"))
    with serve(writable) as http:
        again = http.post(
            "/api/v1/events", json={"events": [_event(2), _event(3)]}, headers=headers
        )
        assert again.json()["stored"] == 2
    writable.state.db.dispose()


def _conninfo(cluster: Cluster) -> str:
    return f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres"


@contextlib.contextmanager
def _items_locked(cluster: Cluster) -> Iterator[psycopg.Connection[Any]]:
    """Another session holds a lock on `items` that lets reads through and makes writes wait."""
    holder = psycopg.connect(_conninfo(cluster))
    try:
        holder.execute("LOCK TABLE items IN EXCLUSIVE MODE")
        yield holder
    finally:
        holder.close()  # not the context's commit: the server may be gone by now


def _waiting_writes(cluster: Cluster) -> int:
    """How many sessions wait for a lock in the middle of writing items."""
    with psycopg.connect(_conninfo(cluster), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO items %'"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _stop_mid_write(cluster: Cluster, write: threading.Thread) -> None:
    """Run `write`, stop the server while it waits inside its transaction, wait for its end."""
    with _items_locked(cluster):
        write.start()
        _wait(lambda: _waiting_writes(cluster) == 1, 30, "the write to wait for the lock")
        cluster.stop()
        write.join(60)
    assert not write.is_alive()


def test_postgresql_stopped_mid_write(cluster: Cluster) -> None:
    app = create_app(Settings(database_url=cluster.url))
    headers = _ingest_key(app)
    answers: list[httpx.Response] = []
    with serve(app) as http:
        assert http.post("/api/v1/events", json=_event(1), headers=headers).status_code == 200

        def push() -> None:
            answers.append(http.post("/api/v1/events", json=_event(2), headers=headers))

        _stop_mid_write(cluster, threading.Thread(target=push))
        (answer,) = answers
        _assert_unavailable(answer, "cannot connect to the database")

        cluster.start()
        _wait(lambda: http.get("/healthz").status_code == 200, 10, "recovery")
        # Refused means not stored: sent again, the event is new.
        again = http.post("/api/v1/events", json=_event(2), headers=headers)
        assert again.json()["stored"] == 1


@contextlib.contextmanager
def _read_only_database(cluster: Cluster) -> Iterator[None]:
    """New sessions of the cluster's database start read-only, as on a hot standby."""
    with psycopg.connect(_conninfo(cluster), autocommit=True) as conn:
        conn.execute("ALTER DATABASE postgres SET default_transaction_read_only = on")
    try:
        yield
    finally:
        with psycopg.connect(_conninfo(cluster), autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = off")
            conn.execute("ALTER DATABASE postgres RESET default_transaction_read_only")


def test_postgresql_that_cannot_be_written(
    cluster: Cluster, cli_runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    app = create_app(Settings(database_url=cluster.url))
    headers = _ingest_key(app)
    batch = {"events": [_event(2), _event(3)]}
    with serve(app) as http:
        assert http.post("/api/v1/events", json=_event(1), headers=headers).status_code == 200
        with _read_only_database(cluster):
            app.state.db.dispose()  # the pool's sessions began before the change
            refused = http.post("/api/v1/events", json=batch, headers=headers)
            _assert_unavailable(refused, "cannot be written to")
            number = _event(1)["tracking_number"]
            assert http.get(f"/api/v1/tracking/{number}").status_code == 200

            monkeypatch.setenv("EMSTRACK_DATABASE_URL", cluster.url)
            events = _events_file(tmp_path, _event(2), _event(3))
            imported = cli_runner.invoke(cli, ["import", str(events), "-q"])
            _refused_in_one_line(imported, "The database cannot be written to.")
        app.state.db.dispose()
        assert http.post("/api/v1/events", json=batch, headers=headers).json()["stored"] == 2


@pytest.fixture
def cli_runner(monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _refused_in_one_line(result: Any, why: str) -> None:
    """The CLI's answer to a database that cannot serve it: one line, exit status 1."""
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert why in lines[0]
    for internal in ("Traceback", "sqlite3", "psycopg", "sqlalchemy", "INSERT", "SELECT"):
        assert internal not in result.output


def _events_file(tmp_path: Path, *events: dict[str, str]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(event) + "\n" for event in events), encoding="utf-8")
    return path


def test_cli_on_a_sqlite_file_that_cannot_be_written(
    cli_runner: CliRunner, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "emstrack.db"
    _posted_once(path)
    events = _events_file(tmp_path, _event(2), _event(3))
    monkeypatch.setenv("EMSTRACK_DATABASE_URL", _read_only(path))
    imported = cli_runner.invoke(cli, ["import", str(events), "-q"])
    _refused_in_one_line(imported, "The database cannot be written to.")
    assert "writable" in imported.stderr  # what to do about it
    assert not (tmp_path / "events.rejects.jsonl").exists()  # no row was at fault
    _refused_in_one_line(
        cli_runner.invoke(cli, ["keys", "create", "--name", "x", "--scope", "ingest"]),
        "cannot be written to",
    )
    # Reading needs no write.
    tracked = cli_runner.invoke(cli, ["track", _event(1)["tracking_number"], "--json"])
    assert tracked.exit_code == 0, tracked.output
    assert json.loads(tracked.stdout)["outcome"] == "found"


@pytest.mark.parametrize(
    "command",
    [
        ["track", "EE123456785CN"],
        ["import", "EVENTS"],
        ["keys", "list"],
        ["reports", "export"],
        ["outbox", "list"],
        ["demo", "--items", "1"],
        ["db", "current"],
        ["db", "upgrade"],
    ],
)
@pytest.mark.parametrize("where", ["sqlite", "postgresql"])
def test_cli_on_a_database_that_cannot_be_reached(
    cli_runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    command: list[str],
    where: str,
) -> None:
    if where == "sqlite":  # a file that is not there, opened without creating it
        url, why = _read_only(tmp_path / "missing.db"), "The database file cannot be opened."
    else:  # a loopback port where no server listens
        url = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/postgres"
        why = "The service cannot connect to the database."
    monkeypatch.setenv("EMSTRACK_DATABASE_URL", url)
    events = str(_events_file(tmp_path, _event(1)))
    result = cli_runner.invoke(cli, [events if arg == "EVENTS" else arg for arg in command])
    _refused_in_one_line(result, why)


def test_cli_import_with_postgresql_stopped_mid_write(cluster: Cluster, tmp_path: Path) -> None:
    create_app(Settings(database_url=cluster.url)).state.db.close()  # the schema
    events = _events_file(tmp_path, _event(1), _event(2))
    command = [sys.executable, "-c", "from emstrack.cli import main; main()"]
    env = {**os.environ, "EMSTRACK_DATABASE_URL": cluster.url, "COLUMNS": "200"}
    done: list[subprocess.CompletedProcess[str]] = []

    def run() -> None:
        done.append(
            subprocess.run(
                [*command, "import", str(events), "-q"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        )

    _stop_mid_write(cluster, threading.Thread(target=run))
    (result,) = done
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "The service cannot connect to the database. Check that the database server is "
        "running and that EMSTRACK_DATABASE_URL points at it."
    ]
