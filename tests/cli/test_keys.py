"""`emstrack keys`: a key is shown once, kept only as a hash, listed by prefix, revoked."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from emstrack import keys
from emstrack.cli import app
from emstrack.keys import KeyScope
from emstrack.store.database import Database


def _create(runner: CliRunner, name: str, scope: str) -> str:
    result = runner.invoke(app, ["keys", "create", "--name", name, "--scope", scope])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert key.startswith("emsk_")
    assert len(key) == len("emsk_") + 43
    return key


def test_create_shows_the_key_once_and_stores_only_its_hash(
    runner: CliRunner, db: Database
) -> None:
    key = _create(runner, "feed-a", "ingest")
    with db.read() as conn:
        dump = str(conn.execute(text("SELECT * FROM api_keys")).all())
    assert key not in dump
    assert key[12:] not in dump  # nothing of the secret part beyond the shown prefix
    assert keys.digest(key) in dump
    listing = runner.invoke(app, ["keys", "list"], env={"COLUMNS": "200"})
    assert listing.exit_code == 0
    assert key[:12] in listing.stdout
    assert "feed-a" in listing.stdout
    assert key not in listing.stdout


def test_authenticate_and_revoke_by_prefix(runner: CliRunner, db: Database) -> None:
    key = _create(runner, "app", "read_private")
    row = keys.authenticate(db, key)
    assert row is not None
    assert row.scope == "read_private"
    assert keys.list_keys(db)[0].last_used_at is not None
    result = runner.invoke(app, ["keys", "revoke", key[:10]])
    assert result.exit_code == 0, result.output
    assert "revoked" in result.stdout
    assert keys.authenticate(db, key) is None
    assert keys.list_keys(db)[0].revoked_at is not None


def test_revoke_by_id(runner: CliRunner, db: Database) -> None:
    made = keys.create(db, "ops", KeyScope.ADMIN)
    assert runner.invoke(app, ["keys", "revoke", str(made.row.id)]).exit_code == 0
    assert keys.authenticate(db, made.key) is None


@pytest.mark.parametrize("reference", ["999", "emsk_zzzzzzz", "emsk"])
def test_revoke_of_an_unknown_key_says_what_to_do(runner: CliRunner, reference: str) -> None:
    result = runner.invoke(app, ["keys", "revoke", reference])
    assert result.exit_code == 1
    assert "keys list" in result.stderr


def test_an_unknown_scope_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "create", "--name", "x", "--scope", "root"])
    assert result.exit_code == 2
    assert "ingest, read_private, webhooks or admin" in result.stderr


@pytest.mark.parametrize("presented", ["", "emsk_", "emsk_" + "A" * 43, "x" * 500])
def test_unknown_keys_do_not_authenticate(db: Database, presented: str) -> None:
    keys.create(db, "ops", KeyScope.ADMIN)
    assert keys.authenticate(db, presented) is None


def test_admin_allows_every_scope() -> None:
    assert all(KeyScope.ADMIN.allows(scope) for scope in KeyScope)
    assert not KeyScope.INGEST.allows(KeyScope.READ_PRIVATE)
    assert not KeyScope.READ_PRIVATE.allows(KeyScope.INGEST)
