"""Demo data: a deterministic set of realistic postal items, generated and written to the store.

China Post EMS and other S10 items from Chinese cities to twenty-odd countries, items from abroad
to China, and a few China domestic EMS numbers, each with a history told by real office-of-exchange
codes, local wall times and the dwell times of each leg. Histories are placed relative to `now`,
so items "in transit" are recent and "stale" ones have had no scan for weeks.

Times are built on a clock of whole UTC minutes; each scan becomes an `Event` with the office's
wall time. The offset is what `times.offset_for` derives from the country, or, for an office whose
city (and so zone) we know in a country with several zones, that zone's offset. Delivery offices in
Russia and Australia keep an unknown offset on purpose: the web page must cope with those too.
"""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from itertools import accumulate
from typing import TYPE_CHECKING, Any, BinaryIO
from zoneinfo import ZoneInfo

from emstrack.domain import s10
from emstrack.domain.events import Event
from emstrack.domain.times import offset_for
from emstrack.ingest.records import IncomingEvent
from emstrack.ingest.writer import plan_fresh, record, write_fresh

if TYPE_CHECKING:
    from sqlalchemy import Engine

BATCH_EVENTS = 5000
SOURCE = "demo"
_EPOCH = datetime(2000, 1, 1)  # minute 0 of the internal clock (UTC); a Saturday
_EPOCH_UTC = _EPOCH.replace(tzinfo=UTC)
_DAY = 1440
_WEEK = 7 * _DAY
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    items: int  # items (number and generation) created by this load
    events: int  # events stored by this load, duplicates not counted
    examples: dict[str, str]  # scenario -> one tracking number of that scenario


# --- offices -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Office:
    code: str | None
    name: str
    country: str
    tz: str
    postcode: str | None = None
    explicit: bool = True  # the city's zone is known: give its offset even if the country has many


@dataclass(frozen=True, slots=True)
class _Region:
    impc: _Office  # office of exchange
    sorting: tuple[_Office, ...]  # sorting centres an inbound item passes, in order
    places: tuple[_Office, ...]  # post offices, named by postcode, that post and deliver


def _region(
    cc: str, tz: str, impc: str, sorting: str, places: str, *, explicit: bool = True
) -> _Region:
    """From compact text: impc "USJFKA NEW YORK"; "name;name"; places "postcode|city[|zone];...\""""
    code, name = impc.split(" ", 1)
    offices = []
    for spec in places.split(";"):
        postcode, city, *zone = spec.split("|")
        label = f"{postcode} {city}" if postcode else city
        offices.append(
            _Office(None, label, cc, zone[0] if zone else tz, postcode or None, explicit)
        )
    return _Region(
        _Office(code, name, cc, tz),
        tuple(_Office(None, n, cc, tz) for n in sorting.split(";")),
        tuple(offices),
    )


_SH = "Asia/Shanghai"
# China Post offices: origin of outbound items, destination of inbound and domestic ones.
_CHINA: tuple[tuple[_Region, int], ...] = (
    (_region("CN", _SH, "CNSHAD SHANGHAI EMS", "SHANGHAI EMS PROCESSING CENTRE",
             "200040|SHANGHAI JING'AN;200120|SHANGHAI PUDONG;200030|SHANGHAI XUHUI"), 30),
    (_region("CN", _SH, "CNCAND GUANGZHOU EMS", "GUANGZHOU EMS PROCESSING CENTRE",
             "510620|GUANGZHOU TIANHE;510030|GUANGZHOU YUEXIU;523000|DONGGUAN"), 20),
    (_region("CN", _SH, "CNSZXD SHENZHEN EMS", "SHENZHEN EMS PROCESSING CENTRE",
             "518000|SHENZHEN FUTIAN;518057|SHENZHEN NANSHAN"), 20),
    (_region("CN", _SH, "CNBJSD BEIJING EMS", "BEIJING EMS PROCESSING CENTRE",
             "100020|BEIJING CHAOYANG;100080|BEIJING HAIDIAN;100005|BEIJING DONGCHENG"), 15),
    (_region("CN", _SH, "CNHGHD HANGZHOU EMS", "HANGZHOU EMS PROCESSING CENTRE",
             "310012|HANGZHOU XIHU;322000|YIWU"), 15),
)  # fmt: skip

# Destination countries: weight of outbound items, regions, transit offices on the lane.
_ABROAD: tuple[tuple[str, int, tuple[_Region, ...], tuple[str, ...]], ...] = (
    ("US", 16, (
        _region("US", "America/New_York", "USJFKA NEW YORK",
                "JERSEY CITY NJ NETWORK DISTRIBUTION CENTER;NEW YORK NY DISTRIBUTION CENTER",
                "10001|NEW YORK NY;11201|BROOKLYN NY;02108|BOSTON MA;19103|PHILADELPHIA PA"),
        _region("US", "America/Los_Angeles", "USLAXA LOS ANGELES",
                "LOS ANGELES CA NETWORK DISTRIBUTION CENTER;SAN FRANCISCO CA DISTRIBUTION CENTER",
                "90012|LOS ANGELES CA;94103|SAN FRANCISCO CA;98101|SEATTLE WA"),
        _region("US", "America/Chicago", "USORDA CHICAGO", "CHICAGO IL NETWORK DISTRIBUTION CENTER",
                "60601|CHICAGO IL;77002|HOUSTON TX;55401|MINNEAPOLIS MN"),
    ), ()),
    ("DE", 8, (_region("DE", "Europe/Berlin", "DEFRAA FRANKFURT",
                       "PAKETZENTRUM NIEDERAULA;ZUSTELLBASIS",
                       "10115|BERLIN;80331|MUENCHEN;20095|HAMBURG;50667|KOELN"),), ()),
    ("GB", 8, (
        _region("GB", "Europe/London", "GBLONA LONDON",
                "HEATHROW WORLDWIDE DISTRIBUTION CENTRE;MOUNT PLEASANT MAIL CENTRE",
                "EC1A 1BB|LONDON;N1 9GU|LONDON;BR1 1AA|BROMLEY"),
        _region("GB", "Europe/London", "GBCVTA COVENTRY", "MANCHESTER MAIL CENTRE",
                "M1 1AE|MANCHESTER;B1 1BB|BIRMINGHAM;LS1 4AP|LEEDS"),
    ), ()),
    ("JP", 7, (
        _region("JP", "Asia/Tokyo", "JPTYOA TOKYO",
                "TOKYO INTERNATIONAL POST OFFICE;SHIN-TOKYO POST OFFICE",
                "100-0005|TOKYO CHIYODA;160-0022|TOKYO SHINJUKU;220-0011|YOKOHAMA"),
        _region("JP", "Asia/Tokyo", "JPOSAA OSAKA", "SHIN-OSAKA POST OFFICE",
                "530-0001|OSAKA KITA;600-8216|KYOTO"),
    ), ()),
    ("AU", 6, (
        _region("AU", "Australia/Sydney", "AUSYDA SYDNEY",
                "SYDNEY PARCELS FACILITY;STRATHFIELD DELIVERY CENTRE",
                "2000|SYDNEY NSW;2150|PARRAMATTA NSW", explicit=False),
        _region("AU", "Australia/Melbourne", "AUMELA MELBOURNE",
                "MELBOURNE PARCELS FACILITY;DANDENONG DELIVERY CENTRE",
                "3000|MELBOURNE VIC;3121|RICHMOND VIC", explicit=False),
    ), ()),
    ("FR", 6, (_region("FR", "Europe/Paris", "FRCDGA ROISSY CDG",
                       "PLATEFORME INTERNATIONALE ROISSY;PLATEFORME COLIS WISSOUS",
                       "75008|PARIS;69002|LYON;13001|MARSEILLE;31000|TOULOUSE"),), ()),
    ("RU", 7, (_region("RU", "Europe/Moscow", "RUMOWA MOSCOW",
                       "MOSKVA SORTING CENTRE VNUKOVO;MOSKVA MAIL PROCESSING CENTRE",
                       "101000|MOSKVA;190000|SANKT-PETERBURG;630099|NOVOSIBIRSK|Asia/Novosibirsk;"
                       "620014|YEKATERINBURG|Asia/Yekaterinburg", explicit=False),), ()),
    ("BR", 5, (_region("BR", "America/Sao_Paulo", "BRSAOA SAO PAULO", "CTCE SAO PAULO;CTE JAGUARE",
                       "01310-100|SAO PAULO SP;20040-020|RIO DE JANEIRO RJ;"
                       "30130-010|BELO HORIZONTE MG"),), ("DEFRAA", "NLAMSA")),
    ("KR", 5, (_region("KR", "Asia/Seoul", "KRSELA SEOUL",
                       "INTERNATIONAL MAIL CENTER INCHEON;DONGSEOUL MAIL CENTER",
                       "04524|SEOUL JUNG-GU;06236|SEOUL GANGNAM-GU;48058|BUSAN HAEUNDAE-GU"),), ()),
    ("CA", 4, (
        _region("CA", "America/Toronto", "CAYTOA TORONTO",
                "GATEWAY PROCESSING PLANT MISSISSAUGA;SCARBOROUGH DEPOT",
                "M5H 2N2|TORONTO ON;H3B 4W5|MONTREAL QC;K1P 5A2|OTTAWA ON"),
        _region("CA", "America/Vancouver", "CAYVRA VANCOUVER", "PACIFIC PROCESSING CENTRE",
                "V6B 1A1|VANCOUVER BC;V8W 1P6|VICTORIA BC"),
    ), ()),
    ("IT", 3, (_region("IT", "Europe/Rome", "ITMILA MILANO", "CMP MILANO ROSERIO;CD MILANO CENTRO",
                       "20121|MILANO;00184|ROMA;50123|FIRENZE"),), ()),
    ("ES", 4, (_region("ES", "Europe/Madrid", "ESMADA MADRID",
                       "CENTRO DE TRATAMIENTO AUTOMATIZADO MADRID;UNIDAD DE REPARTO",
                       "28013|MADRID;08002|BARCELONA;46001|VALENCIA"),), ()),
    ("NL", 3, (_region("NL", "Europe/Amsterdam", "NLAMSA AMSTERDAM", "SORTEERCENTRUM NIEUWEGEIN",
                       "1012 JS|AMSTERDAM;3011 AD|ROTTERDAM;3511 LX|UTRECHT"),), ()),
    ("SG", 3, (_region("SG", "Asia/Singapore", "SGSINA SINGAPORE", "SINGPOST CENTRE",
                       "018956|SINGAPORE;238859|SINGAPORE"),), ()),
    ("TH", 3, (_region("TH", "Asia/Bangkok", "THBKKA BANGKOK", "LAKSI MAIL CENTER",
                       "10330|BANGKOK PATHUM WAN;50200|CHIANG MAI"),), ()),
    ("MY", 3, (_region("MY", "Asia/Kuala_Lumpur", "MYKULA KUALA LUMPUR",
                       "PUSAT MEL NASIONAL SHAH ALAM", "50450|KUALA LUMPUR;10200|GEORGE TOWN"),),
     ()),
    ("NZ", 2, (_region("NZ", "Pacific/Auckland", "NZAKLA AUCKLAND", "AUCKLAND PROCESSING CENTRE",
                       "1010|AUCKLAND;6011|WELLINGTON"),), ()),
    ("IN", 2, (
        _region("IN", "Asia/Kolkata", "INBOMA MUMBAI", "MUMBAI NSH", "400001|MUMBAI;411001|PUNE"),
        _region("IN", "Asia/Kolkata", "INDELA NEW DELHI", "NEW DELHI NSH",
                "110001|NEW DELHI;560001|BENGALURU"),
    ), ()),
    ("AE", 2, (_region("AE", "Asia/Dubai", "AEDXBA DUBAI", "DUBAI MAIL PROCESSING CENTRE",
                       "|DUBAI DEIRA;|ABU DHABI"),), ()),  # the UAE have no postcodes
    ("ZA", 1, (_region("ZA", "Africa/Johannesburg", "ZAJNBA JOHANNESBURG", "WITSPOS MAIL CENTRE",
                       "2001|JOHANNESBURG;8001|CAPE TOWN"),), ("AEDXBA",)),
    ("MX", 2, (_region("MX", "America/Mexico_City", "MXMEXA MEXICO CITY",
                       "CENTRO DE CLASIFICACION PANTACO",
                       "06600|CIUDAD DE MEXICO;44100|GUADALAJARA JAL;"
                       "64000|MONTERREY NL|America/Monterrey"),), ("USLAXA",)),
)  # fmt: skip
_REGIONS = {code: regions for code, _, regions, _ in _ABROAD}
_TRANSIT = {r.impc.code: r.impc for regions in _REGIONS.values() for r in regions}
_TRANSIT["HKHKGA"] = _Office("HKHKGA", "HONG KONG", "HK", "Asia/Hong_Kong")

# Items posted abroad for China: issuer country, weight, service indicators seen from it.
_INBOUND = (("US", 25, ("EE", "LZ", "CP")), ("DE", 15, ("CP", "RR", "LX")),
            ("GB", 12, ("RR", "CP")), ("JP", 15, ("EA", "RR", "CP")), ("FR", 10, ("LX", "CP")),
            ("KR", 8, ("EM", "RR")), ("AU", 5, ("EE", "CP")), ("CA", 4, ("EE", "RR")),
            ("IT", 3, ("RR", "CP")), ("NL", 3, ("LX", "RR")))  # fmt: skip
_OUTBOUND_SI = (
    ("EE",) * 6 + ("EA",) * 3 + ("EB", "EB", "ED", "RR", "RR", "RR", "LX", "LZ", "CP", "CP")
)
_DOMESTIC_PREFIXES = ("10", "11", "50", "51", "95", "97")
_CHINA_REGIONS = tuple(region for region, _ in _CHINA)
_CHINA_CUM = list(accumulate(weight for _, weight in _CHINA))
_ABROAD_TO = tuple((country, via) for country, _, _, via in _ABROAD)
_ABROAD_CUM = list(accumulate(weight for _, weight, _, _ in _ABROAD))
_INBOUND_FROM = tuple((country, sis) for country, _, sis in _INBOUND)
_INBOUND_CUM = list(accumulate(weight for _, weight, _ in _INBOUND))

# --- what people and offices write ---------------------------------------------------------

_RETENTIONS = ("Awaiting documents from addressee (invoice)",
               "Awaiting payment of import duty and VAT by addressee",
               "Customs inspection in progress",
               "Declared value under review; addressee to send proof of payment",
               "Awaiting import licence or certificate from addressee",
               "Addressee to provide a tax identification number")  # fmt: skip
_EXPORT_HOLDS = ("Security screening: suspected lithium battery", "Export declaration incomplete",
                 "Contents do not match the customs declaration")  # fmt: skip
_CANCELS = ("Prohibited article (lithium battery); returned to sender",
            "Export declaration not corrected in time; returned to sender",
            "Cancelled at the sender's request")  # fmt: skip
_ATTEMPTS = (("Addressee absent", "Notice left; collect at delivery office within 7 days"),
             ("Business closed", "Delivery will be attempted next working day"),
             ("Item did not fit the letter box", "Notice left; collect within 14 days"),
             ("No safe place to leave the item", "Notice left; item taken to collection point"),
             ("Incomplete address", "Addressee contacted for address details"))  # fmt: skip
_RETURNS = (("Refused by addressee", "Refused by addressee, returned to sender"),
            ("Addressee unknown at this address", "Addressee unknown, returned to sender"),
            ("Addressee has moved, no forwarding address", "Addressee moved, returned to sender"),
            ("", "Not collected within the time limit, returned to sender"))  # fmt: skip
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


# --- building one item's history -----------------------------------------------------------


class _Clock:
    """Offsets of offices, cached per zone and UTC day (per hour on the days a zone changes).

    An office whose city we know reports its zone's offset; one that does not (`explicit` off)
    reports what `times.offset_for` derives from its country, which may be None.
    """

    def __init__(self) -> None:
        self._days: dict[tuple[str, int], int | None] = {}
        self._hours: dict[tuple[str, int], int] = {}
        self._derived: dict[tuple[str, int], int | None] = {}
        self._midnights: dict[tuple[int, timezone | None], datetime] = {}

    def offsets(self, office: _Office, t: int) -> tuple[int, int | None]:
        """(offset of the office's zone at minute t, offset the office reports)."""
        zone = self._zone(office.tz, t)
        if office.explicit:
            return zone, zone
        key = (office.country, t // _DAY)
        if key not in self._derived:
            local = _EPOCH + timedelta(minutes=t + zone)
            self._derived[key] = offset_for(office.country, local, office.code)
        return zone, self._derived[key]

    def at(self, t: int, tz: timezone | None) -> datetime:
        """The datetime of minute t, naive or in UTC (built from cached midnights)."""
        day, minute = divmod(t, _DAY)
        midnight = self._midnights.get((day, tz))
        if midnight is None:
            midnight = self._midnights[(day, tz)] = (_EPOCH + timedelta(days=day)).replace(
                tzinfo=tz
            )
        return midnight + _MINUTES[minute]

    def _zone(self, tz: str, t: int) -> int:
        day = t // _DAY
        offset = self._days.get((tz, day), _UNSET)
        if offset == _UNSET:
            start, end = _exact(tz, day * _DAY), _exact(tz, day * _DAY + _DAY - 1)
            offset = self._days[(tz, day)] = start if start == end else None
        if offset is None:  # the zone changes this day
            hour = (tz, t // 60)
            if hour not in self._hours:
                self._hours[hour] = _exact(tz, t // 60 * 60)
            return self._hours[hour]
        return offset


_UNSET = 1 << 30
_MINUTES = tuple(timedelta(minutes=m) for m in range(_DAY))


def _exact(tz: str, t: int) -> int:
    delta = (_EPOCH_UTC + timedelta(minutes=t)).astimezone(ZoneInfo(tz)).utcoffset()
    assert delta is not None  # a ZoneInfo always knows its offset
    return delta // _MINUTE


_Scan = tuple[int, str, _Office, dict[str, Any] | None]  # minute, code, office, detail


@dataclass(frozen=True, slots=True)
class _Lane:
    origin: _Region
    posting: _Office
    dest: _Region
    place: _Office  # the delivery office
    via: _Office | None  # transit office of exchange
    letter: bool  # registered or tracked letter: seldom through customs
    signed: bool  # delivered against a signature (not into a letter box)


class _Trip:
    """One item's history under construction: its lane, a clock of UTC minutes, the scans.

    `step` waits a random while, moves on to the office's working hours if asked, and scans.
    """

    __slots__ = ("clock", "lane", "rng", "scans", "shift", "start", "t")

    def __init__(self, rng: random.Random, clock: _Clock, lane: _Lane, start: int) -> None:
        self.rng, self.clock, self.lane, self.start, self.t = rng, clock, lane, start, start
        self.scans: list[_Scan] = []
        self.shift = 0  # minutes to move every scan by when the events are made

    def wait(self, lo_hours: float, hi_hours: float) -> None:
        if hi_hours:  # at least a minute, so that scans never share a time
            self.t += int((lo_hours + (hi_hours - lo_hours) * self.rng.random()) * 60) + 1

    def open(self, office: _Office, start: int, end: int) -> None:
        """Move on to the office's working hours (local); offices abroad close on Sundays."""
        off = self.clock.offsets(office, self.t)[0]
        day, minute = divmod(self.t + off, _DAY)
        if not start * 60 <= minute < end * 60:
            day += minute >= end * 60
            minute = start * 60 + self.rng.randrange(min(90, (end - start) * 60))
        if office.country != "CN" and (day + 5) % 7 == 6:  # day 0 was a Saturday
            day += 1
        self.t = day * _DAY + minute - off

    def step(
        self, lo: float, hi: float, code: str, office: _Office,
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

    def to_door(self, centres: Iterable[_Office]) -> None:
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


def _delivered(h: _Trip) -> None:
    h.journey()
    h.deliver()


def _in_transit(h: _Trip) -> None:
    _delivered(h)
    h.cut(_MOVING)


def _stale(h: _Trip) -> None:
    _delivered(h)
    h.cut(_LOST)


def _posted_only(h: _Trip) -> None:
    h.step(0, 0, "EMA", h.lane.posting, (8, 18))


def _customs_held(h: _Trip) -> None:
    h.outward()
    h.flight()
    h.inward("held")


def _customs_released(h: _Trip) -> None:
    h.journey("released")
    h.deliver()


def _export_customs(h: _Trip) -> None:
    h.outward("held")


def _export_cancelled(h: _Trip) -> None:
    h.outward("cancelled")


def _failed_then_delivered(h: _Trip) -> None:
    h.journey()
    h.attempt(*h.rng.choice(_ATTEMPTS[:3]))
    if h.rng.random() < 0.5:  # out again the next working day
        h.step(16, 22, "EDG", h.lane.place, (7, 11))
    else:  # collected at the counter after the notice
        h.step(0.5, 3, "EDF", h.lane.place, (9, 19))
        h.wait(18, 100)
    h.deliver()


def _awaiting_pickup(h: _Trip) -> None:
    h.journey()
    h.attempt(*_ATTEMPTS[3])
    locker = replace(h.lane.place, name=f"{h.lane.place.name} PARCEL LOCKER")
    h.step(1, 5, "EDH", locker, (8, 20))


def _returned(h: _Trip) -> None:
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


def _unknown_code(h: _Trip) -> None:
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


def _home(h: _Trip, label: str) -> None:
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
_SCENARIOS: dict[str, tuple[Callable[[_Trip], None], float, float, float, float]] = {
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
_MIX_LABELS = tuple(_SCENARIOS)
_MIX_CUM = list(accumulate(share for *_, share in _SCENARIOS.values()))
# China domestic items: scenario -> (age of the last scan from .. to, share in percent)
_DOMESTIC = {"delivered": (0.1, 60, 65), "in_transit": (0.02, 1.5, 20),
             "posted_only": (0.02, 1, 10), "failed_then_delivered": (0.1, 60, 5)}  # fmt: skip
_DOMESTIC_LABELS = tuple(_DOMESTIC)
_DOMESTIC_CUM = list(accumulate(share for *_, share in _DOMESTIC.values()))
# The first items: one of each, so that every example exists in a small demo too.
_OPENING = ("delivered", "in_transit", "customs_held", "failed_then_delivered", "returned",
            "stale", "posted_only", "unknown_code", "inbound", "domestic", "awaiting_pickup",
            "customs_released", "export_customs", "export_cancelled")  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Item:
    number: str
    kind: str
    service: str
    origin: str
    dest: str
    postcode: str | None
    trip: _Trip
    labels: tuple[str, ...]


class _Demo:
    """The generator's state: one random stream, the numbers issued, the examples found."""

    def __init__(self, items: int, seed: int, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (the demo places histories before it)")
        if items < 0:
            raise ValueError("items must be zero or more")
        self.items, self.rng, self.clock = items, random.Random(seed), _Clock()
        self.now = (now.astimezone(UTC) - _EPOCH_UTC) // _MINUTE
        self.used: set[str] = set()
        self.done = 0
        self.examples: dict[str, str] = {}
        self._best: set[str] = set()  # labels whose example is already a preferred one
        self._services: dict[str, str] = {}
        self._history = random.Random()  # reseeded for every history, so it can run again

    # -- numbers and lanes

    def _s10(self, si: str, country: str) -> str:
        while True:
            serial = f"{self.rng.randrange(100_000_000):08d}"
            number = f"{si}{serial}{s10.check_digit(serial)}{country}"
            if number not in self.used:
                self.used.add(number)
                return number

    def _service(self, si: str) -> str:
        if si not in self._services:
            self._services[si] = s10.classify(si)
        return self._services[si]

    def _lane(self, si: str, origin: _Region, dest: _Region, via: tuple[str, ...]) -> _Lane:
        rng = self.rng
        r = rng.random()
        hop = (
            _TRANSIT[rng.choice(via)]
            if via and r < 0.8
            else _TRANSIT["HKHKGA"]
            if r < 0.06
            else None
        )
        return _Lane(origin, rng.choice(origin.places), dest, rng.choice(dest.places), hop,
                     si[0] in "RL", si[0] != "L")  # fmt: skip

    def _china(self) -> _Region:
        return self.rng.choices(_CHINA_REGIONS, cum_weights=_CHINA_CUM)[0]

    # -- items

    def _international(
        self, label: str, inbound: bool, age: float | None = None, number: str | None = None
    ) -> _Item:
        rng = self.rng
        if inbound:
            country, sis = rng.choices(_INBOUND_FROM, cum_weights=_INBOUND_CUM)[0]
            si = number[:2] if number else rng.choice(sis)
            lane = self._lane(si, rng.choice(_REGIONS[country]), self._china(), ())
        else:
            country, via = rng.choices(_ABROAD_TO, cum_weights=_ABROAD_CUM)[0]
            si = number[:2] if number else rng.choice(_OUTBOUND_SI)
            lane = self._lane(si, self._china(), rng.choice(_REGIONS[country]), via)
        number = number or self._s10(si, lane.origin.impc.country)
        build, lo, hi, est, _ = _SCENARIOS[label]
        trip = self._place(build, lane, self._age(lo, hi) if age is None else age, est)
        labels = (label, "inbound") if inbound else (label,)
        return _Item(number, "s10", self._service(si), lane.origin.impc.country,
                     lane.dest.impc.country, lane.place.postcode, trip, labels)  # fmt: skip

    def _domestic(self, label: str | None = None) -> _Item:
        rng = self.rng
        label = label or rng.choices(_DOMESTIC_LABELS, cum_weights=_DOMESTIC_CUM)[0]
        a, b = self._china(), self._china()
        lane = _Lane(a, rng.choice(a.places), b, rng.choice(b.places), None, False, True)
        lo, hi, _ = _DOMESTIC[label]
        trip = self._place(lambda h: _home(h, label), lane, self._age(lo, hi), 2)
        number = f"{rng.choice(_DOMESTIC_PREFIXES)}{rng.randrange(10**11):011d}"
        return _Item(number, "domestic", "domestic_ems", "CN", "CN", lane.place.postcode, trip,
                     ("domestic", label))  # fmt: skip

    def _age(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.rng.random() ** 2  # more recent than old

    def _place(
        self, build: Callable[[_Trip], None], lane: _Lane, age_days: float, est_days: float
    ) -> _Trip:
        """A history whose last scan is `age_days` old, or up to an eighth (or 2 days) older.

        The first run starts `est_days` before that. If it ends elsewhere, it runs again
        from the same random seed, started whole days later or earlier, so that weekends and
        clock changes fall on their real dates (a third run if weekends moved it a day). If it
        still ends after the target, the history moves back by whole weeks.
        """
        target, seed = self.now - int(age_days * _DAY), self.rng.getrandbits(64)
        start, slack = target - int(est_days * _DAY), max(2 * _DAY, int(age_days * _DAY) // 8)
        for _ in range(3):
            self._history.seed(seed)
            trip = _Trip(self._history, self.clock, lane, start)
            build(trip)
            early = target - trip.scans[-1][0]
            if 0 <= early < slack:
                break
            start += early // _DAY * _DAY
        trip.shift = min(0, (target - trip.scans[-1][0]) // _WEEK * _WEEK)
        return trip

    def _events(self, item: _Item) -> list[IncomingEvent]:
        """The events of an item: office wall times and offsets, ingest times, item details."""
        scans, offsets, at = item.trip.scans, self.clock.offsets, self.clock.at
        shift = item.trip.shift
        out = []
        for t0, code, office, detail in scans:
            t = t0 + shift
            zone, shown = offsets(office, t)
            local = at(t + zone, None)
            ingested = at(min(t + 5 + t0 % 55, self.now), UTC)  # a few minutes later
            # Positional: this runs once per event and is the generator's hot spot.
            if detail is None:
                event = Event(code, local, shown, office.code, office.name, office.country,
                              source=SOURCE, ingested_at=ingested)  # fmt: skip
            else:
                event = Event(code, local, shown, office.code, office.name, office.country,
                              source=SOURCE, ingested_at=ingested, **detail)  # fmt: skip
            postcode = item.postcode if code == "EMA" else None
            out.append(IncomingEvent(item.number, item.kind, item.service, item.origin,
                                     item.dest, postcode, event))  # fmt: skip
        return out

    # -- the whole demo

    def _slot(self, index: int) -> list[_Item]:
        """The next item, or two items with the same number two years apart (S10 reuse)."""
        rng = self.rng
        if index % 2000 == len(_OPENING) and self.items - self.done >= 2:
            number = self._s10(rng.choice(("EA", "EB", "ED", "EE")), "CN")
            first = self._international("delivered", False, 690 + 70 * rng.random(), number)
            again = self._international("in_transit", False, number=number)
            return [replace(first, labels=()), replace(again, labels=("reused",))]
        if index < len(_OPENING):
            label = _OPENING[index]
            if label == "domestic":
                return [self._domestic("delivered")]
            if label == "inbound":
                return [self._international("delivered", inbound=True)]
            return [self._international(label, inbound=False)]
        r = rng.random()
        if r < 0.05:
            return [self._domestic()]
        label = rng.choices(_MIX_LABELS, cum_weights=_MIX_CUM)[0]
        return [self._international(label, inbound=r < 0.22)]

    def _examples(self, item: _Item) -> None:
        # Prefer China EMS items; for "inbound" and "domestic", delivered ones (a full history).
        for label in item.labels:
            if label in self._best:
                continue
            if label in ("inbound", "domestic"):
                good = "delivered" in item.labels
            else:
                good = item.number[0] == "E" and item.number.endswith("CN")
            if good:
                self._best.add(label)
                self.examples[label] = item.number
            else:
                self.examples.setdefault(label, item.number)

    def batches(self) -> Iterator[list[IncomingEvent]]:
        batch: list[IncomingEvent] = []
        index = 0
        while self.done < self.items:
            for item in self._slot(index):
                events = self._events(item)
                if index % 500 == 17:  # the same scan delivered twice
                    events.append(events[self.rng.randrange(len(events))])
                if index % 500 == 101:  # a terser first report of the last scan
                    events.insert(len(events) - 1, _terse(events[-1]))
                batch.extend(events)
                self._examples(item)
                self.done += 1
            index += 1
            if len(batch) >= BATCH_EVENTS:
                yield batch
                batch = []
        if batch:
            yield batch


def _terse(incoming: IncomingEvent) -> IncomingEvent:
    """The same scan as a terser feed reports it: no detail, no office name beside a code."""
    e = incoming.event
    name = e.office_name if e.office_code is None else None  # the name keys a codeless office
    terse = replace(e, office_name=name, next_office_code=None, reason_text=None,
                    action_text=None, retention_text=None, signatory=None)  # fmt: skip
    return replace(incoming, event=terse)


def generate(items: int, seed: int, *, now: datetime) -> Iterator[list[IncomingEvent]]:
    """The demo as batches of about 5000 events; an item's events are never split.

    The same (items, seed, now) give the same events. `now` must be timezone-aware.
    """
    return _Demo(items, seed, now).batches()


# From this many items on, a second process generates and plans the batches while this one
# writes them; below it, starting another interpreter costs more than it saves.
BACKGROUND_FROM = 20_000


def load_demo(
    engine: Engine,
    *,
    items: int = 5000,
    seed: int = 1,
    now: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    background_from: int = BACKGROUND_FROM,
) -> DemoSummary:
    """Generate the demo and record it; loading it again stores nothing twice.

    A large demo is generated and planned (`plan_fresh`: what the writer would store for
    numbers with nothing stored yet) by a child process while this one writes the plans, so the
    two cores share the work. When a batch's numbers turn out to be stored already (the demo
    loaded twice, or another writer), the rest goes through the ordinary `record`, which
    merges and de-duplicates: the data are the same either way.
    """
    now = now or datetime.now(UTC)
    totals = [0, 0]  # items created, events stored
    examples: dict[str, str] = {}
    written = 0  # batches written from plans
    if items >= background_from:
        written = _load_planned(engine, items, seed, now, totals, examples, on_progress)
        if written < 0:
            return DemoSummary(items=totals[0], events=totals[1], examples=examples)
    demo = _Demo(items, seed, now)
    for index, batch in enumerate(demo.batches()):
        if index < written:  # generated again only to reach the same place in the stream
            continue
        result = record(engine, batch, now=now)
        totals[0] += result.items_created
        totals[1] += result.stored
        if on_progress is not None:
            on_progress(demo.done, items)
    return DemoSummary(items=totals[0], events=totals[1], examples=dict(demo.examples))


def _load_planned(
    engine: Engine,
    items: int,
    seed: int,
    now: datetime,
    totals: list[int],
    examples: dict[str, str],
    on_progress: Callable[[int, int], None] | None,
) -> int:
    """Write the child's plans; -1 when all are written, else how many were before one that
    could not be (the caller records the rest)."""
    # A plain child interpreter speaking pickle over a pipe, not multiprocessing, which would
    # run the caller's main module again in the child.
    sqlite = engine.dialect.name == "sqlite"
    command = [sys.executable, "-m", "emstrack.demo", str(items), str(seed), now.isoformat()]
    command.append("sqlite" if sqlite else "other")
    written = 0
    # Its stderr goes to a file, not a pipe: a pipe nobody reads until the end would block a
    # child that writes more than the pipe holds (warnings), and the two would wait for ever.
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors) as child,
    ):
        assert child.stdout is not None
        try:
            while True:
                try:
                    kind, payload, done = pickle.load(child.stdout)
                except EOFError:
                    child.wait()
                    errors.seek(0)
                    lines = errors.read().decode(errors="replace").strip().splitlines()
                    why = lines[-1] if lines else f"exit status {child.wait()}"
                    raise RuntimeError(f"the demo generator stopped: {why}") from None
                if kind == "end":
                    examples.update(payload)
                    return -1
                result = write_fresh(engine, payload)
                if result is None:
                    return written
                written += 1
                totals[0] += result.items_created
                totals[1] += result.stored
                if on_progress is not None:
                    on_progress(done, items)
        finally:
            if child.poll() is None:
                child.kill()


def _produce(items: int, seed: int, now: datetime, sqlite: bool, out: BinaryIO) -> None:
    """The child of `_load_planned`: pickled plans, then the examples, written to `out`."""
    demo = _Demo(items, seed, now)
    for batch in demo.batches():
        plan = plan_fresh(batch, sqlite=sqlite, now=now)
        pickle.dump(("plan", plan, demo.done), out, pickle.HIGHEST_PROTOCOL)
    pickle.dump(("end", demo.examples, demo.done), out, pickle.HIGHEST_PROTOCOL)
    out.flush()
