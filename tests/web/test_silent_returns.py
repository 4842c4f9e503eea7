"""A return that no scan announces (docs/standards/events.md §3, "Return journeys"): a customs
hold, then a delivery in the origin, is `returned`, through the writer, the API (its fast path
and the general one give the same bytes), the headline and the page's progress line."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
import orjson
import pytest
from factories import DELIVERED_TO_DE, Loader, Record, history

from emstrack.config import Settings
from emstrack.domain.lang import Lang
from emstrack.lookup import Tracker
from emstrack.store.database import Database

NUMBER = "EE123456785CN"
_POSTING = {"office_code": "", "office_name": "Beijing Chaoyang 100020", "country": "CN"}


def _at(record: Record, **fields: str) -> Record:
    return {**record, **fields}


(_EMA, _EMB, _EMC, _EMD, _EDB, _EDC, _EMF, *_TO_DOOR) = history(NUMBER, *DELIVERED_TO_DE)
_HELD_AT_EXPORT = [
    _at(_EMA, **_POSTING),
    _EMB,
    *history(NUMBER, ("EXA", "2026-11-02T20:05", "CNBJSD", "CN")),
    _at(
        history(NUMBER, ("EXB", "2026-11-02T22:30", "CNBJSD", "CN"))[0],
        retention_text="Lithium batteries not allowed",
    ),
]
_HELD_IN_DE = _at(
    history(NUMBER, ("EME", "2026-11-05T11:00", "DEFRAA", "DE"))[0], retention_text="Prohibited"
)
_BACK_HOME = history(
    NUMBER,
    ("EMB", "2026-11-12T10:00", "DEFRAA", "DE"),
    ("EMC", "2026-11-13T22:00", "DEFRAA", "DE"),
    ("EMD", "2026-11-15T07:00", "CNBJSD", "CN"),
)

#: history -> status, and the headline in English and in Chinese.
CASES = [
    pytest.param(
        [*_HELD_AT_EXPORT,
         _at(history(NUMBER, ("EMI", "2026-11-09T11:00", "", ""))[0], **_POSTING)],
        "returned",
        ("Returned to sender on 2026-11-09 11:00 (UTC+8) at Beijing Chaoyang, China.",
         "已退回寄件人：2026-11-09 11:00 (UTC+8)，Beijing Chaoyang，中国。"),
        id="export hold, delivered at the posting office",
    ),
    pytest.param(
        [_at(_EMA, **_POSTING), _EMB, _EMC, _EMD, _EDB, _HELD_IN_DE, *_BACK_HOME,
         *history(NUMBER, ("EMI", "2026-11-17T15:00", "CNBJSD", "CN"))],
        "returned",
        ("Returned to sender on 2026-11-17 15:00 (UTC+8) at CNBJSD, China.",
         "已退回寄件人：2026-11-17 15:00 (UTC+8)，CNBJSD，中国。"),
        id="import hold abroad, scans back home, delivered",
    ),
    pytest.param(
        [_EMA, _EMB, _EMC, _EMD, _EDB, _HELD_IN_DE, _EDC, _EMF, *_TO_DOOR],
        "delivered",
        ("Delivered on 2026-11-07 11:45 (UTC+1) at DEBERB, Germany.",
         "已妥投：2026-11-07 11:45 (UTC+1)，DEBERB，德国。"),
        id="import hold in the destination, delivered there",
    ),
    pytest.param(
        history(NUMBER, ("EMA", "2026-11-02T09:12", "CNBJSD", "CN"),
                ("EDD", "2026-11-03T06:00", "CNSHAD", "CN"),
                ("EMI", "2026-11-04T10:30", "CNBJSD", "CN")),
        "delivered",
        ("Delivered on 2026-11-04 10:30 (UTC+8) at CNBJSD, China.",
         "已妥投：2026-11-04 10:30 (UTC+8)，CNBJSD，中国。"),
        id="domestic, delivered by the posting office",
    ),
]  # fmt: skip

#: The last step of the progress line, which every finished item has done.
LAST_STEP = {
    "returned": {"en": "Returned to sender", "zh": "已退回寄件人"},
    "delivered": {"en": "Delivered", "zh": "已妥投"},
}


def _steps(client: httpx.Client, lang: Lang) -> list[tuple[str, str]]:
    page = client.get(f"/track/{NUMBER}", params={"lang": lang}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    found = re.findall(
        r'<li class="step step-(\w+)".*?<span class="step-label">(.*?)</span>', page.text, re.S
    )
    return [(html.unescape(label), state) for state, label in found]


@pytest.mark.parametrize(("records", "status", "headlines"), CASES)
def test_a_delivery_home_after_customs_is_a_return(
    load: Loader,
    db: Database,
    settings: Settings,
    client: httpx.Client,
    records: list[Record],
    status: str,
    headlines: tuple[str, str],
) -> None:
    assert set(load(*records)) == {"stored"}
    tracker = Tracker(db, settings)
    langs: tuple[Lang, Lang] = ("en", "zh")
    for lang, headline in zip(langs, headlines, strict=True):
        body: dict[str, Any] = client.get(
            f"/api/v1/tracking/{NUMBER}", params={"lang": lang}
        ).json()
        assert (body["status"], body["headline"]) == (status, headline)
        # The fast path reads the same rule from the rows.
        for private in (False, True):
            assert tracker.answer(NUMBER, lang=lang, private=private).content() == (
                orjson.dumps(tracker.lookup(NUMBER).to_dict(lang, private=private))
            )
        steps = _steps(client, lang)
        assert steps[-1][0] == LAST_STEP[status][lang]
        assert all(state == "done" for _, state in steps)
