"""The public answers the read model keeps (`store.answers`): made by the writers, sent by the
lookup.

A found item's public JSON answer depends on its rows, the language, and nothing of the request
when the number as typed carries no notes (no problem, no suggestion shown): then it is the same
bytes for everyone who asks, until the item's next scan. So the writer makes it once per change,
in English and Chinese, with the lookup's own code (`PublicBodies`, handed to the store through
`Database.render_answers` by `install`), and the lookup of a public caller sends the kept bytes
instead of making them again (`Tracker.answer`).

`EMSTRACK_KEEP_PUBLIC_ANSWERS=false` turns this off: the writers keep none (and
`emstrack db refresh-answers` removes the kept ones); lookups make every answer.

`stamp_of` names what the bytes were made with: this release and its code and data (the
package's `domain`, `lookup`, `text` and `store` modules, its data files and catalogues), the
libraries that write country names and JSON, and the settings that change an answer (the home
country, strict countries). A lookup sends kept bytes only when their stamp is its own: after an
upgrade or such a change of settings, answers are made from the rows again (as fast as before
the kept bytes, never wrong) until `emstrack db refresh-answers` or the next scan remakes them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from importlib import metadata, resources
from pathlib import Path

import orjson

import emstrack
from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.domain.tracking_number import Scope, TrackingNumber
from emstrack.lookup.fastpath import found_document
from emstrack.store.answers import FORMAT, AnswerRow, Bodies, forget, rerender
from emstrack.store.database import Database, Unit

#: The parts of the package an answer's bytes are made by.
_PARTS = ("domain", "lookup", "text", "store", "data", "locale")
#: The libraries whose output is in an answer: country names, JSON.
_LIBRARIES = ("pycountry", "babel", "orjson")


@cache
def package_digest(parts: tuple[str, ...] | None, libraries: tuple[str, ...]) -> str:
    """A digest of the files of the package's `parts` (all of it: None) and of the versions of
    `libraries`: what made a kept answer's or page's bytes (`stamp_of`, `web.keptpages`)."""
    digest = hashlib.blake2b(digest_size=16)
    root = Path(str(resources.files("emstrack")))
    for part in parts or ("",):
        for path in sorted((root / part).rglob("*")):
            if path.is_file() and path.suffix not in (".pyc", ".pyo"):
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    for name in libraries:
        digest.update(f"{name}={metadata.version(name)}".encode())
    return digest.hexdigest()


def stamp_of(settings: Settings) -> str:
    """What a kept answer made under `settings` by this release was made with (32 characters)."""
    digest = hashlib.blake2b(digest_size=16)
    for part in (
        emstrack.__version__,
        str(FORMAT),
        package_digest(_PARTS, _LIBRARIES),
        settings.home_country or "",
        str(settings.strict_countries),
    ):
        digest.update(part.encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


def plain(tn: TrackingNumber) -> bool:
    """The number's answer says nothing of how it was typed: no problem, no suggestion shown
    (`model.document`), so a kept answer of its number is its answer."""
    if tn.problems:
        return False
    return not any(s.on_record or not s.needs_record for s in tn.suggestions)


class PublicBodies:
    """The `store.answers.Render` of the lookup: a found number's public answers in English and
    Chinese, made from its read-model document exactly as a lookup makes them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stamp = stamp_of(settings)

    def __call__(self, number: str, document: str) -> Bodies:
        tn = s10.parse(
            number,
            scope=Scope.ANY,
            strict=self.settings.strict_countries,
            home_country=self.settings.home_country,
        )
        if not tn.valid or tn.number != number or not plain(tn):
            return self.stamp, None, None  # its answer carries notes: made at each lookup
        # Read back as the lookup reads the row, so the bytes are those it would make.
        items, rows = AnswerRow(0, "", document).rows()
        if not items:
            return self.stamp, None, None
        made = []
        for lang in ("en", "zh"):
            body = found_document(tn, items, rows, lang, private=False)
            if body is None:
                return self.stamp, None, None  # two events at one instant and step: the
                # general path orders them, at each lookup
            made.append(orjson.dumps(body).decode())
        return self.stamp, made[0], made[1]


def install(db: Database, settings: Settings) -> PublicBodies | None:
    """Have `db`'s writers keep the public answers made under `settings` (the database's own
    renderer where one is set already); none where `keep_public_answers` is off. And mark the
    rows they write due for their kept item pages where `keep_item_pages` is `all` (`viewed`:
    the page's route marks a row due when it draws a viewed page, `web.keptpages`)."""
    db.pages_due = settings.keep_item_pages == "all"
    if not settings.keep_public_answers:
        db.render_answers = None
        return None
    if not isinstance(db.render_answers, PublicBodies):
        db.render_answers = PublicBodies(settings)
    return db.render_answers


def remake(
    db: Database,
    render: PublicBodies,
    on_step: Callable[[int], None] | None = None,
    batch: int = 500,
) -> int:
    """Make the public answers of every number that has none made with `render`'s stamp, a
    transaction per `batch` numbers (writers go on meanwhile); how many were made. `on_step`
    is told the count after each step. `emstrack db refresh-answers`."""
    return steps(db, lambda conn, after: rerender(conn, render, after, batch), on_step)


def forget_all(db: Database, on_step: Callable[[int], None] | None = None) -> int:
    """Remove every kept public answer, in steps as `remake`; how many numbers had some."""
    return steps(db, forget, on_step)


def steps(
    db: Database,
    step: Callable[[Unit, str], tuple[int, str | None]],
    on_step: Callable[[int], None] | None,
) -> int:
    """Run `step(conn, after)` in a write transaction of its own, from the first number on,
    until it says none were left ((count, last number or None)); the total count. `on_step`
    is told the running total after each step."""
    done, after = 0, ""
    while True:
        with db.write() as conn:
            count, last = step(conn, after)
        done += count
        if on_step is not None:
            on_step(done)
        if last is None:
            return done
        after = last
