"""One item's history under construction (`Trip`), and the scenarios that build them.

A trip walks its lane (posting office, office of exchange, flight, inward office, delivery) on
the demo's clock, waiting realistic dwell times and keeping offices' working hours; a scenario
(delivered, in transit, held by customs, returned, ...) says which legs it takes and where it
stops. The tables at the end give each scenario its share of the demo and the age of its last
scan.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from itertools import accumulate
from typing import Any

from emstrack.demo.clock import DAY, Clock
from emstrack.demo.places import Office, Region

# --- what people and offices write ---------------------------------------------------------

# Reasons: the standard wordings of docs/standards/events.md §7 (shown in the reader's
# language, `domain.reasons`) and, as real feeds have them too, operators' own free texts.
_RETENTIONS = ("Awaiting documents",
               "Invoice required",
               "Awaiting payment of duties and taxes",
               "Customs inspection in progress",
               "Declared value under review; addressee to send proof of payment",
               "Awaiting import licence or certificate",
               "Addressee to provide a tax identification number")  # fmt: skip
_EXPORT_HOLDS = ("Security screening: suspected lithium battery", "Export declaration incomplete",
                 "Contents do not match the customs declaration")  # fmt: skip
_CANCELS = ("Prohibited article, returned to sender",
            "Export declaration not corrected in time; returned to sender",
            "Cancelled at the sender's request")  # fmt: skip
_ATTEMPTS = (("Addressee absent", "Notice left; collect at delivery office within 7 days"),
             ("Business closed", "Delivery will be attempted next working day"),
             ("Item did not fit the letter box", "Notice left; collect within 14 days"),
             ("No safe place to leave the item", "Notice left; item taken to collection point"),
             ("Insufficient address", "Addressee contacted for address details"))  # fmt: skip
_RETURNS = (("Refused by addressee", "Refused by addressee, returned to sender"),
            ("Addressee unknown", "Addressee unknown, returned to sender"),
            ("Moved, left no address", "Moved, left no address; returned to sender"),
            ("", "Unclaimed, returned to sender"))  # fmt: skip
_UNKNOWN_CODES = ("EML", "EMX")

# Made-up people, by the countries where such names are common (English elsewhere).
_NAMES = {
    "US GB AU CA NZ SG ZA": ("JAMES MARY ROBERT LINDA DAVID SARAH", "SMITH BROWN TAYLOR CLARK"),
    "DE": ("LUKAS ANNA JONAS LEA FELIX MARIE", "MUELLER SCHMIDT SCHNEIDER FISCHER WEBER WAGNER"),
    "FR": ("LOUIS CAMILLE HUGO MANON JULES CHLOE", "MARTIN BERNARD DUBOIS THOMAS ROBERT PETIT"),
    "ES MX": ("JOSE MARIA CARLOS LUCIA JAVIER SOFIA", "GARCIA RODRIGUEZ LOPEZ MARTINEZ SANCHEZ"),
    "IT": ("MARCO GIULIA LUCA FRANCESCA MATTEO CHIARA", "ROSSI RUSSO FERRARI ESPOSITO BIANCHI"),
    "BR": ("JOAO ANA PEDRO JULIANA LUCAS BEATRIZ", "SILVA SANTOS OLIVEIRA SOUZA LIMA PEREIRA"),
    "RU": ("IVAN OLGA DMITRY ELENA SERGEY NATALIA", "IVANOV SMIRNOV KUZNETSOV POPOV PETROV"),
    "JP": ("HARUTO YUI SOTA HINA REN AOI", "SATO SUZUKI TAKAHASHI TANAKA WATANABE ITO"),
    "KR": ("MINJUN SEOYEON JIHO JIWOO DOYUN HAEUN", "KIM LEE PARK CHOI JUNG KANG"),
    "NL": ("DAAN EMMA SEM JULIA LUCAS SOPHIE", "JANSEN BAKKER VISSER SMIT MEIJER DEKKER"),
    "IN": ("RAHUL PRIYA AMIT ANJALI VIKRAM NEHA", "SHARMA PATEL SINGH KUMAR GUPTA REDDY"),
    "TH": ("SOMCHAI MALEE ANAN SIRIPORN", "SRISUK WONGSA BOONMA CHAIYAPORN"),
    "MY": ("AHMAD SITI NUR HAFIZ", "ABDULLAH ISMAIL RAHMAN HASSAN"),
    "AE": ("MOHAMMED FATIMA AHMED AISHA", "AL MANSOORI AL HASHIMI AL NUAIMI KHAN"),
    "CN": ("伟 芳 娜 敏 静 磊 洋 勇", "王 李 张 刘 陈 杨 黄 赵"),
}  # fmt: skip
_PEOPLE = {
    country: (tuple(first.split()), tuple(last.split()))
    for countries, (first, last) in _NAMES.items()
    for country in countries.split()
}


def _person(rng: random.Random, country: str) -> str:
    """A made-up signatory in the style of the country."""
    first, last = _PEOPLE.get(country, _PEOPLE["US"])
    if country == "CN":
        return "门卫代收" if rng.random() < 0.1 else rng.choice(last) + rng.choice(first)
    if rng.random() < 0.06:
        return "RECEPTION"
    given = rng.choice(first)
    return f"{given if rng.random() < 0.5 else given[0]} {rng.choice(last)}"


_Scan = tuple[int, str, Office, dict[str, Any] | None]  # minute, code, office, detail


@dataclass(frozen=True, slots=True)
class Lane:
    """Where one item goes: from a posting office to a delivery office, and how."""

    origin: Region
    posting: Office
    dest: Region
    place: Office  # the delivery office
    via: Office | None  # transit office of exchange
    letter: bool  # registered or tracked letter: seldom through customs
    signed: bool  # delivered against a signature (not into a letter box)


class Trip:
    """One item's history under construction: its lane, a clock of UTC minutes, the scans.

    `step` waits a random while, moves on to the office's working hours if asked, and scans.
    """

    __slots__ = ("clock", "lane", "rng", "scans", "shift", "start", "t")

    def __init__(self, rng: random.Random, clock: Clock, lane: Lane, start: int) -> None:
        self.rng, self.clock, self.lane, self.start, self.t = rng, clock, lane, start, start
        self.scans: list[_Scan] = []
        self.shift = 0  # minutes to move every scan by when the events are made

    def wait(self, lo_hours: float, hi_hours: float) -> None:
        if hi_hours:  # at least a minute, so that scans never share a time
            self.t += int((lo_hours + (hi_hours - lo_hours) * self.rng.random()) * 60) + 1

    def open(self, office: Office, start: int, end: int) -> None:
        """Move on to the office's working hours (local); offices abroad close on Sundays."""
        off = self.clock.offsets(office, self.t)[0]
        day, minute = divmod(self.t + off, DAY)
        if not start * 60 <= minute < end * 60:
            day += minute >= end * 60
            minute = start * 60 + self.rng.randrange(min(90, (end - start) * 60))
        if office.country != "CN" and (day + 5) % 7 == 6:  # day 0 was a Saturday
            day += 1
        self.t = day * DAY + minute - off

    def step(
        self, lo: float, hi: float, code: str, office: Office,
        hours: tuple[int, int] | None = None, **detail: str,
    ) -> None:  # fmt: skip
        self.wait(lo, hi)
        if hours:
            self.open(office, *hours)
        self.scans.append((self.t, code, office, detail or None))

    def cut(self, codes: frozenset[str], after: int = 1) -> None:
        """End the history after a random scan with one of `codes`, from index `after` on."""
        ends = [i for i in range(after, len(self.scans)) if self.scans[i][1] in codes]
        del self.scans[self.rng.choice(ends) + 1 :]

    # -- legs (wait in hours, working hours of the office)

    def outward(self, export: str | None = None) -> None:
        """Posting to departure, or to export customs if `export` is "held" or "cancelled"."""
        impc, rng = self.lane.origin.impc, self.rng
        self.step(0, 0, "EMA", self.lane.posting, (8, 18))
        self.step(3, 20, "EMB", impc)
        if export:
            self.step(1, 10, "EXA", impc)
            if export != "released":
                self.step(2, 20, "EXB", impc, retention_text=rng.choice(_EXPORT_HOLDS))
                if export == "cancelled":
                    self.step(30, 200, "EXX", impc, reason_text=rng.choice(_CANCELS))
                return
            self.step(4, 30, "EXC", impc)
        elif rng.random() < 0.04:
            self.step(4, 20, "EXD", impc)  # waiting for room on a flight
            self.wait(24, 48)
        onward = self.lane.via or self.lane.dest.impc
        self.step(18, 60, "EMC", impc, next_office_code=str(onward.code))

    def flight(self) -> None:
        via, impc = self.lane.via, self.lane.dest.impc
        if via is not None:
            self.step(6, 30, "EMJ", via)
            self.step(4, 40, "EMK", via, next_office_code=str(impc.code))
        self.step(20, 90, "EMD", impc)

    def inward(self, customs: str | None = None) -> None:
        """Arrival to departure from the inward office, or to customs if `customs` is "held"."""
        impc = self.lane.dest.impc
        if customs:
            self.step(1, 20, "EDB", impc)
            self.step(2, 60, "EME", impc, retention_text=self.rng.choice(_RETENTIONS))
            if customs == "held":
                return
            self.step(72, 360, "EDC", impc)
        elif not self.lane.letter and self.rng.random() < 0.6:
            self.step(1, 12, "EDB", impc)
            self.step(3, 100, "EDC", impc)
        self.step(2, 24, "EMF", impc)

    def to_door(self, centres: Iterable[Office]) -> None:
        for centre in centres:
            self.step(4, 30, "EDD", centre)
            self.step(1, 10, "EDE", centre)
        self.step(3, 20, "EMG", self.lane.place, (5, 10))
        self.step(0.5, 2, "EDG", self.lane.place, (7, 11))

    def journey(self, customs: str | None = None) -> None:
        self.outward("released" if self.rng.random() < 0.02 else None)
        self.flight()
        self.inward(customs)
        self.to_door(self.lane.dest.sorting)

    def deliver(self) -> None:
        place = self.lane.place
        who = {"signatory": _person(self.rng, place.country)} if self.lane.signed else {}
        self.step(0.5, 7, "EMI", place, (9, 19), **who)

    def attempt(self, reason: str, action: str) -> None:
        self.step(0.5, 7, "EMH", self.lane.place, (9, 19), reason_text=reason, action_text=action)


# --- scenarios: each builds a history; the table after them says how old its last scan is


def _delivered(h: Trip) -> None:
    h.journey()
    h.deliver()


def _in_transit(h: Trip) -> None:
    _delivered(h)
    h.cut(_MOVING)


def _stale(h: Trip) -> None:
    _delivered(h)
    h.cut(_LOST)


def _posted_only(h: Trip) -> None:
    h.step(0, 0, "EMA", h.lane.posting, (8, 18))


def _customs_held(h: Trip) -> None:
    h.outward()
    h.flight()
    h.inward("held")


def _customs_released(h: Trip) -> None:
    h.journey("released")
    h.deliver()


def _export_customs(h: Trip) -> None:
    h.outward("held")


def _export_cancelled(h: Trip) -> None:
    h.outward("cancelled")


def _failed_then_delivered(h: Trip) -> None:
    h.journey()
    h.attempt(*h.rng.choice(_ATTEMPTS[:3]))
    if h.rng.random() < 0.5:  # out again the next working day
        h.step(16, 22, "EDG", h.lane.place, (7, 11))
    else:  # collected at the counter after the notice
        h.step(0.5, 3, "EDF", h.lane.place, (9, 19))
        h.wait(18, 100)
    h.deliver()


def _awaiting_pickup(h: Trip) -> None:
    h.journey()
    h.attempt(*_ATTEMPTS[3])
    locker = replace(h.lane.place, name=f"{h.lane.place.name} PARCEL LOCKER")
    h.step(1, 5, "EDH", locker, (8, 20))


def _returned(h: Trip) -> None:
    h.journey()
    place, reason, why = h.lane.place, *h.rng.choice(_RETURNS)
    if reason:
        h.attempt(reason, "Returned to sender")
        h.step(2, 30, "EDX", place, (9, 19), reason_text=why)
    else:  # unclaimed: a notice, two weeks at the counter, then back
        h.attempt(*_ATTEMPTS[0])
        h.step(1, 4, "EDF", place, (9, 19))
        h.step(7 * 24, 14 * 24, "EDX", place, (9, 19), reason_text=why)
    back, home = h.lane.dest.impc, h.lane.origin.impc
    h.step(24, 96, "EMB", back)
    h.step(24, 72, "EMC", back, next_office_code=str(home.code))
    h.step(30, 120, "EMD", home)
    h.cut(_BACK, after=len(h.scans) - 4)  # somewhere on its way back


def _unknown_code(h: Trip) -> None:
    (_delivered if h.rng.random() < 0.6 else _in_transit)(h)
    scans, rng = h.scans, h.rng
    # A little after an arrival, at the same office, and before the next scan.
    i = rng.choice([i for i, scan in enumerate(scans) if scan[1] in _ARRIVALS]) + 1
    t, _, office, _ = scans[i - 1]
    later = rng.randrange(10, 90)
    if i < len(scans):
        later = min(later, (scans[i][0] - t) // 2)
    detail = {"description": "Item processed"}
    scans.insert(i, (t + max(later, 1), rng.choice(_UNKNOWN_CODES), office, detail))


def domestic(h: Trip, label: str) -> None:
    """A China domestic EMS item: the processing centres of both cities, then delivery."""
    h.step(0, 0, "EMA", h.lane.posting, (8, 18))
    h.to_door(dict.fromkeys((h.lane.origin.sorting[0], h.lane.dest.sorting[0])))
    if label == "failed_then_delivered":
        h.attempt("Addressee absent", "Addressee contacted by telephone")
        h.step(16, 22, "EDG", h.lane.place, (7, 11))
    h.deliver()
    if label == "posted_only":
        del h.scans[1:]
    elif label == "in_transit":
        h.cut(_MOVING)


_MOVING = frozenset({"EMB", "EMC", "EMJ", "EMK", "EMD", "EMF", "EDD", "EDE", "EMG"})
_LOST = frozenset({"EMC", "EMK", "EMD", "EMF", "EDD", "EDE"})
_ARRIVALS = frozenset({"EMA", "EMB", "EMJ", "EMD", "EDD", "EMG"})
_BACK = frozenset({"EDX", "EMB", "EMC", "EMD"})

# scenario: (history, age of its last scan in days from .. to, rough duration in days, share
# of international items in percent)
SCENARIOS: dict[str, tuple[Callable[[Trip], None], float, float, float, float]] = {
    "delivered": (_delivered, 0.1, 120, 12, 49),
    "in_transit": (_in_transit, 0.02, 2.5, 5, 17),
    "customs_held": (_customs_held, 0.3, 15, 6, 5),
    "customs_released": (_customs_released, 0.2, 60, 20, 3),
    "failed_then_delivered": (_failed_then_delivered, 0.1, 90, 14, 5),
    "awaiting_pickup": (_awaiting_pickup, 0.05, 6, 13, 3),
    "returned": (_returned, 0.5, 120, 35, 4),
    "stale": (_stale, 21, 50, 5, 5),
    "posted_only": (_posted_only, 0.02, 1, 0, 5),
    "export_customs": (_export_customs, 0.1, 5, 1, 1.5),
    "export_cancelled": (_export_cancelled, 1, 60, 5, 0.5),
    "unknown_code": (_unknown_code, 0.1, 40, 10, 2),
}
MIX_LABELS = tuple(SCENARIOS)
MIX_CUM = list(accumulate(share for *_, share in SCENARIOS.values()))
# China domestic items: scenario -> (age of the last scan from .. to, share in percent)
DOMESTIC = {"delivered": (0.1, 60, 65), "in_transit": (0.02, 1.5, 20),
             "posted_only": (0.02, 1, 10), "failed_then_delivered": (0.1, 60, 5)}  # fmt: skip
DOMESTIC_LABELS = tuple(DOMESTIC)
DOMESTIC_CUM = list(accumulate(share for *_, share in DOMESTIC.values()))
# The first items: one of each, so that every example exists in a small demo too.
OPENING = ("delivered", "in_transit", "customs_held", "failed_then_delivered", "returned",
            "stale", "posted_only", "unknown_code", "inbound", "domestic", "awaiting_pickup",
            "customs_released", "export_customs", "export_cancelled")  # fmt: skip
