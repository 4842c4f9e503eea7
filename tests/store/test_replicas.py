"""Read replicas against a real hot standby: public lookups on the replica, the rest on the primary.

The module makes its own PostgreSQL primary and a streaming standby of it (`initdb`,
`pg_basebackup -R`) from the binaries on the machine (`/usr/lib/postgresql/*/bin`), in a
temporary folder, on free loopback ports; as the `postgres` user when run as root (initdb
refuses root). Both are stopped and their folders removed at the end. Without the binaries, or
as root without a `postgres` user, the module is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from factories import DELIVERED_TO_DE, Loader, history
from pydantic import SecretStr
from sqlalchemy import text
from webclient import serve

from emstrack import keys
from emstrack.config import Settings
from emstrack.keys import KeyScope
from emstrack.lookup import Outcome, Tracker
from emstrack.store.database import Database
from emstrack.store.replicas import RecentWrites
from emstrack.web.app import create_app


def _bin_dir() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Cluster:
    """A primary and its streaming standby, run as `user` from the binaries in `bin`."""

    bin: Path
    root: Path
    user: str | None
    primary_port: int
    standby_port: int

    @property
    def primary_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.primary_port}/postgres"

    @property
    def standby_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.standby_port}/postgres"

    def run(self, *args: str | int | Path) -> None:
        command = [str(self.bin / str(args[0])), *map(str, args[1:])]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}\n{done.stderr}")

    def psql(self, port: int, sql: str) -> str:
        command = [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        command += ["-d", "postgres", "-Atc", sql]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
        return done.stdout.strip()

    def start(self, name: str) -> None:
        folder = self.root / name
        self.run("pg_ctl", "-D", folder, "-l", self.root / f"{name}.log", "-w", "-t", "60", "start")

    def stop(self, name: str) -> None:
        self.run("pg_ctl", "-D", self.root / name, "-m", "fast", "-w", "stop")

    def wait_streaming(self) -> None:
        for _ in range(300):
            try:
                if self.psql(self.standby_port, "SELECT status FROM pg_stat_wal_receiver") == (
                    "streaming"
                ):
                    return
            except subprocess.CalledProcessError:
                pass
            time.sleep(0.1)
        raise RuntimeError("the standby never started streaming")

    def wait_replayed(self) -> None:
        """Until the standby has replayed everything the primary wrote so far."""
        position = self.psql(self.primary_port, "SELECT pg_current_wal_lsn()")
        for _ in range(300):
            ok = self.psql(self.standby_port, f"SELECT pg_last_wal_replay_lsn() >= '{position}'")
            if ok == "t":
                return
            time.sleep(0.05)
        raise RuntimeError("the standby did not catch up")

    def pause(self) -> None:
        self.psql(self.standby_port, "SELECT pg_wal_replay_pause()")

    def resume(self) -> None:
        self.psql(self.standby_port, "SELECT pg_wal_replay_resume()")
        self.wait_replayed()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = _bin_dir()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    user: str | None = None
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run initdb as")
        if shutil.which("runuser") is None:
            pytest.skip("running as root and runuser is missing (initdb refuses root)")
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="emstrack-replicas-"))
    if user is not None:
        os.chown(root, entry.pw_uid, entry.pw_gid)
    c = Cluster(bin_dir, root, user, _free_port(), _free_port())
    started: list[str] = []
    try:
        c.run("initdb", "-D", root / "primary", "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with (root / "primary" / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {c.primary_port}\n"
                f"unix_socket_directories = '{root}'\nwal_level = replica\n"
                "max_wal_senders = 4\nhot_standby = on\nfsync = off\n"
                "shared_buffers = 16MB\n"
            )
        # initdb --auth=trust already lets `replication` in from 127.0.0.1; say it anyway.
        with (root / "primary" / "pg_hba.conf").open("a") as hba:
            hba.write("\nhost replication postgres 127.0.0.1/32 trust\n")
        c.start("primary")
        started.append("primary")
        c.run(
            "pg_basebackup", "-h", "127.0.0.1", "-p", c.primary_port, "-U", "postgres",
            "-D", root / "standby", "-R", "-X", "stream", "-c", "fast",
        )  # fmt: skip
        with (root / "standby" / "postgresql.conf").open("a") as conf:
            conf.write(f"\nport = {c.standby_port}\n")
        c.start("standby")
        started.append("standby")
        c.wait_streaming()
        yield c
    finally:
        for name in reversed(started):
            with contextlib.suppress(RuntimeError):  # already stopped by a test
                c.stop(name)
        shutil.rmtree(root, ignore_errors=True)


NUMBER = "EE123456785CN"
OTHER = "RR473124829GB"


@pytest.fixture
def db(cluster: Cluster) -> Iterator[Database]:
    """The primary with its replica, the schema made and replicated, the tables emptied."""
    settings = Settings(
        database_url=cluster.primary_url,
        database_replica_urls=cluster.standby_url,
        database_replica_max_lag=60,
        database_replica_check_seconds=0.05,
        database_replica_retry_seconds=0.5,
    )
    database = Database.open(settings, migrate=True)
    with database.write() as unit:
        for table in ("events", "items", "item_answers", "subscriptions", "outbox", "api_keys"):
            unit.execute(text(f"DELETE FROM {table}"))
    cluster.wait_replayed()
    yield database
    database.close()


def _server_port(db: Database, *, replica_ok: bool) -> int:
    with db.read(replica_ok=replica_ok) as unit:
        port: int = unit.execute(text("SELECT inet_server_port()")).scalar_one()
        return port


def _outcome(tracker: Tracker, number: str = NUMBER) -> Outcome:
    return tracker.lookup(number).outcome


def test_public_lookups_read_the_replica_and_keyed_writers_their_own_writes(
    cluster: Cluster, db: Database
) -> None:
    assert _server_port(db, replica_ok=True) == cluster.standby_port
    assert _server_port(db, replica_ok=False) == cluster.primary_port
    settings = Settings(database_url=cluster.primary_url)
    primary = Tracker(db, settings)
    public = primary.reading(db, replica_ok=True)
    cluster.pause()
    try:
        Loader(db)(*history(NUMBER, *DELIVERED_TO_DE[:2]))
        assert _outcome(primary) == Outcome.FOUND
        assert _outcome(public) == Outcome.NOT_FOUND_YET  # the replica has not replayed it
        # Through the web: a key that pushed the event reads it back; the public does not yet.
        key = keys.create(db, "feed", KeyScope.INGEST).key
        auth = {"Authorization": f"Bearer {key}"}
        app = create_app(db_settings(cluster), database=db)
        with serve(app) as client:
            pushed = client.post(
                "/api/v1/events", json=history(OTHER, *DELIVERED_TO_DE[:1])[0], headers=auth
            )
            assert pushed.json()["stored"] == 1
            assert client.get(f"/api/v1/tracking/{OTHER}", headers=auth).status_code == 200
            assert client.get(f"/api/v1/tracking/{OTHER}").status_code == 404
            assert client.get(f"/api/v1/tracking/{NUMBER}").status_code == 404
            assert client.get(f"/track/{NUMBER}").status_code == 404  # the page: no scan yet
            # A chat's lookup is public too: the bot reads the replica.
            assert "暂无扫描" in _ask_wechat(client, NUMBER, "1")
            cluster.resume()
            assert client.get(f"/api/v1/tracking/{OTHER}").status_code == 200
            assert client.get(f"/track/{NUMBER}").status_code == 200
            assert "暂无扫描" not in _ask_wechat(client, NUMBER, "2")
    finally:
        cluster.resume()
    assert _outcome(public) == Outcome.FOUND


_WECHAT_TOKEN = "replica-test-token"


def _ask_wechat(client: httpx.Client, text_: str, msg_id: str) -> str:
    """What the WeChat bot answers `text_` (a plaintext-mode callback, signed; see
    docs/channels.md)."""
    stamp = str(int(time.time()))
    parts = "".join(sorted([_WECHAT_TOKEN, stamp, msg_id]))
    query = {"signature": hashlib.sha1(parts.encode()).hexdigest(), "timestamp": stamp}
    body = (
        "<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>oUSER</FromUserName>"
        f"<CreateTime>{stamp}</CreateTime><MsgType>text</MsgType><Content>{text_}</Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    )
    answer = client.post("/channels/wechat", params={**query, "nonce": msg_id}, content=body)
    return ET.fromstring(answer.content).findtext("Content") or ""


def db_settings(cluster: Cluster) -> Settings:
    return Settings(
        database_url=cluster.primary_url,
        database_replica_urls=cluster.standby_url,
        database_replica_max_lag=60,
        database_replica_check_seconds=0.05,
        rate_limit="100000/minute",
        rate_limit_key="100000/minute",
        wechat_token=SecretStr(_WECHAT_TOKEN),
    )


def test_a_replica_lagging_past_the_setting_is_skipped(cluster: Cluster, db: Database) -> None:
    replicas = db.replicas
    assert replicas is not None
    public = Tracker(db, Settings(database_url=cluster.primary_url)).reading(db, replica_ok=True)
    replicas.max_lag = 0.5
    cluster.pause()
    try:
        Loader(db)(*history(NUMBER, *DELIVERED_TO_DE[:2]))
        time.sleep(1.0)  # the standby now lags more than 0.5 s behind
        assert _outcome(public) == Outcome.FOUND  # answered by the primary
        assert _server_port(db, replica_ok=True) == cluster.primary_port
        assert replicas.status()[0]["usable"] is False
        assert "lags" in replicas.status()[0]["problem"]
    finally:
        cluster.resume()
    time.sleep(0.1)  # past the check interval: measured again, caught up
    assert _server_port(db, replica_ok=True) == cluster.standby_port


def test_a_stopped_standby_is_skipped_without_error_and_used_again(
    cluster: Cluster, db: Database
) -> None:
    Loader(db)(*history(NUMBER, *DELIVERED_TO_DE[:2]))
    cluster.wait_replayed()
    public = Tracker(db, Settings(database_url=cluster.primary_url)).reading(db, replica_ok=True)
    assert _outcome(public) == Outcome.FOUND
    assert _server_port(db, replica_ok=True) == cluster.standby_port
    cluster.stop("standby")
    try:
        for _ in range(3):  # the pooled connection is dead, then the standby refuses
            assert _outcome(public) == Outcome.FOUND
            assert _server_port(db, replica_ok=True) == cluster.primary_port
    finally:
        cluster.start("standby")
    cluster.wait_streaming()
    time.sleep(0.6)  # past EMSTRACK_DATABASE_REPLICA_RETRY_SECONDS
    assert _server_port(db, replica_ok=True) == cluster.standby_port
    assert _outcome(public) == Outcome.FOUND


def test_a_promoted_standby_is_not_read_as_a_replica(cluster: Cluster) -> None:
    """A replica URL naming a server that is not in recovery (the primary itself, or a standby
    promoted by a failover) is left out: it may have diverged."""
    settings = Settings(
        database_url=cluster.primary_url,
        database_replica_urls=cluster.primary_url.replace("127.0.0.1", "localhost"),
    )
    db = Database.open(settings, migrate=True)
    try:
        assert db.replicas is not None
        assert db.replicas.pick() is None
        assert "not a standby" in db.replicas.status()[0]["problem"]
    finally:
        db.close()


def test_recent_writes_in_memory() -> None:
    now = [100.0]
    recent = RecentWrites(5.0, clock=lambda: now[0])
    assert not recent.lately("key:1")
    recent.note("key:1")
    now[0] += 4.9
    assert recent.lately("key:1")
    assert not recent.lately("key:2")
    now[0] += 0.2
    assert not recent.lately("key:1")


def test_recent_writes_are_shared_through_redis() -> None:
    url = os.environ.get("EMSTRACK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    one, two = RecentWrites(5.0, url), RecentWrites(5.0, url)
    writer = f"key:test-{os.getpid()}-{time.time_ns()}"
    try:
        assert not two.lately(writer)
    except Exception:  # pragma: no cover - no Redis here
        pytest.skip(f"no Redis at {url}")
    one.note(writer)
    assert two.lately(writer)  # another process's memory: from Redis


def test_redis_down_sends_a_writer_to_the_primary() -> None:
    recent = RecentWrites(5.0, f"redis://127.0.0.1:{_free_port()}/0")
    assert recent.lately("key:1")  # unknown: never a stale read of one's own write


def test_replicas_need_a_postgresql_primary(tmp_path: Path) -> None:
    from emstrack.errors import DatabaseError

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        database_replica_urls="postgresql+psycopg://postgres@127.0.0.1:1/x",
    )
    with pytest.raises(DatabaseError, match="PostgreSQL"):
        Database.open(settings)
