"""The tables, laid out for the lookup (the hot path) and for sharding by tracking number.

Every primary key starts with `number`, so an item and its events come back with two range reads
of primary-key order, and both tables can be distributed by `number` and co-located on a
distributed PostgreSQL (Citus: `create_distributed_table('items', 'number')`, then the same for
`events` with `colocate_with => 'items'`).

`generation` tells apart items that share a number: an S10 number may be reused by its operator
after 12 months (docs/standards/s10.md §9). The first item seen with a number is generation 1.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    text,
    true,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

items = Table(
    "items",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("kind", String(12), nullable=False),
    Column("service", String(32)),
    Column("origin_country", String(2)),
    Column("destination_country", String(2)),
    # Personal data: shown only to a viewer who proves it or holds an operator key.
    Column("destination_postcode", String(32)),
    # Instants used for the reuse window: UTC where known, else the local wall time (naive).
    Column("first_event_at", DateTime(timezone=False), nullable=False),
    Column("last_event_at", DateTime(timezone=False), nullable=False),
    # Derived from the events at every write; the lookup derives it again from the events.
    Column("status", String(24), nullable=False),
    Column("status_detail", String(24)),
    Column("status_code", String(8)),
    Column("event_count", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # Where `destination_postcode` came from: "event" when a newly stored event carried it (the
    # only kind that proves anything), "merge" when it came only as extra detail on a duplicate
    # of an event already stored, which anyone holding an ingest key can send: never a proof.
    Column("postcode_from", String(8)),
    sqlite_with_rowid=False,
)

#: Values of an item's attributes (destination postcode, origin and destination country) that
#: disagree with the one it already has. The first value stays; later different ones are kept
#: here for operators to see, never used. Keyed by number first, like items, so it co-locates.
item_conflicts = Table(
    "item_conflicts",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("field", String(32), primary_key=True),
    Column("value", String(32), primary_key=True),
    Column("source", String(100)),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    sqlite_with_rowid=False,
)

events = Table(
    "events",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("generation", Integer, primary_key=True, autoincrement=False),
    Column("dedupe_key", String(24), primary_key=True),
    Column("code", String(8), nullable=False),
    Column("occurred_local", DateTime(timezone=False), nullable=False),
    Column("utc_offset_min", SmallInteger),
    Column("occurred_utc", DateTime(timezone=True)),
    Column("office_code", String(16)),
    Column("office_name", String(200)),
    Column("country", String(2)),
    Column("next_office_code", String(16)),
    Column("reason_code", String(16)),
    Column("reason_text", String(500)),
    Column("action_code", String(16)),
    Column("action_text", String(500)),
    Column("retention_code", String(16)),
    Column("retention_text", String(500)),
    # Personal data: never on the public view.
    Column("signatory", String(200)),
    Column("description", String(1000)),
    Column("source", String(100)),
    # An operator event (docs/import.md): its profile, the rule that mapped its text (NULL:
    # unmapped), its public labels (personal data removed) and its effect.
    Column("profile", String(64)),
    Column("rule", String(64)),
    Column("label_en", String(1000)),
    Column("label_zh", String(1000)),
    Column("effect", String(24)),
    # The payload(s) as received, as a JSON array: a duplicate adds its own payload here.
    Column("raw", Text, nullable=False),
    Column("ingested_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["number", "generation"], ["items.number", "items.generation"], ondelete="CASCADE"
    ),
    sqlite_with_rowid=False,
)

#: The read model (`store.answers`): each number's lookup answer in one row, written in the same
#: transaction as its items and events. `version` goes up at every change (the HTTP validator);
#: `answer` is a JSON document of the rows a lookup reads. Keyed by number, like items.
item_answers = Table(
    "item_answers",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("answer", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The row's public pages are still to be made for its version (`store.pages`): set by every
    # write of the row, cleared by the page keeper; only the due rows are in the index.
    Column("page_due", Boolean, nullable=False, server_default=true()),
    Index(
        "ix_item_answers_page_due",
        "number",
        postgresql_where=text("page_due"),
        sqlite_where=text("page_due"),
    ),
    sqlite_with_rowid=False,
)

#: The found items' public answers the read model keeps (`store.answers`): for the number's
#: answer of `version`, made with what `stamp` names; `public_en`, `public_zh` NULL where that
#: answer is made at each lookup. A table of its own, so that the reads of the rows alone (the
#: pages, the chats) stay small. A plain (rowid) table on SQLite: its rows are large.
item_public_answers = Table(
    "item_public_answers",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("stamp", String(32), nullable=False),
    Column("public_en", Text, nullable=True),
    Column("public_zh", Text, nullable=True),
)

#: The found items' public pages the read model keeps (`store.pages`), as `item_public_answers`:
#: for the number's answer of `version`, made with what `stamp` names (the release and the
#: settings that change a page), each a compressed page with its relative times left out
#: (`web.keptpages`); NULL where that page is drawn at each lookup.
item_pages = Table(
    "item_pages",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("stamp", String(32), nullable=False),
    Column("page_en", LargeBinary, nullable=True),
    Column("page_zh", LargeBinary, nullable=True),
)

#: Operators' API keys. Only a hash of each key is kept; `prefix` (the key's first characters)
#: names a key in lists and logs without giving it away.
api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True)),
    Index("ix_api_keys_key_hash", "key_hash", unique=True),
)

#: Messages people chose to report from the scam checker (`/check`, `check-message`): the only
#: place message text is ever kept. `reasons` holds the codes that fired, space-separated.
reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=False),
    Column("sender", String(200)),
    Column("verdict", String(16), nullable=False),
    Column("reasons", String(1000), nullable=False),
)

#: Who wants to hear of an item's moves, and how: a webhook URL, an e-mail address, or a chat
#: user (WeChat OpenID, Telegram chat id). Keyed by number first, like items, so it shards and
#: co-locates with them. `id` is random: it names the subscription in signed links and the API.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("id", String(24), primary_key=True),
    Column("channel", String(12), nullable=False),  # webhook | email | wechat | telegram
    # Personal data (an address, a URL, a chat user): never shown on the public view.
    Column("target", String(500), nullable=False),
    Column("lang", String(8), nullable=False),
    Column("timezone", String(64), nullable=False),  # the recipient's, for quiet hours
    Column("state", String(12), nullable=False),  # pending | active | ended
    Column("last_status", String(24)),  # the status last notified (or seen at subscribing)
    Column("key_id", Integer),  # the operator key that made it (webhooks)
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("ended_reason", String(24)),  # delivered | unsubscribed | failing
    Index("ix_subscriptions_channel_target", "channel", "target"),
    sqlite_with_rowid=False,
)

#: Notices to send, written in the same transaction as the change that causes them, so a crash
#: between "stored" and "sent" loses nothing. Workers claim rows with a lease (`lease_until`):
#: a worker that dies mid-delivery leaves its rows to be claimed again when the lease runs out.
#: `id` is the notice's stable event id: receivers de-duplicate on it.
outbox = Table(
    "outbox",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("number", String(32), nullable=False),
    Column("subscription_id", String(24), nullable=False),
    Column("channel", String(12), nullable=False),
    Column("target", String(500), nullable=False),
    Column("kind", String(16), nullable=False),  # status | confirm
    Column("payload", Text, nullable=False),  # JSON: what the notice says
    Column("state", String(12), nullable=False),  # pending | sent | dead | suppressed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", DateTime(timezone=True)),
    Column("last_error", String(500)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_outbox_state_next_attempt_at", "state", "next_attempt_at"),
    # How many confirmation mails an address had lately (the throttle against mail floods).
    Index("ix_outbox_target_kind_created_at", "target", "kind", "created_at"),
)

#: Messages already answered on a chat channel (WeChat MsgId, Telegram update_id): platforms
#: deliver again when an answer is slow, and each message is answered once.
channel_seen = Table(
    "channel_seen",
    metadata,
    Column("channel", String(12), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("seen_at", DateTime(timezone=True), nullable=False),
)

#: Browsers' push subscriptions (the `webpush` channel, issue 16): one row per push endpoint, a
#: device. A `webpush` subscription's `target` is this row's `id` (a digest of the endpoint), so
#: that one device following many items is one endpoint, ended once when the push service
#: answers 404/410. `p256dh` and `auth` are the browser's keys for RFC 8291 encryption.
push_endpoints = Table(
    "push_endpoints",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("endpoint", String(1000), nullable=False),
    Column("p256dh", String(128), nullable=False),
    Column("auth", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True)),
)

#: People who signed in to the app with an e-mail link (optional; issue 16). `account` is a keyed
#: digest of the normalised address (HMAC with the secret key): the address itself is never
#: stored. Links and sessions issued before `signed_out_at` are void (sign out everywhere).
app_accounts = Table(
    "app_accounts",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("signed_out_at", DateTime(timezone=True)),
)

#: The numbers a signed-in person follows in the app ("my items"), with the name they gave one.
app_items = Table(
    "app_items",
    metadata,
    Column("account", String(64), primary_key=True),
    Column("number", String(32), primary_key=True),
    Column("label", String(80)),
    Column("added_at", DateTime(timezone=True), nullable=False),
    sqlite_with_rowid=False,
)
