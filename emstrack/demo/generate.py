"""The demo generator: a deterministic stream of realistic items, as batches of events.

The same (items, seed, now) give the same events. Histories are placed relative to `now`, so
items "in transit" are recent and "stale" ones have had no scan for weeks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from emstrack.demo.clock import DAY, EPOCH_UTC, MINUTE, WEEK, Clock
from emstrack.demo.places import (
    ABROAD_CUM,
    ABROAD_TO,
    CHINA_CUM,
    CHINA_REGIONS,
    DOMESTIC_PREFIXES,
    INBOUND_CUM,
    INBOUND_FROM,
    OUTBOUND_SI,
    REGIONS,
    TRANSIT,
    Region,
)
from emstrack.demo.trips import (
    DOMESTIC,
    DOMESTIC_CUM,
    DOMESTIC_LABELS,
    MIX_CUM,
    MIX_LABELS,
    OPENING,
    SCENARIOS,
    Lane,
    Trip,
    domestic,
)
from emstrack.domain import s10
from emstrack.domain.events import Event
from emstrack.ingest.records import IncomingEvent

BATCH_EVENTS = 5000
SOURCE = "demo"


@dataclass(frozen=True, slots=True)
class _Item:
    number: str
    kind: str
    service: str
    origin: str
    dest: str
    postcode: str | None
    trip: Trip
    labels: tuple[str, ...]


class Demo:
    """The generator's state: one random stream, the numbers issued, the examples found."""

    def __init__(self, items: int, seed: int, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware (the demo places histories before it)")
        if items < 0:
            raise ValueError("items must be zero or more")
        self.items, self.rng, self.clock = items, random.Random(seed), Clock()
        self.now = (now.astimezone(UTC) - EPOCH_UTC) // MINUTE
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

    def _lane(self, si: str, origin: Region, dest: Region, via: tuple[str, ...]) -> Lane:
        rng = self.rng
        r = rng.random()
        hop = (
            TRANSIT[rng.choice(via)] if via and r < 0.8 else TRANSIT["HKHKGA"] if r < 0.06 else None
        )
        return Lane(origin, rng.choice(origin.places), dest, rng.choice(dest.places), hop,
                     si[0] in "RL", si[0] != "L")  # fmt: skip

    def _china(self) -> Region:
        return self.rng.choices(CHINA_REGIONS, cum_weights=CHINA_CUM)[0]

    # -- items

    def _international(
        self, label: str, inbound: bool, age: float | None = None, number: str | None = None
    ) -> _Item:
        rng = self.rng
        if inbound:
            country, sis = rng.choices(INBOUND_FROM, cum_weights=INBOUND_CUM)[0]
            si = number[:2] if number else rng.choice(sis)
            lane = self._lane(si, rng.choice(REGIONS[country]), self._china(), ())
        else:
            country, via = rng.choices(ABROAD_TO, cum_weights=ABROAD_CUM)[0]
            si = number[:2] if number else rng.choice(OUTBOUND_SI)
            lane = self._lane(si, self._china(), rng.choice(REGIONS[country]), via)
        number = number or self._s10(si, lane.origin.impc.country)
        build, lo, hi, est, _ = SCENARIOS[label]
        trip = self._place(build, lane, self._age(lo, hi) if age is None else age, est)
        labels = (label, "inbound") if inbound else (label,)
        return _Item(number, "s10", self._service(si), lane.origin.impc.country,
                     lane.dest.impc.country, lane.place.postcode, trip, labels)  # fmt: skip

    def _domestic(self, label: str | None = None) -> _Item:
        rng = self.rng
        label = label or rng.choices(DOMESTIC_LABELS, cum_weights=DOMESTIC_CUM)[0]
        a, b = self._china(), self._china()
        lane = Lane(a, rng.choice(a.places), b, rng.choice(b.places), None, False, True)
        lo, hi, _ = DOMESTIC[label]
        trip = self._place(lambda h: domestic(h, label), lane, self._age(lo, hi), 2)
        number = f"{rng.choice(DOMESTIC_PREFIXES)}{rng.randrange(10**11):011d}"
        return _Item(number, "domestic", "domestic_ems", "CN", "CN", lane.place.postcode, trip,
                     ("domestic", label))  # fmt: skip

    def _age(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.rng.random() ** 2  # more recent than old

    def _place(
        self, build: Callable[[Trip], None], lane: Lane, age_days: float, est_days: float
    ) -> Trip:
        """A history whose last scan is `age_days` old, or up to an eighth (or 2 days) older.

        The first run starts `est_days` before that. If it ends elsewhere, it runs again
        from the same random seed, started whole days later or earlier, so that weekends and
        clock changes fall on their real dates (a third run if weekends moved it a day). If it
        still ends after the target, the history moves back by whole weeks.
        """
        target, seed = self.now - int(age_days * DAY), self.rng.getrandbits(64)
        start, slack = target - int(est_days * DAY), max(2 * DAY, int(age_days * DAY) // 8)
        for _ in range(3):
            self._history.seed(seed)
            trip = Trip(self._history, self.clock, lane, start)
            build(trip)
            early = target - trip.scans[-1][0]
            if 0 <= early < slack:
                break
            start += early // DAY * DAY
        trip.shift = min(0, (target - trip.scans[-1][0]) // WEEK * WEEK)
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
        if index % 2000 == len(OPENING) and self.items - self.done >= 2:
            number = self._s10(rng.choice(("EA", "EB", "ED", "EE")), "CN")
            first = self._international("delivered", False, 690 + 70 * rng.random(), number)
            again = self._international("in_transit", False, number=number)
            return [replace(first, labels=()), replace(again, labels=("reused",))]
        if index < len(OPENING):
            label = OPENING[index]
            if label == "domestic":
                return [self._domestic("delivered")]
            if label == "inbound":
                return [self._international("delivered", inbound=True)]
            return [self._international(label, inbound=False)]
        r = rng.random()
        if r < 0.05:
            return [self._domestic()]
        label = rng.choices(MIX_LABELS, cum_weights=MIX_CUM)[0]
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
    return Demo(items, seed, now).batches()
