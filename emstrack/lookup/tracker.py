"""The `Tracker`: answers lookups against one database.

A valid number costs one read by primary key of the read model (`store.answers`) on the
database's raw reader (`Database.raw_reader`: on a SQLite file this thread's own connection, no
pool checkout); a public caller's answer of a found item is the one the writer kept there when
it was made by this release (`lookup.bodies`), else it is made from the row's documents. An
invalid number is diagnosed, its "did you mean" candidates checked against the records as far as
the caller's allowance goes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.domain.lang import Lang
from emstrack.domain.problems import Problem, Severity
from emstrack.domain.status import order_events, state_of
from emstrack.domain.tracking_number import NumberKind, Scope, TrackingNumber
from emstrack.errors import DatabaseUnavailable
from emstrack.lookup.bodies import install, plain, stamp_of
from emstrack.lookup.fastpath import found_document
from emstrack.lookup.model import Answer, Outcome, TrackingResult, split_current, utc_text
from emstrack.store.aio import AsyncUnavailable
from emstrack.store.answers import AnswerRow, answer_row
from emstrack.store.database import Database, Unit
from emstrack.store.events import events_from_rows
from emstrack.store.items import conflicts_of, known_numbers

#: What a number's read found: its row of the read model (`store.answers`; None: no item); or,
#: for an invalid number, the finished answer.
_Read = AnswerRow | TrackingResult | None


def _rows(driver: Any, paramstyle: str, number: str, want: str) -> _Read:
    """The number's one read by primary key in the read model."""
    return answer_row(driver, paramstyle, number, want)


def _want(lang: Lang, private: bool) -> str:
    """What an answer's read takes (`store.answers.WANTS`): the kept answer in the language
    of a public one; the rows alone for a private one."""
    return "rows" if private else lang


#: Called with how many "did you mean" candidates of an invalid number would be checked against
#: the records; answers how many may be (each check tells whether a number exists, so a caller's
#: rate limit pays for them: see `emstrack.web.deps.allowance`).
Allowance = Callable[[int], int]


class Tracker:
    """Answers lookups against one database."""

    #: Its lookups may read from a read replica (public lookups only: see `reading`).
    replica_ok = False

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        #: Reads are in-process and never wait on a lock (SQLite in WAL mode).
        self.local_reads = db.local_reads
        #: The database's writers keep the public answers (`lookup.bodies`); those made with
        #: this stamp are this tracker's own.
        install(db, settings)
        self.stamp = stamp_of(settings)

    def reading(self, db: Database, *, replica_ok: bool) -> Tracker:
        """This tracker on `db` (the same database, as `Database.written_by` hands it), its
        lookups' reads on a replica where `replica_ok` (`Database.read`), else on the primary."""
        other = copy.copy(self)
        other.db = db
        other.replica_ok = replica_ok
        return other

    def parse(self, raw: str, scope: Scope = Scope.ANY) -> TrackingNumber:
        return s10.parse(
            raw,
            scope=scope,
            strict=self.settings.strict_countries,
            home_country=self.settings.home_country,
        )

    def lookup(
        self, raw: str, scope: Scope = Scope.ANY, *, allowance: Allowance | None = None
    ) -> TrackingResult:
        """Answer one tracking number, as typed by a person."""
        ((tn, read),) = self._read((raw,), scope, allowance)
        return self._result(tn, read)

    def lookup_many(
        self, raws: Sequence[str], scope: Scope = Scope.ANY, *, allowance: Allowance | None = None
    ) -> list[TrackingResult]:
        """Answer several numbers, in the order given."""
        return [self._result(tn, read) for tn, read in self._read(raws, scope, allowance)]

    def answer(
        self,
        raw: str,
        scope: Scope = Scope.ANY,
        lang: Lang = "en",
        *,
        private: bool = False,
        allowance: Allowance | None = None,
        unchanged: Callable[[str], bool] | None = None,
    ) -> Answer:
        """`lookup(raw, scope).to_dict(lang, private=private)`, the same bytes, made faster.

        A found item's answer is built straight from the driver's rows (`fastpath`), without
        an `Event` per row; the rare history with two events at the same instant and journey
        step (whose order needs `order_events`' full key) takes the general path. When
        `unchanged(version)` says the caller holds the found item's answer of that version
        already (an HTTP `If-None-Match`), the answer is not built: `Answer.unchanged`.
        """
        ((tn, read),) = self._read((raw,), scope, allowance, _want(lang, private))
        return self._answer_read(tn, read, lang, private, unchanged)

    async def answer_async(
        self,
        raw: str,
        scope: Scope = Scope.ANY,
        lang: Lang = "en",
        *,
        private: bool = False,
        unchanged: Callable[[str], bool] | None = None,
    ) -> Answer | None:
        """`answer`, the same bytes, its read on the event loop: PostgreSQL's async pool
        (`Database.async_reads`, open while the app runs), a replica where this tracker may
        read one. None where that read does not apply (no async pool: SQLite, or the app's
        lifespan did not open it; an invalid number, whose "did you mean" checks read through
        the database's units of work; the async pool failing or standing aside after a
        failure, `store.aio`): then call `answer`.
        """
        found = await self._read_async(raw, scope, _want(lang, private))
        if found is None:
            return None
        tn, read = found
        return self._answer_read(tn, read, lang, private, unchanged)

    async def lookup_async(self, raw: str, scope: Scope = Scope.ANY) -> TrackingResult | None:
        """`lookup`, its read on the event loop where `answer_async`'s applies; else None."""
        found = await self._read_async(raw, scope)
        return None if found is None else self._result(*found)

    async def _read_async(
        self, raw: str, scope: Scope, want: str = "rows"
    ) -> tuple[TrackingNumber, _Read] | None:
        found = await self._read_many_async((raw,), scope, want)
        return None if found is None else found[0]

    async def _read_many_async(
        self, raws: Sequence[str], scope: Scope, want: str
    ) -> list[tuple[TrackingNumber, _Read]] | None:
        """The reads of `raws` on the event loop, on one connection; None where that does not
        apply (no async pool, or it stands aside; an invalid number among them)."""
        reads = self.db.async_reads
        if reads is None or not reads.usable:
            return None
        tns = [self.parse(raw, scope) for raw in raws]
        if not all(tn.valid for tn in tns):
            return None
        try:
            rows = await reads.answer_rows(
                [tn.number for tn in tns], replica_ok=self.replica_ok, want=want
            )
        except AsyncUnavailable:
            return None  # the pool failed: through the units of work, which answer or say why
        return list(zip(tns, rows, strict=True))

    async def answer_many_async(
        self,
        raws: Sequence[str],
        scope: Scope = Scope.ANY,
        lang: Lang = "en",
        *,
        private: bool = False,
    ) -> list[Answer] | None:
        """`answer_many`, the same bytes, its reads on the event loop where `answer_async`'s
        read applies to every number (all valid: an invalid one's "did you mean" checks, paid
        for by the caller's allowance, read through the units of work); else None."""
        found = await self._read_many_async(raws, scope, _want(lang, private))
        if found is None:
            return None
        return [self._answer_read(tn, read, lang, private, None) for tn, read in found]

    def answer_many(
        self,
        raws: Sequence[str],
        scope: Scope = Scope.ANY,
        lang: Lang = "en",
        *,
        private: bool = False,
        allowance: Allowance | None = None,
    ) -> list[Answer]:
        """`answer` for several numbers, in the order given."""
        read = self._read(raws, scope, allowance, _want(lang, private))
        return [self._answer_read(tn, found, lang, private, None) for tn, found in read]

    def read(
        self,
        raw: str,
        scope: Scope = Scope.ANY,
        want: str = "rows",
        *,
        allowance: Allowance | None = None,
    ) -> tuple[TrackingNumber, _Read]:
        """One number's read (`store.answers.WANTS`: with a kept page, `want="page_en"`), for
        a caller that decides what to make of it (`result_of`): the item page's route."""
        ((tn, read),) = self._read((raw,), scope, allowance, want)
        return tn, read

    async def read_async(
        self, raw: str, scope: Scope = Scope.ANY, want: str = "rows"
    ) -> tuple[TrackingNumber, _Read] | None:
        """`read` on the event loop where `answer_async`'s read applies; else None."""
        return await self._read_async(raw, scope, want)

    def result_of(self, tn: TrackingNumber, read: _Read) -> TrackingResult:
        """The result of what `read` found for `tn` (as `lookup` makes it)."""
        return self._result(tn, read)

    def conflicts(self, number: str, generation: int) -> list[dict[str, Any]]:
        """For operators: the item's attribute values that disagreed with the kept ones."""
        with self.db.read() as unit:
            found = conflicts_of(unit, number, generation)
        return [
            {
                "field": c.field,
                "value": c.value,
                "source": c.source,
                "first_seen_at": utc_text(c.first_seen_at),
            }
            for c in found
        ]

    def _read(
        self,
        raws: Sequence[str],
        scope: Scope,
        allowance: Allowance | None = None,
        want: str = "rows",
    ) -> list[tuple[TrackingNumber, _Read]]:
        tns = [self.parse(raw, scope) for raw in raws]
        try:
            return self._read_once(tns, allowance, want)
        except DatabaseUnavailable:
            # Once more: pooled connections are not checked before use, and one found dead is
            # dropped (`Database.raw_reader`); a database really down fails again.
            return self._read_once(tns, allowance, want)

    def _read_once(
        self, tns: list[TrackingNumber], allowance: Allowance | None, want: str
    ) -> list[tuple[TrackingNumber, _Read]]:
        if all(tn.valid for tn in tns):  # the usual case, and the hot path
            with self.db.raw_reader(replica_ok=self.replica_ok) as driver:
                paramstyle = self.db.paramstyle
                return [(tn, _rows(driver, paramstyle, tn.number, want)) for tn in tns]
        # The invalid numbers first, in the order given: their candidates are checked against
        # the records (and paid for by the allowance).
        with self.db.read(replica_ok=self.replica_ok) as unit:
            found: dict[int, _Read] = {
                i: self._invalid(unit, tn, allowance) for i, tn in enumerate(tns) if not tn.valid
            }
        if len(found) < len(tns):
            with self.db.raw_reader(replica_ok=self.replica_ok) as driver:
                paramstyle = self.db.paramstyle
                for i, tn in enumerate(tns):
                    if tn.valid:
                        found[i] = _rows(driver, paramstyle, tn.number, want)
        return [(tn, found[i]) for i, tn in enumerate(tns)]

    def _answer_read(
        self,
        tn: TrackingNumber,
        read: _Read,
        lang: Lang,
        private: bool,
        unchanged: Callable[[str], bool] | None,
    ) -> Answer:
        """The answer of what `_read` found: not built when the caller holds its version; the
        kept public answer where there is one of this tracker's stamp; else made."""
        if isinstance(read, AnswerRow):
            version = read.validator
            if unchanged is not None and unchanged(version):
                return Answer(tn, Outcome.FOUND, None, {}, version, unchanged=True)
            if not private and plain(tn):
                kept = read.public(lang, self.stamp)
                if kept is not None:
                    return Answer(tn, Outcome.FOUND, None, {}, version, kept=kept)
        return self._answer(tn, read, lang, private)

    def _result(self, tn: TrackingNumber, read: _Read) -> TrackingResult:
        if isinstance(read, TrackingResult):
            return read
        if read is None:
            return self._not_found(tn)
        item_rows, rows = read.rows()
        version = read.validator
        if not item_rows:
            return self._not_found(tn)
        current, earlier = split_current(item_rows)
        events = order_events(events_from_rows(rows))
        # Stored events are unique per item (the dedupe key is part of the primary key).
        return TrackingResult(
            tn,
            Outcome.FOUND,
            current,
            events,
            state_of(events),
            earlier_items=earlier,
            version=version,
        )

    def _answer(self, tn: TrackingNumber, read: _Read, lang: Lang, private: bool) -> Answer:
        if isinstance(read, AnswerRow):
            item_rows, rows = read.rows()
            if item_rows:
                body = found_document(tn, item_rows, rows, lang, private)
                if body is not None:
                    return Answer(tn, Outcome.FOUND, None, body, read.validator)
        result = self._result(tn, read)
        body = result.to_dict(lang, private=private)
        return Answer(result.number, result.outcome, result.diagnosis, body, result.version)

    def _invalid(
        self, unit: Unit, tn: TrackingNumber, allowance: Allowance | None
    ) -> TrackingResult:
        candidates = s10.lookup_candidates(tn)
        if candidates and allowance is not None:
            # Those left unchecked are dropped by `with_known` like guesses not on record.
            candidates = candidates[: allowance(len(candidates))]
        known = known_numbers(unit, candidates) if candidates else set()
        tn = tn.with_known(known)
        errors = [p for p in tn.problems if p.severity == Severity.ERROR]
        message = " ".join(p.message for p in errors)
        on_record = [s for s in tn.suggestions if s.on_record]
        if on_record:
            message += f" Did you mean {on_record[0].number}? We have an item with that number."
        diagnosis = Problem("invalid", message.strip(), part="number")
        return TrackingResult(tn, Outcome.INVALID, diagnosis=diagnosis)

    def _not_found(self, tn: TrackingNumber) -> TrackingResult:
        hours = self.settings.first_scan_grace_hours
        if tn.kind == NumberKind.DOMESTIC and tn.service != "domestic_ems":
            diagnosis = Problem(
                "unknown",
                f"We have no record of {tn.formatted}. Numbers of 13 digits with this prefix "
                "are not known EMS numbers: it may belong to another carrier.",
                Severity.INFO,
                part="number",
            )
            return TrackingResult(tn, Outcome.UNKNOWN, diagnosis=diagnosis)
        what = tn.explanation("en").rstrip(".")
        diagnosis = Problem(
            "not_found_yet",
            f"{tn.formatted} is a valid number ({what}), but it has no scan yet. The first scan "
            f"usually appears 24–{hours} hours after the item is posted. Please try again later; "
            f"if there is still nothing {hours} hours after posting, ask the sender to check the "
            "number.",
            Severity.INFO,
            part="number",
            extra={"grace_hours": hours},
        )
        return TrackingResult(tn, Outcome.NOT_FOUND_YET, diagnosis=diagnosis)
