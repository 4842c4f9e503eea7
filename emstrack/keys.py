"""Operators' API keys: made once, shown once, kept only as a hash.

A key is `emsk_` and 32 random bytes (URL-safe base64). It is stored as its SHA-256 digest: a
slow password hash (bcrypt, argon2) exists to make guessing low-entropy secrets expensive, but
nobody can guess 256 random bits, so one fast hash is as safe here and lets a request find its
key by an indexed equality on the digest, with no per-key comparison (hence nothing for a timing
attack to measure either).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from emstrack.errors import InputError
from emstrack.store.database import Database
from emstrack.store.keys import (
    KeyRow,
    all_keys,
    insert_key,
    key_by_hash,
    key_by_id,
    mark_revoked,
    mark_used,
)

KEY_PREFIX = "emsk_"
#: Characters of a key kept in clear to name it in lists (`emsk_` and 7 of the random part).
SHOWN = 12
#: `last_used_at` is written at most this often per key, so that a busy key does not turn
#: every request into a write.
_TOUCH_EVERY = timedelta(minutes=1)


class KeyScope(StrEnum):
    INGEST = "ingest"  # push events
    READ_PRIVATE = "read_private"  # see the personal fields of a lookup
    WEBHOOKS = "webhooks"  # subscribe webhooks to items' status changes
    ADMIN = "admin"  # everything

    def allows(self, needed: KeyScope) -> bool:
        return self is KeyScope.ADMIN or self is needed


@dataclass(frozen=True, slots=True)
class NewKey:
    key: str  # the secret: shown once, never stored
    row: KeyRow


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create(db: Database, name: str, scope: KeyScope) -> NewKey:
    """Make a key, store its hash, and hand back the key (the only time it is seen)."""
    name = name.strip()
    if not name or len(name) > 64:
        raise InputError("bad_key_name", "A key's name must have 1 to 64 characters.")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with db.write() as unit:
        row = insert_key(
            unit, name=name, scope=scope.value, prefix=key[:SHOWN], key_hash=digest(key)
        )
    return NewKey(key, row)


def list_keys(db: Database) -> list[KeyRow]:
    """Every key, revoked ones included, oldest first."""
    with db.read() as unit:
        return all_keys(unit)


def revoke(db: Database, id_or_prefix: str) -> KeyRow:
    """Revoke one key, named by its id or the start of its prefix (at least 8 characters)."""
    wanted = id_or_prefix.strip()
    with db.write() as unit:
        rows = all_keys(unit)
        if wanted.isdigit():
            matches = [r for r in rows if r.id == int(wanted)]
        elif len(wanted) >= 8:
            matches = [r for r in rows if r.prefix.startswith(wanted)]
        else:
            raise InputError(
                "bad_key_reference",
                f"{wanted!r} is neither a key id nor a prefix of at least 8 characters.",
                "See `emstrack keys list`.",
            )
        if len(matches) != 1:
            what = "No key" if not matches else f"{len(matches)} keys"
            raise InputError(
                "unknown_key", f"{what} match {wanted!r}.", "See `emstrack keys list`."
            )
        mark_revoked(unit, matches[0].id)
        revoked = key_by_id(unit, matches[0].id)
    assert revoked is not None
    return revoked


def authenticate(db: Database, key: str) -> KeyRow | None:
    """The live key row for a presented key, or None when it is unknown or revoked."""
    if not key.startswith(KEY_PREFIX) or len(key) > 128:
        return None
    with db.read() as unit:
        row = key_by_hash(unit, digest(key))
    if row is None or row.revoked_at is not None:
        return None
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at >= _TOUCH_EVERY:
        with db.write() as unit:
            mark_used(unit, row.id, now)
    return row
