"""The item pages the read model keeps (`store.pages`): made in the background by the page
keeper, sent by the item page's route with their relative times filled in.

A found item's page at `/track/{number}` (the number as it is written, no query) depends on the
item's rows, the language, the deploy's settings and the minute it is drawn at: the minute only
through its relative times ("3 hours ago") and, once the item has had no news for
`stale_after_days`, the advice that it looks stale. So the keeper draws the page once per change
and language with the page's own code (`web.itempage`), each relative time left as a mark, and
keeps it compressed with the instants the marks stand for and the instant after which the item
would look stale (`PageRender`). The route fills the marks in from its clock (`fill`): the bytes
the page would have been drawn as, for a few microseconds instead of a millisecond and more.
After that instant, for any other address (a query, the number written otherwise) or without a
page of this deploy's stamp for the row's version, the page is drawn from the rows as before.

`stamp_of` names what a page was made with: this release (every file of the package), the
libraries that write it, and every setting except those listed in `NOT_ON_PAGES` (and of the
secrets, only whether each is set). The page keeper must run with the same settings as the
servers: with others, its pages are never sent (only made).

The keeper (`Keeper`) runs in `emstrack worker` and `emstrack serve --worker`: it takes the rows
marked due by the writers, a batch at a time, draws their pages outside any transaction, then
stores them and clears the marks of the rows still at the version drawn.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import string
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson
from markupsafe import escape
from pydantic import SecretStr

import emstrack
from emstrack.config import Settings
from emstrack.domain.lang import Lang
from emstrack.domain.tracking_number import Scope
from emstrack.lookup import Outcome, Tracker, TrackingResult
from emstrack.lookup.bodies import package_digest, steps
from emstrack.store import pages
from emstrack.store.answers import AnswerRow
from emstrack.store.database import Database
from emstrack.web import i18n, itempage, itemview

log = logging.getLogger(__name__)

#: What the kept bytes hold (a change of it makes every kept page another stamp's).
FORMAT: Final = 1
#: The settings that never change a page's bytes: where data is, how requests are limited and
#: served, the notices, the ingest, the app. Every other setting is in a page's stamp.
NOT_ON_PAGES: Final = frozenset(
    {
        "database_url",
        "auto_migrate",
        "database_replica_urls",
        "database_replica_max_lag",
        "database_replica_check_seconds",
        "database_replica_retry_seconds",
        "reuse_after_days",
        "sqlite_busy_timeout_ms",
        "import_batch_size",
        "redis_url",
        "rate_limit",
        "rate_limit_key",
        "rate_limit_chat",
        "rate_limit_channel",
        "rate_limit_postcode",
        "rate_limit_postcode_failures",
        "rate_limit_ipv6_prefix",
        "trusted_proxies",
        "max_body_bytes",
        "header_timeout_seconds",
        "keep_alive_seconds",
        "ingest_max_events",
        "cache_max_age",
        "cache_stale_while_revalidate",
        "cache_not_found_max_age",
        "keep_public_answers",
        "keep_item_pages",
        "notify_quiet_hours",
        "notify_timezone",
        "notify_max_age_hours",
        "notify_max_attempts",
        "notify_retry_seconds",
        "notify_lease_seconds",
        "notify_webhook_timeout_seconds",
        "notify_allow_private_urls",
        "smtp_host",
        "smtp_port",
        "smtp_security",
        "smtp_username",
        "smtp_password",
        "mail_from",
        "telegram_secret",
        "telegram_api_base",
        "wechat_aes_key",
        "wechat_app_id",
        "wechat_app_secret",
        "wechat_max_clock_skew_seconds",
        "wechat_api_base",
        "webpush_public_key",
        "webpush_private_key",
        "webpush_subject",
        "webpush_ttl_seconds",
        "app_sign_in_link_minutes",
        "app_session_days",
        "app_max_items",
        "app_mail_timeout_seconds",
    }
)
#: The settings naming files whose contents are on pages.
_FILES: Final = ("brand_file", "support_contacts_path")
#: The libraries whose output is on a page: templates, escaping, dates and country names, the
#: QR code, JSON.
_LIBRARIES: Final = ("jinja2", "markupsafe", "babel", "pycountry", "segno", "orjson")

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO: Final = timedelta(microseconds=1)


def _setting(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "set" if value.get_secret_value() else ""
    return repr(value)


def stamp_of(settings: Settings) -> str:
    """What a page kept under `settings` by this release was made with (32 characters)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(
        f"{emstrack.__version__}\x1f{FORMAT}\x1f{package_digest(None, _LIBRARIES)}".encode()
    )
    for name in sorted(Settings.model_fields):
        if name in NOT_ON_PAGES:
            continue
        digest.update(f"\x1f{name}={_setting(getattr(settings, name))}".encode())
        if name in _FILES and (path := str(getattr(settings, name))):
            file = Path(path)
            digest.update(file.read_bytes() if file.is_file() else b"(none)")
    return digest.hexdigest()


def _micros(instant: datetime) -> int:
    return (instant - _EPOCH) // _MICRO


class PageRender:
    """Draws a found number's kept pages in English and Chinese from its read-model document,
    with their relative times left as marks: the `store.pages` keeper's renderer."""

    def __init__(self, tracker: Tracker) -> None:
        self.tracker = tracker
        self.settings = tracker.settings
        self.stamp = stamp_of(tracker.settings)

    def __call__(self, number: str, document: str) -> tuple[bytes, bytes] | None:
        """The number's pages (English, Chinese) as kept, or None where its page is drawn at
        each request (not found, or a page this cannot keep)."""
        # Kept for the number as it is written: whatever it says of how the number was typed
        # (a domestic number without its check digit) is then the same for everyone.
        tn = self.tracker.parse(number, Scope.ANY)
        if not tn.valid or tn.number != number:
            return None
        result = self.tracker.result_of(tn, AnswerRow(0, "", document))
        if result.outcome is not Outcome.FOUND:
            return None
        en = self._page(result, "en")
        zh = self._page(result, "zh")
        return None if en is None or zh is None else (en, zh)

    def _page(self, result: TrackingResult, lang: Lang) -> bytes | None:
        seen = itemview.last_seen(result)
        state = result.state
        # After this instant the item would look stale and its page say so: drawn then.
        until = None
        if seen is not None and not (state and state.terminal):
            until = _micros(seen + timedelta(days=self.settings.stale_after_days))
        nonce = "".join(random.choices(string.ascii_letters, k=12))
        instants: list[int] = []

        def mark(instant: datetime) -> str:
            instants.append(_micros(instant))
            return f"\x00{nonce}{len(instants) - 1}\x00"

        path = f"/track/{result.number.number}"
        # Drawn at the newest scan's instant: never stale, and every relative time a mark.
        html = itempage.draw_item(result, lang, self.settings, path, path, now=seen, relative=mark)
        parts = re.split(f"\x00{nonce}(\\d+)\x00", html)
        texts = parts[0::2]
        holes = [instants[int(i)] for i in parts[1::2]]
        if "\x00" in "".join(texts) or {int(i) for i in parts[1::2]} != set(range(len(instants))):
            log.warning("the page of %s could not be kept: drawn at each request", result.number)
            return None
        # The instants and the stale limit first, then the page's texts between the marks.
        head = orjson.dumps({"f": FORMAT, "u": until, "h": holes})
        return zlib.compress(head + b"\n" + "\x00".join(texts).encode())


def fill(kept: bytes, lang: Lang, clock: datetime) -> str | None:
    """The kept page `kept` as drawn at `clock` (`caching.page_clock`): its relative times in
    `lang`; None when the item would look stale by then (the page says so: drawn)."""
    head, _, body = zlib.decompress(kept).partition(b"\n")
    doc = orjson.loads(head)
    if doc["f"] != FORMAT:
        return None
    now = _micros(clock)
    until = doc["u"]
    if until is not None and now > until:
        return None
    texts = body.decode().split("\x00")
    out = [texts[0]]
    for instant, text in zip(doc["h"], texts[1:], strict=True):
        out.append(_said(timedelta(microseconds=now - instant), lang))
        out.append(text)
    return "".join(out)


def _said(delta: timedelta, lang: Lang) -> str:
    """How long ago, escaped as the page's text."""
    said = i18n.ago(delta, lang)
    html = _ESCAPED.get(said)
    if html is None:
        html = str(escape(said))
        if len(_ESCAPED) < 65536:
            _ESCAPED[said] = html
    return html


_ESCAPED: dict[str, str] = {}


def install(tracker: Tracker, settings: Settings) -> PageRender | None:
    """The page renderer of a deploy with `settings`; None where kept pages are off."""
    return PageRender(tracker) if settings.keep_item_pages != "off" else None


def _make(render: PageRender, rows: list[tuple[str, int, str]]) -> list[pages.Made]:
    made: list[pages.Made] = []
    for number, version, document in rows:
        try:
            drawn = render(number, document)
        except Exception:  # a page that cannot be drawn here is drawn at each request
            log.exception("the pages of %s could not be made; they are drawn per request", number)
            made.append((number, version, render.stamp, None, None))
            continue
        en, zh = drawn if drawn is not None else (None, None)
        made.append((number, version, render.stamp, en, zh))
    return made


class Keeper:
    """Makes the pages of the rows the writers marked due (`store.pages`); several may run."""

    def __init__(self, db: Database, settings: Settings, batch: int = 100) -> None:
        self.db = db
        self.render = PageRender(Tracker(db, settings))
        self.batch = batch
        # Keepers started together begin at different numbers, so as not to draw the same.
        self._after = "".join(random.choices(string.ascii_uppercase, k=2))

    def run_once(self) -> int:
        """Make the pages of the next batch of due rows; how many rows were done."""
        with self.db.read() as unit:
            rows = pages.due(unit, self._after, self.batch)
        if len(rows) < self.batch:
            self._after = ""  # round again from the first number next time
        if not rows:
            return 0
        made = _make(self.render, rows)
        with self.db.write() as unit:
            pages.store(unit, made)
        if len(rows) == self.batch:
            self._after = rows[-1][0]
        return len(rows)

    def catch_up(self) -> int:
        """Make every page due now; how many rows were done."""
        done = 0
        self._after = ""
        while count := self.run_once():
            done += count
        return done

    def run(self, stop: threading.Event, idle_sleep: float = 1.0) -> None:
        """Make due pages until `stop` is set; wait `idle_sleep` seconds when none are due."""
        log.info("page keeper started")
        while not stop.is_set():
            try:
                done = self.run_once()
            except Exception:  # a database away for a moment must not end the keeper
                log.exception("page keeper: round failed; trying again")
                done = 0
            if done == 0:
                stop.wait(idle_sleep)
        log.info("page keeper stopped")


class Misses:
    """The numbers whose page a viewer asked for and got drawn, for want of a kept one of this
    deploy for the item's version: marked due on the primary (`store.pages.mark_due`) in one
    short write every `every` seconds, for the page keeper to draw. So with
    `keep_item_pages=viewed` the pages kept are those of items viewed since their last change
    (the first view after a change is drawn, the next ones are sent kept); with `all`, a page
    made by another release is made again as soon as it is viewed."""

    def __init__(self, db: Database, every: float = 0.5, limit: int = 10_000) -> None:
        self.db = db
        self.every = every
        self.limit = limit
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}

    def note(self, number: str, version: int) -> None:
        """A page of `number` at `version` was drawn for want of a kept one."""
        with self._lock:
            if len(self._pending) < self.limit:  # more than a flush's worth: the next views
                self._pending[number] = version

    def flush(self) -> int:
        """Mark the noted rows due now; how many were noted."""
        with self._lock:
            taken, self._pending = self._pending, {}
        if taken:
            with self.db.write() as unit:
                pages.mark_due(unit, sorted(taken.items()))
        return len(taken)

    def run(self, stop: threading.Event) -> None:
        """Flush every `every` seconds until `stop` is set, then once more."""
        while not stop.wait(self.every):
            self._flush_logged()
        self._flush_logged()

    def _flush_logged(self) -> None:
        try:
            self.flush()
        except Exception:  # a database away for a moment: those views will note them again
            log.exception("kept pages: the viewed pages could not be marked due")


@contextmanager
def misses_running(misses: Misses | None) -> Iterator[None]:
    """`misses` flushed by a thread of its own while the block runs (the app's lifespan)."""
    if misses is None:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(target=misses.run, args=(stop,), name="emstrack-misses")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def start_keeper_thread(settings: Settings) -> threading.Event | None:
    """A page keeper in a daemon thread of this process on a database of its own; the event
    that stops it. None where kept pages are off (`EMSTRACK_KEEP_ITEM_PAGES`)."""
    if settings.keep_item_pages == "off":
        return None
    stop = threading.Event()
    keeper = Keeper(Database.open(settings), settings)
    threading.Thread(target=keeper.run, args=(stop,), name="emstrack-pages", daemon=True).start()
    return stop


def remake(
    db: Database,
    render: PageRender,
    on_step: Callable[[int], None] | None = None,
    batch: int = 200,
    *,
    kept_only: bool = False,
) -> int:
    """Make the pages of every row that has none made with `render`'s stamp for its version
    (`kept_only`: of every row that has pages of another stamp or version), a transaction per
    `batch` rows; how many were made (`emstrack db refresh-answers`)."""
    done, after = 0, ""
    while True:
        with db.read() as unit:
            rows = pages.stale(unit, render.stamp, after, batch, kept_only=kept_only)
        if not rows:
            return done
        made = _make(render, rows)
        with db.write() as unit:
            pages.store(unit, made)
        done += len(rows)
        after = rows[-1][0]
        if on_step is not None:
            on_step(done)


def forget_all(db: Database, on_step: Callable[[int], None] | None = None) -> int:
    """Remove every kept page, in steps; how many numbers had some."""
    return steps(db, pages.forget, on_step)
