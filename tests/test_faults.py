"""The database goes away mid-run: 503 with `Retry-After`, a health check that says why, recovery
without a restart, and no accepted event lost.

PostgreSQL is tested for real on a private cluster made for the test (initdb in a temporary
directory, its own port and socket on loopback), never the machine's shared server: the cluster
is stopped with `pg_ctl stop -m immediate` while events are being pushed, then started again.
SQLite is tested with another process holding the write lock (`BEGIN EXCLUSIVE`) and a short
`EMSTRACK_SQLITE_BUSY_TIMEOUT_MS`: making the file unwritable with `chmod` proves nothing here,
since the server's open connections keep their file handles and root ignores permissions.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from webclient import serve

from emstrack import keys
from emstrack.config import Settings
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
    return {"Authorization": f"Bearer {keys.create(app.state.engine, 'feed', KeyScope.INGEST).key}"}


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
    headers = {
        "Authorization": f"Bearer {keys.create(app.state.engine, 'feed', KeyScope.INGEST).key}"
    }
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
    headers = {
        "Authorization": f"Bearer {keys.create(app.state.engine, 'feed', KeyScope.INGEST).key}"
    }
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
