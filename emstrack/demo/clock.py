"""The demo's clock: whole UTC minutes from an epoch, and the offset each office reports.

Times are built on a clock of whole UTC minutes; each scan becomes an `Event` with the office's
wall time. The offset is what `times.offset_for` derives from the country, or, for an office whose
city (and so zone) we know in a country with several zones, that zone's offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from emstrack.demo.places import Office
from emstrack.domain.times import offset_for

EPOCH = datetime(2000, 1, 1)  # minute 0 of the internal clock (UTC); a Saturday
EPOCH_UTC = EPOCH.replace(tzinfo=UTC)
DAY = 1440
WEEK = 7 * DAY
MINUTE = timedelta(minutes=1)


class Clock:
    """Offsets of offices, cached per zone and UTC day (per hour on the days a zone changes).

    An office whose city we know reports its zone's offset; one that does not (`explicit` off)
    reports what `times.offset_for` derives from its country, which may be None.
    """

    def __init__(self) -> None:
        self._days: dict[tuple[str, int], int | None] = {}
        self._hours: dict[tuple[str, int], int] = {}
        self._derived: dict[tuple[str, int], int | None] = {}
        self._midnights: dict[tuple[int, timezone | None], datetime] = {}

    def offsets(self, office: Office, t: int) -> tuple[int, int | None]:
        """(offset of the office's zone at minute t, offset the office reports)."""
        zone = self._zone(office.tz, t)
        if office.explicit:
            return zone, zone
        key = (office.country, t // DAY)
        if key not in self._derived:
            local = EPOCH + timedelta(minutes=t + zone)
            self._derived[key] = offset_for(office.country, local, office.code)
        return zone, self._derived[key]

    def at(self, t: int, tz: timezone | None) -> datetime:
        """The datetime of minute t, naive or in UTC (built from cached midnights)."""
        day, minute = divmod(t, DAY)
        midnight = self._midnights.get((day, tz))
        if midnight is None:
            midnight = self._midnights[(day, tz)] = (EPOCH + timedelta(days=day)).replace(tzinfo=tz)
        return midnight + _MINUTES[minute]

    def _zone(self, tz: str, t: int) -> int:
        day = t // DAY
        offset = self._days.get((tz, day), _UNSET)
        if offset == _UNSET:
            start, end = _exact(tz, day * DAY), _exact(tz, day * DAY + DAY - 1)
            offset = self._days[(tz, day)] = start if start == end else None
        if offset is None:  # the zone changes this day
            hour = (tz, t // 60)
            if hour not in self._hours:
                self._hours[hour] = _exact(tz, t // 60 * 60)
            return self._hours[hour]
        return offset


_UNSET = 1 << 30
_MINUTES = tuple(timedelta(minutes=m) for m in range(DAY))


def _exact(tz: str, t: int) -> int:
    delta = (EPOCH_UTC + timedelta(minutes=t)).astimezone(ZoneInfo(tz)).utcoffset()
    assert delta is not None  # a ZoneInfo always knows its offset
    return delta // MINUTE
