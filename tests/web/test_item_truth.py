"""Every demo scenario and every status, through the real page and API, in both languages: the
status, the progress line and its current step, and the headline that says where the item is
(docs/standards/events.md §3; issue 11 part A).

The demo's histories are random within their scenario (an item in transit is cut after any
moving scan), so the current step is checked against this file's own table of where each code
puts an item, and the headline against the facts of the event it speaks of.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import DELIVERED_TO_DE, history
from webclient import serve

from emstrack.config import Settings
from emstrack.demo import load_demo
from emstrack.domain import reasons
from emstrack.domain.lang import Lang
from emstrack.ingest.records import parse_record
from emstrack.ingest.writer import record
from emstrack.store.database import Database
from emstrack.web.app import create_app

NOW = datetime(2026, 3, 29, 9, 30, tzinfo=UTC)

#: The outbound line, the domestic one (no customs) and the return line, in EN and ZH.
OUTBOUND = {
    "en": ["Posted", "In transit", "Customs", "To the delivery office", "Out for delivery",
           "Delivered"],
    "zh": ["已收寄", "运输中", "海关", "前往投递局", "派送中", "已妥投"],
}  # fmt: skip
DOMESTIC = {lang: [s for i, s in enumerate(steps) if i != 2] for lang, steps in OUTBOUND.items()}
RETURN = {
    "en": ["Being returned", "Back in the origin country", "Returned to sender"],
    "zh": ["退回途中", "已回到原寄国", "已退回寄件人"],
}

#: Where the newest known scan puts an item on the outbound line (an index of OUTBOUND).
STEP_OF = {
    "EMA": 0, "EMB": 1, "EXA": 1, "EXB": 1, "EXC": 1, "EXD": 1, "EXX": 1, "EMC": 1, "EMJ": 1,
    "EMK": 1, "EMD": 1, "EDA": 1, "EDB": 2, "EME": 2, "EDX": 2, "EDC": 3, "EMF": 3, "EDD": 3,
    "EDE": 3, "EMG": 3, "EDF": 3, "EDG": 4, "EDH": 4, "EMH": 4, "EMI": 5,
}  # fmt: skip

#: How each status's headline begins, in EN and ZH.
OPENING = {
    "delivered": ("Delivered on ", "已妥投："),
    "returned": ("Returned to sender on ", "已退回寄件人："),
    "returning": ("Being returned to sender", "退回中"),
    "awaiting_pickup": ("Waiting for collection at ", "待领取："),
    "delivery_failed": ("Delivery attempted on ", "投递未成功："),
    "customs_import": ("Held by import customs at ", "自 "),
    "customs_export": ("Held by export customs at ", "自 "),
    "terminated": ("Stopped, will not be delivered: ", "已终止，不会投递："),
    "in_transit": ("In transit: ", "运输中："),
    "accepted": ("Posted: ", "已收寄："),
    "out_for_delivery": ("Out for delivery: ", "派送中："),
    "unknown": ("Status unknown: ", "状态未知："),
}

#: The statuses whose headline names the newest scan (the others name the event that set them).
SAYS_LATEST = {"in_transit", "accepted", "out_for_delivery", "unknown", "returning", "terminated",
               "customs_import", "customs_export"}  # fmt: skip

#: Demo scenario -> the status its example has.
DEMO = {
    "delivered": "delivered",
    "in_transit": "in_transit",
    "customs_held": "customs_import",
    "customs_released": "delivered",
    "failed_then_delivered": "delivered",
    "awaiting_pickup": "awaiting_pickup",
    "returned": "returning",
    "stale": "in_transit",
    "posted_only": "accepted",
    "export_customs": "customs_export",
    "export_cancelled": "terminated",
    "inbound": "delivered",
    "domestic": "delivered",
}

#: Histories for the statuses no demo example has: number -> (records, status).
_BACK = (("EMB", "2026-03-12T10:00", "DEFRAA", "DE"),
         ("EMC", "2026-03-13T22:00", "DEFRAA", "DE"),
         ("EMD", "2026-03-15T07:00", "CNBJSD", "CN"),
         ("EMI", "2026-03-17T15:00", "CNBJSD", "CN"))  # fmt: skip
_TO_DE = [(code, "2026-03-" + when[8:], office, country)
          for code, when, office, country in DELIVERED_TO_DE]  # fmt: skip
_REFUSED = {"reason_text": "Refused by addressee", "action_text": "Returned to sender"}
_ABSENT = {"reason_text": "Addressee absent", "action_text": "Notice left; collect within 7 days"}
EXTRA: dict[str, tuple[list[dict[str, Any]], str]] = {
    "EE100000003CN": (history("EE100000003CN", *_TO_DE[:9]), "out_for_delivery"),
    "EE100000017CN": (
        [*history("EE100000017CN", *_TO_DE[:9]),
         {**history("EE100000017CN", ("EMH", "2026-03-07T13:00", "DEBERB", "DE"))[0], **_ABSENT}],
        "delivery_failed",
    ),
    "EE100000025CN": (
        [*history("EE100000025CN", *_TO_DE[:9]),
         {**history("EE100000025CN", ("EMH", "2026-03-07T13:00", "DEBERB", "DE"))[0], **_REFUSED},
         *history("EE100000025CN", *_BACK)],
        "returned",
    ),
    "EE100000034CN": (
        history("EE100000034CN", ("EML", "2026-03-02T09:00", "CNBJSD", "CN")), "unknown",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Seen:
    """One item as the page and the API show it."""

    status: str
    detail: str | None
    headline: str
    banner: str
    steps: list[tuple[str, str]]  # (label, "done" / "current" / "todo")
    events: list[dict[str, Any]]
    item: dict[str, Any]


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    path: Path = tmp_path_factory.mktemp("truth") / "t.db"
    settings = Settings(database_url=f"sqlite:///{path}", rate_limit="100000/minute")
    db = Database.open(settings)
    summary = load_demo(db, items=120, seed=3, now=NOW)
    record(db, [parse_record(r, source="test") for rs, _ in EXTRA.values() for r in rs])
    examples = {scenario: summary.examples[scenario] for scenario in DEMO}
    with serve(create_app(settings, db)) as http:
        yield http, examples
    db.close()


def _look(http: httpx.Client, number: str, lang: Lang) -> Seen:
    api = http.get(f"/api/v1/tracking/{number}", params={"lang": lang})
    assert api.status_code == 200, api.text
    body = api.json()
    page = http.get(f"/track/{number}", params={"lang": lang}, headers={"Accept": "text/html"})
    assert page.status_code == 200
    banner = re.search(r'<p class="banner-facts">(.*?)</p>', page.text, re.S)
    steps = re.findall(
        r'<li class="step step-(\w+)".*?<span class="step-label">(.*?)</span>', page.text, re.S
    )
    return Seen(
        status=body["status"],
        detail=body["status_detail"],
        headline=body["headline"],
        banner=html.unescape(banner.group(1)) if banner else "",
        steps=[(html.unescape(label), state) for state, label in steps],
        events=body["events"],
        item=body["item"],
    )


def _line(seen: Seen, lang: Lang) -> list[str]:
    if seen.status in ("returning", "returned"):
        return RETURN[lang]
    domestic = seen.item["origin_country"] == seen.item["destination_country"]
    return (DOMESTIC if domestic else OUTBOUND)[lang]


def _current(seen: Seen, lang: Lang) -> str | None:
    """The step this file's tables expect to be current: None when every step is done."""
    if seen.status in ("delivered", "returned"):
        return None
    known = [e for e in seen.events if e["known_code"]]
    if seen.status == "returning":
        home = known[0]["country"] == seen.item["origin_country"]
        return RETURN[lang][1 if home else 0]
    if not known:
        return None
    step = OUTBOUND[lang][STEP_OF[known[0]["code"]]]
    assert step in _line(seen, lang), "a domestic item is never at customs"
    return step


def _check(seen: Seen, status: str, lang: Lang) -> None:
    assert seen.status == status
    # The same sentence leads the API's answer and the page's banner.
    assert seen.headline == seen.banner
    assert seen.headline.startswith(OPENING[status][lang == "zh"])
    if status in SAYS_LATEST and seen.detail != "held":
        # The newest scan in words, with its place and local time.
        assert seen.events[0]["label"] in seen.headline
    # The event the headline speaks of: the status's own, or the newest when none is known.
    setter = next((e for e in seen.events if e["known_code"]), seen.events[0])
    assert setter["local_time"][:16].replace("T", " ") in seen.headline
    place = setter["office_name"] or setter["office_code"]
    if place:
        assert place in seen.headline
    # The line, and where the item is on it.
    labels = [label for label, _ in seen.steps]
    assert labels == _line(seen, lang)
    current = [label for label, state in seen.steps if state == "current"]
    expected = _current(seen, lang)
    assert current == ([expected] if expected else [])
    if expected:
        at = labels.index(expected)
        assert all(state == "done" for _, state in seen.steps[:at])
        assert all(state == "todo" for _, state in seen.steps[at + 1 :])
    elif status in ("delivered", "returned"):
        assert all(state == "done" for _, state in seen.steps)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("scenario", "status"), DEMO.items())
def test_every_demo_scenario(
    served: tuple[httpx.Client, dict[str, str]], scenario: str, status: str, lang: Lang
) -> None:
    http, examples = served
    _check(_look(http, examples[scenario], lang), status, lang)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("number", "status"), [(n, s) for n, (_, s) in EXTRA.items()])
def test_every_other_status(
    served: tuple[httpx.Client, dict[str, str]], number: str, status: str, lang: Lang
) -> None:
    http, _ = served
    _check(_look(http, number, lang), status, lang)


def test_the_headline_carries_the_facts(served: tuple[httpx.Client, dict[str, str]]) -> None:
    http, examples = served
    failed = _look(http, "EE100000017CN", "en").headline
    assert failed == (
        "Delivery attempted on 2026-03-07 13:00 (UTC+1) at DEBERB, Germany, not delivered: "
        "Addressee absent. Next: Notice left; collect within 7 days."
    )
    returned = _look(http, "EE100000025CN", "zh").headline
    assert returned == "已退回寄件人：2026-03-17 15:00 (UTC+8)，CNBJSD，中国。"
    held = _look(http, examples["customs_held"], "en")
    retention = held.events[0]["retention_text"]
    said = reasons.wording(None, retention, "en")  # a standard wording in the reader's words
    assert said is not None
    assert f": {said.text.rstrip('.')}. What to do: the addressee" in held.headline
    pickup = _look(http, examples["awaiting_pickup"], "en")
    assert "PARCEL LOCKER" in pickup.headline
    delivered = _look(http, examples["delivered"], "en")
    assert all(name not in delivered.headline for name in ("signatory", "Signed"))
