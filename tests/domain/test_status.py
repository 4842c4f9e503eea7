"""An item's state from its events: order, status, terminal, duplicates.

docs/standards/events.md §3-§5.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emstrack.domain.events import CATALOGUE, TERMINAL, Event, Status
from emstrack.domain.status import ItemState, dedupe, derive, order_events, sort_key

D = datetime
_INGEST = D(2024, 3, 8, 9, 0, tzinfo=UTC)


def _cn(code: str, local: datetime, office: str = "CNBJSD", **kw: Any) -> Event:
    return Event(code, local, 480, office_code=office, country="CN", **kw)


def _de(code: str, local: datetime, office: str | None = "DEFRAA", **kw: Any) -> Event:
    return Event(code, local, 60, office_code=office, country="DE", **kw)


# An EMS item from Beijing to Berlin, oldest first, each scan in its office's local time.
CN_DE = [
    _cn("EMA", D(2024, 3, 1, 10, 20), office="", office_name="Beijing Chaoyang 100020"),
    _cn("EMB", D(2024, 3, 1, 18, 40)),
    _cn("EMC", D(2024, 3, 2, 2, 15), next_office_code="DEFRAA"),
    _de("EMD", D(2024, 3, 3, 14, 5)),
    _de("EDB", D(2024, 3, 3, 16, 30)),
    _de("EME", D(2024, 3, 4, 9, 0), retention_text="Invoice missing"),
    _de("EDC", D(2024, 3, 5, 11, 20)),
    _de("EMF", D(2024, 3, 5, 18, 0)),
    _de("EMG", D(2024, 3, 6, 7, 30), office=None, office_name="Zustellbasis Berlin 10115"),
    _de("EDG", D(2024, 3, 6, 8, 10), office=None, office_name="Zustellbasis Berlin 10115"),
    _de(
        "EMH",
        D(2024, 3, 6, 13, 45),
        office=None,
        office_name="Zustellbasis Berlin 10115",
        reason_text="Addressee absent",
        action_text="Notice left, collect at post office",
    ),
    _de("EMI", D(2024, 3, 7, 10, 5), office=None, office_name="Filiale 101", signatory="K."),
]


@pytest.mark.parametrize(
    ("scans", "status", "detail"),
    [
        (1, Status.ACCEPTED, None),
        (3, Status.IN_TRANSIT, None),
        (4, Status.IN_TRANSIT, None),
        (5, Status.CUSTOMS_IMPORT, "presented"),
        (6, Status.CUSTOMS_IMPORT, "held"),
        (7, Status.CUSTOMS_IMPORT, "released"),
        (8, Status.IN_TRANSIT, None),
        (10, Status.OUT_FOR_DELIVERY, None),
        (11, Status.DELIVERY_FAILED, None),
        (12, Status.DELIVERED, None),
    ],
)
def test_status_along_the_journey(scans: int, status: Status, detail: str | None) -> None:
    history = CN_DE[:scans]
    state = derive(history)
    assert (state.status, state.detail) == (status, detail)
    assert state.event is state.latest is history[-1]
    assert state.delivered is (status is Status.DELIVERED)
    assert state.terminal is (status is Status.DELIVERED)


def test_no_events_means_info_received() -> None:
    assert derive([]) == ItemState(Status.INFO_RECEIVED, None, None, None, False, False)


def test_history_is_newest_first_whatever_the_arrival_order() -> None:
    arrived = [CN_DE[i] for i in (3, 0, 11, 5, 1, 7, 2, 10, 4, 9, 6, 8)]
    assert order_events(arrived) == CN_DE[::-1]
    assert derive(arrived) == derive(CN_DE)


def test_a_late_earlier_scan_changes_nothing() -> None:
    before = derive(CN_DE[:6])
    assert derive([*CN_DE[:6], CN_DE[1]]).status is before.status
    assert derive([*CN_DE[:4], *CN_DE[5:6], CN_DE[4]]) == before  # EDB arrives after EME


def test_offsets_decide_order_not_wall_clocks() -> None:
    # 16:00 in Frankfurt (15:00Z) is after 22:00 in Beijing (14:00Z) the same day.
    beijing = _cn("EMC", D(2024, 3, 2, 22, 0))
    frankfurt = _de("EMD", D(2024, 3, 2, 16, 0))
    assert order_events([frankfurt, beijing]) == [frankfurt, beijing]
    # And one hour earlier in Frankfurt (14:30Z) is before 22:45 in Beijing (14:45Z).
    frankfurt_early = _de("EMD", D(2024, 3, 2, 15, 30))
    beijing_late = _cn("EMC", D(2024, 3, 2, 22, 45))
    assert order_events([frankfurt_early, beijing_late]) == [beijing_late, frankfurt_early]


def test_mixed_known_and_unknown_offsets() -> None:
    # A US transit scan has no single offset; its wall time stands in for the instant.
    emc = _cn("EMC", D(2024, 3, 2, 2, 15))  # 2024-03-01 18:15Z
    emj = Event("EMJ", D(2024, 3, 2, 6, 0), None, office_code="USJFKA", country="US")
    emk = Event("EMK", D(2024, 3, 2, 11, 0), None, office_code="USJFKA", country="US")
    emd = _de("EMD", D(2024, 3, 3, 14, 5))
    assert order_events([emd, emk, emc, emj]) == [emd, emk, emj, emc]
    assert derive([emk, emd, emj, emc]).event == emd


@pytest.mark.parametrize(
    ("first", "second", "newest"),
    [
        ("EMD", "EDB", "EDB"),  # same minute: journey order
        ("EMA", "EMC", "EMC"),
        ("EMH", "EMI", "EMI"),
        ("EMI", "EML", "EML"),  # unknown codes after known ones at the same moment
    ],
)
def test_same_moment_follows_the_journey(first: str, second: str, newest: str) -> None:
    at = D(2024, 3, 3, 14, 5)
    a, b = _de(first, at), _de(second, at)
    assert order_events([a, b])[0].code == newest
    assert order_events([b, a])[0].code == newest


@pytest.mark.parametrize("code", ["EML", "EMX", "ZZZ"])
def test_unknown_code_is_listed_but_does_not_set_status(code: str) -> None:
    stray = _de(code, D(2024, 3, 4, 12, 0), description="Sendung bearbeitet")
    state = derive([*CN_DE[:4], stray])
    assert state.status is Status.IN_TRANSIT
    assert state.event == CN_DE[3]
    assert state.latest == stray


def test_only_unknown_codes_give_unknown() -> None:
    state = derive([_de("EML", D(2024, 3, 7, 10, 5)), _de("EMX", D(2024, 3, 6, 8, 0))])
    assert (state.status, state.event, state.terminal) == (Status.UNKNOWN, None, False)
    assert state.latest is not None
    assert state.latest.code == "EML"


def test_delivered_is_not_undone_by_a_later_scan() -> None:
    stray = _de("EMH", D(2024, 3, 8, 9, 0), office=None, office_name="Filiale 101")
    state = derive([*CN_DE, stray])
    assert state.status is Status.DELIVERED
    assert state.delivered
    assert state.terminal
    assert state.event == CN_DE[-1]
    assert state.latest == stray


@pytest.mark.parametrize(
    ("codes", "status", "detail"),
    [
        (["EMA", "EXA", "EXB", "EXX"], Status.TERMINATED, "export_cancelled"),
        (["EMA", "EXX", "EMC"], Status.TERMINATED, "export_cancelled"),
        (["EMD", "EME", "EDX"], Status.TERMINATED, "import_terminated"),
        (["EMD", "EDX", "EDG", "EMH"], Status.TERMINATED, "import_terminated"),
        # Among terminal events the newest wins: e.g. released after all and delivered.
        (["EMD", "EDX", "EMI"], Status.DELIVERED, None),
        (["EMI", "EDX"], Status.TERMINATED, "import_terminated"),
    ],
)
def test_terminal_events(codes: list[str], status: Status, detail: str | None) -> None:
    start = D(2024, 3, 3, 8, 0)
    events = [_de(c, start + timedelta(hours=i)) for i, c in enumerate(codes)]
    state = derive(reversed(events))
    assert (state.status, state.detail, state.terminal) == (status, detail, True)


def test_duplicate_with_more_detail_is_merged() -> None:
    stored = replace(CN_DE[10], action_text=None, ingested_at=_INGEST)
    # The same attempt, reported again to the second by another feed with its reason code.
    again = replace(
        CN_DE[10],
        occurred_local=CN_DE[10].occurred_local + timedelta(seconds=30),
        reason_code="21",
        reason_text="Empfänger nicht angetroffen",
        source="dhl-feed",
        ingested_at=_INGEST + timedelta(hours=2),
    )
    for arrived in ([stored, again], [again, stored]):
        (merged,) = dedupe(arrived)
        assert merged.occurred_local == stored.occurred_local  # first ingested is kept
        assert merged.reason_text == "Addressee absent"
        assert merged.reason_code == "21"
        assert merged.action_text == "Notice left, collect at post office"  # filled in
        assert merged.source == "dhl-feed"
        assert derive([*CN_DE[:10], *arrived]).event == merged


def test_dedupe_keeps_distinct_events() -> None:
    assert dedupe(CN_DE) == CN_DE[::-1]
    assert dedupe([*CN_DE, *CN_DE]) == CN_DE[::-1]


def test_sort_key_is_oldest_first() -> None:
    assert sorted([CN_DE[i] for i in (5, 11, 0, 8, 2, 1, 10, 3, 9, 4, 7, 6)], key=sort_key) == CN_DE


# --- properties ----------------------------------------------------------------------------

_CODES = [*CATALOGUE, "EML", "EMX"]
_PLACES = [("CNBJSD", "CN", 480), ("DEFRAA", "DE", 60), ("USJFKA", "US", None), (None, "DE", 120)]


@st.composite
def _events(draw: st.DrawFn) -> Event:
    office, country, offset = draw(st.sampled_from(_PLACES))
    return Event(
        code=draw(st.sampled_from(_CODES)),
        # Few distinct minutes, so that ties and duplicates are common.
        occurred_local=D(2024, 3, 1) + timedelta(minutes=draw(st.integers(0, 40)) * 30),
        utc_offset_min=offset,
        office_code=office,
        office_name=None if office else draw(st.sampled_from(["Filiale 101", "filiale 101 "])),
        country=country,
        ingested_at=_INGEST + timedelta(minutes=draw(st.integers(0, 3))),
    )


@st.composite
def _arrivals(draw: st.DrawFn) -> tuple[list[Event], list[Event]]:
    """A history, and the same history as it might arrive: shuffled, with repeats."""
    history = draw(st.lists(_events(), max_size=12))
    repeats = [
        replace(e, reason_text=draw(st.sampled_from([None, "Addressee absent"])), source="again")
        for e in draw(st.lists(st.sampled_from(history), max_size=4) if history else st.just([]))
    ]
    return [*history, *repeats], draw(st.permutations([*history, *repeats]))


@given(_arrivals())
def test_arrival_order_does_not_matter(arrivals: tuple[list[Event], list[Event]]) -> None:
    events, arrived = arrivals
    assert order_events(arrived) == order_events(events)
    assert dedupe(arrived) == dedupe(events)
    assert derive(arrived) == derive(events)


@given(st.lists(_events(), max_size=12))
def test_state_follows_the_rules(events: list[Event]) -> None:
    state = derive(events)
    history = dedupe(events)
    known = [e for e in history if e.status is not Status.UNKNOWN]
    assert state.latest == (history[0] if history else None)
    if state.status in (Status.RETURNING, Status.RETURNED):
        # Turned round (§3 "Return journeys"): the cause and the newest event are known ones.
        assert state.cause in known
        assert state.event in known
        assert state.terminal is (state.status is Status.RETURNED)
        assert state.status is Status.RETURNING or state.event.code == "EMI"
        return
    assert state.cause is None
    assert state.terminal is any(e.status in TERMINAL for e in known)
    if not events:
        assert state.status is Status.INFO_RECEIVED
    elif not known:
        assert state.status is Status.UNKNOWN
    elif not state.terminal:
        assert state.event == known[0]
    assert state.event is None or state.status is state.event.status


# --- return journeys (docs/standards/events.md §3, "Return journeys")

_TO_DE = CN_DE[:10]  # posted in Beijing, out for delivery in Berlin
_BERLIN = {"office": None, "office_name": "Zustellbasis Berlin"}


def _after(*events: Event) -> list[Event]:
    return [*_TO_DE, *events]


_POSTING: dict[str, Any] = {"office": "", "office_name": "Beijing Chaoyang 100020"}
# Posted in Beijing, held by export customs, never leaves China.
_HELD_AT_EXPORT = [
    *CN_DE[:2],
    _cn("EXA", D(2024, 3, 1, 20, 5)),
    _cn("EXB", D(2024, 3, 1, 22, 30), retention_text="Lithium batteries not allowed"),
]


@pytest.mark.parametrize(
    ("history", "status", "cause"),
    [
        pytest.param(
            _after(_de("EMH", D(2024, 3, 6, 13), **_BERLIN, reason_text="Refused by addressee",
                       action_text="Returned to sender")),
            Status.RETURNING, "EMH", id="failed delivery, action: return",
        ),
        pytest.param(
            _after(_de("EMH", D(2024, 3, 6, 13), **_BERLIN, reason_text="Addressee absent",
                       action_text="Notice left; collect within 7 days")),
            Status.DELIVERY_FAILED, None, id="failed delivery, action: notice",
        ),
        pytest.param(
            _after(_de("EDX", D(2024, 3, 8, 9), reason_text="Refused, returned to sender")),
            Status.RETURNING, "EDX", id="import ended, reason: returned",
        ),
        pytest.param(
            _after(_de("EDX", D(2024, 3, 8, 9), reason_text="Seized and destroyed by customs")),
            Status.TERMINATED, None, id="import ended, reason: destroyed",
        ),
        pytest.param(
            _after(_de("EDX", D(2024, 3, 8, 9), reason_text="Not returned to sender")),
            Status.TERMINATED, None, id="a clause is matched whole, never a substring",
        ),
        pytest.param(
            _after(_de("EME", D(2024, 3, 8, 9), retention_text="Prohibited",
                       action_text="退回原寄地")),
            Status.RETURNING, "EME", id="customs hold, action in Chinese: return",
        ),
        pytest.param(
            _after(_de("EDX", D(2024, 3, 8, 9), reason_text="Unclaimed"),
                   _de("EMB", D(2024, 3, 10, 9)), _cn("EMD", D(2024, 3, 14, 9), "CNSHAD")),
            Status.RETURNING, "EMD", id="scanned in the origin again after the destination",
        ),
        pytest.param(
            _after(_de("EDX", D(2024, 3, 8, 9), reason_text="Refused, returned to sender"),
                   _de("EMB", D(2024, 3, 10, 9)), _de("EMC", D(2024, 3, 11, 9)),
                   _cn("EMD", D(2024, 3, 14, 9), "CNSHAD"), _cn("EMI", D(2024, 3, 18, 9))),
            Status.RETURNED, "EDX", id="delivered back in the origin",
        ),
        pytest.param(
            _after(_de("EMH", D(2024, 3, 6, 13), **_BERLIN, action_text="Return to sender"),
                   _de("EMI", D(2024, 3, 7, 10), **_BERLIN)),
            Status.DELIVERED, None, id="return begun, delivered in the destination after all",
        ),
        pytest.param(
            [*CN_DE, _cn("EMD", D(2024, 3, 20, 9), "CNSHAD")],
            Status.DELIVERED, None, id="delivered in the destination: a later scan is stray",
        ),
        pytest.param(
            [_cn("EMA", D(2024, 3, 1, 9)), _cn("EDD", D(2024, 3, 2, 9), "CNSHAD"),
             _cn("EMI", D(2024, 3, 3, 9), "CNSHAD")],
            Status.DELIVERED, None, id="domestic: delivered at home is delivered",
        ),
        # A return that no scan announces: a customs hold, then a delivery in the origin.
        pytest.param(
            [*_HELD_AT_EXPORT, _cn("EMI", D(2024, 3, 9, 11), **_POSTING)],
            Status.RETURNED, "EXB", id="export hold, delivered at the posting office",
        ),
        pytest.param(
            [*_HELD_AT_EXPORT, _cn("EMI", D(2024, 3, 9, 11), "CNSHAD")],
            Status.RETURNED, "EXB", id="export hold, delivered elsewhere in the origin",
        ),
        pytest.param(
            [*_HELD_AT_EXPORT,
             Event("EMI", D(2024, 3, 9, 11), office_name=" beijing  CHAOYANG 100020")],
            Status.RETURNED, "EXB", id="export hold, delivered at the posting office, no country",
        ),
        pytest.param(
            [*_HELD_AT_EXPORT, Event("EMI", D(2024, 3, 9, 11), office_name="Filiale 101")],
            Status.DELIVERED, None, id="export hold, delivered somewhere unknown: no guess",
        ),
        pytest.param(
            [*_HELD_AT_EXPORT, _cn("EXC", D(2024, 3, 2, 1)), *CN_DE[2:]],
            Status.DELIVERED, None, id="export hold, released, delivered in the destination",
        ),
        pytest.param(
            [*CN_DE[:6], _de("EMB", D(2024, 3, 12, 9)), _de("EMC", D(2024, 3, 13, 22)),
             _cn("EMD", D(2024, 3, 15, 7), "CNSHAD"), _cn("EMI", D(2024, 3, 17, 15), **_POSTING)],
            Status.RETURNED, "EMD", id="import hold abroad, scans back home, delivered",
        ),
        pytest.param(
            [*CN_DE[:6], Event("EMC", D(2024, 3, 13, 22), office_name="Frankfurt"),
             Event("EMI", D(2024, 3, 17, 15), office_name="Beijing Chaoyang 100020")],
            Status.RETURNED, "EME", id="import hold abroad, delivered at the posting office",
        ),
        pytest.param(
            CN_DE, Status.DELIVERED, None, id="import hold in the destination, delivered there",
        ),
        pytest.param(
            [_de("EMD", D(2024, 3, 3, 14)), _de("EME", D(2024, 3, 4, 9)),
             _de("EDC", D(2024, 3, 5, 11)), _de("EMI", D(2024, 3, 7, 10), "DEBERB")],
            Status.DELIVERED, None, id="a feed from the destination only: no origin to go back to",
        ),
        pytest.param(
            [_cn("EMA", D(2024, 3, 1, 9), **_POSTING), _cn("EDD", D(2024, 3, 2, 9), "CNSHAD"),
             _cn("EMI", D(2024, 3, 3, 9), **_POSTING)],
            Status.DELIVERED, None, id="domestic: delivered by the posting office",
        ),
    ],
)  # fmt: skip
def test_return_journeys(history: list[Event], status: Status, cause: str | None) -> None:
    state = derive(history)
    assert state.status is status
    assert (state.cause.code if state.cause else None) == cause
    assert state.terminal is (status in TERMINAL)
