"""WeChat's replay guard: one signed callback URL serves one request body.

In plaintext mode WeChat signs the timestamp and nonce, not the body (docs/standards/channels.md
§1.1), so whoever saw one signed URL (a proxy's log, a shared debugging session) could post any
message with it, as any user, while its timestamp is fresh. The URL is therefore remembered with
the body it came with, and the same URL with another body is refused.

The same URL with the same body is let through: that is WeChat's own retry of a message it got
no answer to in time (whether a retry is signed anew is not documented), or an exact replay;
both are the MsgId de-duplication's to answer, and neither can make the bot do anything twice.

The memory is the `channel_seen` table, beside the MsgId de-duplication: the database is what
every server process shares (the rate limiter's store is each process's own memory unless
Redis is set up, and a replay sent to another worker would pass), it outlives a restart, and
the worker prunes it after days, far beyond the clock-skew window in which a URL is accepted.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from emstrack.store.channel_seen import first_sighting
from emstrack.store.database import Database

#: The `channel_seen` channel of the signed URLs (the messages' ids are under "wechat").
CHANNEL = "wechat-url"


class _Refused(Exception):
    """Leaves the unit of work so that it is rolled back."""


def first_use(db: Database, *, timestamp: str, nonce: str, signature: str, body: bytes) -> bool:
    """Note a signed callback; False when its URL was used before with another body.

    `signature` is the one that was checked: `signature` in plaintext mode, `msg_signature`
    in the AES modes (which covers the body already, so a changed body cannot reach here).
    """
    url = hashlib.sha256("\n".join((timestamp, nonce, signature)).encode()).hexdigest()
    request = hashlib.sha256(url.encode() + b"\n" + body).hexdigest()
    now = datetime.now(UTC)
    try:
        with db.write() as unit:
            if not first_sighting(unit, CHANNEL, f"request:{request}", now):
                return True  # this very request again: a retry
            if first_sighting(unit, CHANNEL, f"url:{url}", now):
                return True
            # Forget this body too, or its next try would pass as "this very request again".
            # On PostgreSQL a concurrent first use of the URL is waited for, so only one body
            # wins.
            raise _Refused
    except _Refused:
        return False
