"""The app's signed-in lists: accounts (a digest of an address, never the address) and items.

An account row is made when its first sign-in link is followed and goes with "delete my list".
Which links were used, and how many were sent to an account lately, are kept in the short-lived
`channel_seen` log (channels `signin` and `signin-mail`), which the outbox worker prunes after a
week: both only need to be remembered for as long as a link works, or a day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from emstrack.store.channel_seen import first_sighting
from emstrack.store.schema import app_accounts, app_items, channel_seen
from emstrack.store.values import aware

#: `channel_seen` channels: sign-in links followed (key: the token's digest), and sign-in mails
#: sent (key: the account and the instant, so that they can be counted per account).
USED_LINKS = "signin"
SENT_MAILS = "signin-mail"


@dataclass(frozen=True, slots=True)
class AccountRow:
    account: str
    created_at: datetime
    signed_out_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> AccountRow:
        created = aware(row.created_at)
        assert created is not None
        return cls(row.account, created, aware(row.signed_out_at))


@dataclass(frozen=True, slots=True)
class ItemRow:
    number: str
    label: str | None
    added_at: datetime


@dataclass(frozen=True, slots=True)
class Entry:
    """One number to keep; `label` is set only when `set_label` (else an existing one stays)."""

    number: str
    label: str | None = None
    set_label: bool = False


def account(conn: Connection, name: str, *, lock: bool = False) -> AccountRow | None:
    """The account `name`, or None; `lock`: held until the transaction ends (PostgreSQL)."""
    query = select(app_accounts).where(app_accounts.c.account == name)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return AccountRow.of(row) if row is not None else None


def create_account(conn: Connection, name: str, now: datetime) -> AccountRow:
    """The account `name`, made now if it did not exist."""
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(
        dialect.insert(app_accounts)
        .values(account=name, created_at=now.astimezone(UTC), signed_out_at=None)
        .on_conflict_do_nothing()
    )
    found = account(conn, name, lock=True)
    assert found is not None
    return found


def sign_out_everywhere(conn: Connection, name: str, now: datetime) -> None:
    """Void every session and link of the account issued until `now`."""
    conn.execute(
        update(app_accounts)
        .where(app_accounts.c.account == name)
        .values(signed_out_at=now.astimezone(UTC))
    )


def delete_account(conn: Connection, name: str) -> int:
    """Remove the account and its whole list; how many items it held."""
    removed = conn.execute(delete(app_items).where(app_items.c.account == name)).rowcount
    conn.execute(delete(app_accounts).where(app_accounts.c.account == name))
    return int(removed or 0)


def items_of(conn: Connection, name: str) -> list[ItemRow]:
    """The account's list, oldest first."""
    rows = conn.execute(
        select(app_items.c.number, app_items.c.label, app_items.c.added_at)
        .where(app_items.c.account == name)
        .order_by(app_items.c.added_at, app_items.c.number)
    )
    return [ItemRow(r.number, r.label, aware(r.added_at) or r.added_at) for r in rows]


def count_items(conn: Connection, name: str) -> int:
    query = select(func.count()).select_from(app_items).where(app_items.c.account == name)
    return int(conn.execute(query).scalar_one())


def put_items(conn: Connection, name: str, entries: Iterable[Entry], now: datetime) -> None:
    """Add the numbers the list lacks and set the labels asked for (the caller holds the
    account's lock and has checked the list's size)."""
    have = {item.number for item in items_of(conn, name)}
    for entry in entries:
        if entry.number not in have:
            label = entry.label if entry.set_label else None
            conn.execute(
                insert(app_items).values(
                    account=name, number=entry.number, label=label, added_at=now.astimezone(UTC)
                )
            )
            have.add(entry.number)
        elif entry.set_label:
            conn.execute(
                update(app_items)
                .where(app_items.c.account == name, app_items.c.number == entry.number)
                .values(label=entry.label)
            )


def remove_item(conn: Connection, name: str, number: str) -> bool:
    """Take a number off the list; whether it was on it."""
    query = delete(app_items).where(app_items.c.account == name, app_items.c.number == number)
    return bool(conn.execute(query).rowcount)


def use_link(conn: Connection, digest: str, now: datetime) -> bool:
    """Note a sign-in link as used; True only the first time."""
    return first_sighting(conn, USED_LINKS, digest, now)


def note_mail(conn: Connection, name: str, now: datetime) -> None:
    """Note that a sign-in mail went to the account's address now."""
    stamp = int(now.timestamp() * 1_000_000)
    first_sighting(conn, SENT_MAILS, f"{name}:{stamp}", now)


def mails_since(conn: Connection, name: str, since: datetime) -> int:
    """How many sign-in mails went to the account's address since `since`."""
    query = (
        select(func.count())
        .select_from(channel_seen)
        .where(
            channel_seen.c.channel == SENT_MAILS,
            channel_seen.c.key.startswith(f"{name}:", autoescape=True),
            channel_seen.c.seen_at >= since.astimezone(UTC),
        )
    )
    return int(conn.execute(query).scalar_one())
