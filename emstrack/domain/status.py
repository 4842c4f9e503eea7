"""An item's state, derived from its events (docs/standards/events.md §3, §4, §5 rule 7).

The result depends only on the set of events, never on the order in which they arrived:

- Order. Events are ordered by when they happened. With a known offset that is `occurred_utc`.
  Without one there is no instant, yet a total order is needed, so the office's wall-clock time
  stands in for it on the same axis. This is an approximation (wrong by up to the office's
  offset against events whose offset is known) used only to order; it is never stored or shown
  as UTC. (docs/standards/events.md §5 rule 7 would keep the source's order here; that
  depends on arrival.)
  Events at the same moment are ordered by the journey: catalogue `rank` (EMA before EMC
  before EMI), codes outside the catalogue after every known code, then code, office code,
  office name, dedupe key, and finally the event's full repr so that no two different events
  compare equal.
- Status. The newest event whose status is known sets it; an unknown code is listed but does
  not replace it; only unknown codes give `unknown`; no events give `info_received`.
- Terminal. Once an item is delivered or terminated, a later non-terminal scan (a stray
  `EMH` after `EMI`) does not undo it; among terminal events the newest wins.
- Returns (docs/standards/events.md §3, "Return journeys"). An item is `returning` from the
  first event that turns it round: an `EMH`, `EME` or `EDX` whose action or reason says it goes
  back to the sender (`events.says_return`), or a scan in the country of origin after one
  abroad. That overrides a termination before it (`EDX` "refused, returned to sender" and then
  scans on the way back). A later `EMI` makes it `returned` (terminal), unless it was delivered
  in another country than the origin: then it is `delivered` after all. An `EMI` in the
  destination before any turn ends the journey: later scans do not start a return.
  A return that no scan announces: an `EMI` in the country of origin (or, where it has no
  country, at the office that accepted the item) after a customs hold (export customs at
  home, import customs abroad) makes the item `returned`, the hold its cause.
- Duplicates. Events with the same dedupe key are one event: the first ingested is kept and
  the others only fill its empty fields (`events.merge`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, reduce
from typing import Final

from emstrack.domain.events import (
    CATALOGUE,
    RETURN_CODES,
    TERMINAL,
    Event,
    Status,
    merge,
    says_return,
)

_UNKNOWN_RANK: Final = len(CATALOGUE) + 1


@dataclass(frozen=True, slots=True)
class ItemState:
    """What an item's events add up to."""

    status: Status
    detail: str | None  # catalogue detail: customs presented / held / released, termination kind
    event: Event | None  # the event that set the status
    latest: Event | None  # the newest event of all, possibly one with an unknown code
    delivered: bool
    terminal: bool
    cause: Event | None = None  # returning / returned: the event that turned the item round


_SortKey = tuple[datetime, int, str, str, str]


def sort_key(e: Event) -> _SortKey:
    """Oldest first: occurrence (UTC, or local wall time when the offset is unknown), journey.

    Two different events can share this key; `order_events` then breaks the tie by dedupe key
    and full value, which costs more and so is done only when needed.
    """
    when = e.occurred_local
    if e.utc_offset_min is not None:
        # Naive UTC, so that it compares with the naive wall times of offset-less events.
        when -= timedelta(minutes=e.utc_offset_min)
    entry = CATALOGUE.get(e.code)
    return (
        when,
        entry.rank if entry else _UNKNOWN_RANK,
        e.code,
        e.office_code or "",
        (e.office_name or "").casefold(),
    )


def _full_key(e: Event) -> tuple[_SortKey, str, str]:
    return sort_key(e), e.key, repr(e)


@cache
def _delta(offset_min: int) -> timedelta:
    return timedelta(minutes=offset_min)


def _instant(e: Event) -> tuple[datetime, int]:
    when = e.occurred_local
    if e.utc_offset_min is not None:
        when -= _delta(e.utc_offset_min)
    entry = CATALOGUE.get(e.code)
    return when, entry.rank if entry else _UNKNOWN_RANK


def order_events(events: Iterable[Event]) -> list[Event]:
    """Newest first. Does not merge duplicates: see `dedupe`."""
    # The usual case, every event at its own instant and journey step, sorts on the short key;
    # the rest on the full one.
    keyed = [(_instant(e), e) for e in events]
    if len({key for key, _ in keyed}) < len(keyed):
        return sorted((e for _, e in keyed), key=_full_key, reverse=True)
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [e for _, e in keyed]


def _ingest_order(e: Event) -> tuple[tuple[int, datetime] | tuple[int], str]:
    # Events without an ingest time (built in code, not stored yet) count as ingested last.
    return ((0, e.ingested_at) if e.ingested_at else (1,)), repr(e)


def dedupe(events: Iterable[Event]) -> list[Event]:
    """One event per dedupe key, newest first; the first ingested is kept, the rest add detail."""
    groups: dict[str, list[Event]] = {}
    for e in events:
        groups.setdefault(e.key, []).append(e)
    merged = (reduce(merge, sorted(group, key=_ingest_order)) for group in groups.values())
    return order_events(merged)


def derive(events: Iterable[Event]) -> ItemState:
    """The item's state; with no events, `info_received` (whether the item exists is not ours)."""
    return state_of(dedupe(events))


#: What the return rules read of an event: code, country, office code, office name, reason and
#: action text.
Facts = tuple[str, str | None, str | None, str | None, str | None, str | None]

#: Customs holds as the catalogue marks them (detail "held"): export customs (`EXB`) and import
#: customs (`EME`). A delivery in the origin after one is a return (docs/standards/events.md §3).
_EXPORT_HOLDS: Final = frozenset(
    c for c, e in CATALOGUE.items() if e.status is Status.CUSTOMS_EXPORT and e.detail == "held"
)
_IMPORT_HOLDS: Final = frozenset(
    c for c, e in CATALOGUE.items() if e.status is Status.CUSTOMS_IMPORT and e.detail == "held"
)


def _country(country: str | None, office_code: str | None) -> str | None:
    if country:
        return country
    if office_code and office_code[:2].isalpha():
        return office_code[:2].upper()
    return None


def _offices(code: str | None, name: str | None) -> set[tuple[str, str]]:
    """An office's identities: its code, its name (trimmed, case-folded)."""
    found = set()
    if code and code.strip():
        found.add(("code", code.strip().upper()))
    if name and name.strip():
        found.add(("name", " ".join(name.split()).casefold()))
    return found


def return_journey(facts: Sequence[Facts]) -> tuple[int, int | None] | None:
    """Where a return began and the `EMI` that ended it, as indexes into `facts` (oldest first);
    None when the item was never turned round. Shared with `emstrack.lookup.fastpath`."""
    origin: str | None = None
    abroad = False
    start: int | None = None
    # The latest customs hold (export customs at home, import customs abroad): a delivery in
    # the origin after it is a return that no scan announced.
    hold: int | None = None
    posting: set[tuple[str, str]] = set()  # the offices that accepted the item
    for i, (code, country, office, name, reason, action) in enumerate(facts):
        if code not in CATALOGUE:
            continue
        where = _country(country, office)
        if code == "EMA":
            posting |= _offices(office, name)
        if start is None:
            if where is not None:
                if origin is None:
                    origin = where
                elif where != origin:
                    abroad = True
                elif abroad:
                    start = i  # back in the country of origin
            if start is None and code in RETURN_CODES and says_return(action, reason):
                start = i
            # A hold counts only where the origin is known: a feed that starts abroad must not
            # make the destination its origin.
            if origin is not None and (
                (code in _EXPORT_HOLDS and where in (None, origin))
                or (code in _IMPORT_HOLDS and where is not None and where != origin)
            ):
                hold = i
        if code == "EMI":
            if start is not None and (where is None or where == origin):
                return start, i
            if hold is not None and (
                where == origin
                or (where is None and not posting.isdisjoint(_offices(office, name)))
            ):
                return hold, i  # delivered back home after customs held it
            return None  # delivered where it was going: a later scan is a stray one
    return None if start is None else (start, None)


def _facts(e: Event) -> Facts:
    return e.code, e.country, e.office_code, e.office_name, e.reason_text, e.action_text


def state_of(history: list[Event]) -> ItemState:
    """The state of a history that is already de-duplicated and ordered newest first."""
    turn = return_journey([_facts(e) for e in reversed(history)])
    if turn is not None:
        start, end = turn
        last = len(history) - 1
        cause = history[last - start]
        if end is not None:
            event: Event | None = history[last - end]
            status = Status.RETURNED
        else:
            event = next(e for e in history if e.code in CATALOGUE)
            status = Status.RETURNING
        return ItemState(
            status=status,
            detail=None,
            event=event,
            latest=history[0],
            delivered=False,
            terminal=status in TERMINAL,
            cause=cause,
        )
    event = None  # the newest known event, unless a terminal one exists
    entry = None
    for e in history:
        found = CATALOGUE.get(e.code)
        if found is None:
            continue
        if found.status in TERMINAL:
            event, entry = e, found
            break
        if event is None:
            event, entry = e, found
    if entry is not None:
        status = entry.status
    else:
        status = Status.UNKNOWN if history else Status.INFO_RECEIVED
    return ItemState(
        status=status,
        detail=entry.detail if entry else None,
        event=event,
        latest=history[0] if history else None,
        delivered=status is Status.DELIVERED,
        terminal=status in TERMINAL,
    )
