"""Event times: parse what sources write, derive UTC offsets, format offsets for people.

An event time is the office's local wall-clock time, kept naive and exactly as written, plus
an offset in minutes east of UTC when one is known (docs/standards/events.md §5). A naive time
is never declared UTC and never read in the server's own zone: without a known offset there is
no UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache, lru_cache
from importlib.resources import files
from typing import Final, Literal
from zoneinfo import ZoneInfo

from emstrack.errors import InputError

_MIN_OFFSET: Final = -12 * 60
_MAX_OFFSET: Final = 14 * 60
_MIN_YEAR: Final = 1990
_MAX_YEAR: Final = 2100
_EPOCH: Final = datetime(1970, 1, 1)
_MINUTE: Final = timedelta(minutes=1)

_TIME_EXAMPLES = "'2024-03-05T15:10', '2024-03-05 15:10:00+08:00' or '/Date(1709622600000)/'"
_OFFSET_EXAMPLES = "'+08:00', '+0530', '-03', 'Z' or 'UTC+8'"


class TimeParseError(InputError):
    """A time or offset we cannot read; the message says what was wrong and what works."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_time", message)


# Hours and minutes only: a bare three-digit count ("+480", "+330") could be minutes or
# h:mm, so it is refused rather than guessed.
_OFFSET_RE = re.compile(
    r"(?:UTC|GMT)?\s*(?P<sign>[+\-\u2212])\s*"
    r"(?:(?P<hh>\d{2})(?P<mm>\d{2})|(?P<h>\d{1,2})(?::(?P<m>\d{2}))?)",
    re.IGNORECASE,
)
_ZERO_OFFSETS: Final = frozenset({"Z", "UTC", "GMT", "UT"})


def parse_offset(text: str) -> int:
    """Minutes east of UTC from "+08:00", "+0800", "+08", "Z", "UTC", "UTC+5:30", "GMT-3"."""
    s = text.strip()
    if s.upper() in _ZERO_OFFSETS:
        return 0
    m = _OFFSET_RE.fullmatch(s)
    if m is None:
        raise TimeParseError(
            f"{text!r} is not a UTC offset; write hours and minutes, e.g. {_OFFSET_EXAMPLES}"
            " (bare minute counts such as '+480' are ambiguous)."
        )
    hours = int(m["hh"] or m["h"])
    minutes = int(m["mm"] or m["m"] or 0)
    if minutes >= 60:
        raise TimeParseError(
            f"{text!r} has {minutes} minutes in its UTC offset; minutes go up to 59,"
            f" e.g. {_OFFSET_EXAMPLES}."
        )
    total = hours * 60 + minutes
    return _checked_offset(-total if m["sign"] != "+" else total, text)


def _checked_offset(minutes: int, text: str) -> int:
    if not _MIN_OFFSET <= minutes <= _MAX_OFFSET:
        raise TimeParseError(
            f"{text!r} is outside the UTC offsets in use (-12:00 to +14:00);"
            f" e.g. {_OFFSET_EXAMPLES}."
        )
    if minutes % 15:
        raise TimeParseError(
            f"{text!r} is not a UTC offset in use: offsets are whole quarter hours,"
            f" e.g. {_OFFSET_EXAMPLES}."
        )
    return minutes


# .NET JSON date as returned by the UPU PTC API; JSON may escape the slashes.
_DOTNET_RE = re.compile(r"\\?/Date\((?P<ms>-?\d+)(?P<off>[+-]\d{4})?\)\\?/")
# Forms fromisoformat (3.11) refuses but sources write: lower-case "t", a zone word after a
# space ("15:10 UTC+8"), lower-case "z".
_LOOSE_RE = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt ]\s*(?P<time>\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?)"
    r"\s*(?P<off>\S.*)?"
)
_DATE_ONLY_MAX_LEN: Final = 10  # "2024-03-05"; any ISO date with a time is longer


def parse_event_time(text: str) -> tuple[datetime, int | None]:
    """(local wall time exactly as written, offset minutes or None) from ISO 8601 or /Date(ms)/."""
    s = text.strip()
    try:
        # Fast path: runs per event in bulk imports, and covers nearly every source.
        parsed = datetime.fromisoformat(s)
    except ValueError:
        local, offset = _parse_slow(text, s)
    else:
        if len(s) <= _DATE_ONLY_MAX_LEN:
            raise TimeParseError(
                f"{text!r} is a date without a time of day; an event needs both,"
                f" e.g. {_TIME_EXAMPLES}."
            )
        local, offset = parsed.replace(tzinfo=None), _offset_of(parsed, text)
    if not _MIN_YEAR <= local.year <= _MAX_YEAR:
        raise TimeParseError(
            f"{text!r} is in the year {local.year}; event times must fall between"
            f" {_MIN_YEAR} and {_MAX_YEAR}, e.g. {_TIME_EXAMPLES}."
        )
    return local, offset


def _offset_of(parsed: datetime, text: str) -> int | None:
    delta = parsed.utcoffset()
    if delta is None:
        return None
    if delta % _MINUTE:
        raise TimeParseError(
            f"{text!r} has seconds in its UTC offset; offsets are hours and minutes,"
            f" e.g. {_OFFSET_EXAMPLES}."
        )
    return _checked_offset(delta // _MINUTE, text)


def _parse_slow(text: str, s: str) -> tuple[datetime, int | None]:
    if m := _DOTNET_RE.fullmatch(s):
        # The bare number may be a UTC instant or local time encoded as UTC (open point 3 of
        # docs/standards/events.md): keep it as a naive wall time and leave the offset unknown.
        offset = parse_offset(m["off"]) if m["off"] else None
        try:
            # One sum, so that shifting by the offset cannot overflow past the year check: a
            # number near datetime's ends (year 1 or 9999) is refused here, not by a crash.
            # int() of thousands of digits raises ValueError.
            local = _EPOCH + timedelta(milliseconds=int(m["ms"]), minutes=offset or 0)
        except (OverflowError, ValueError):
            raise TimeParseError(
                f"{text!r} is too far from 1970 to be an event time;"
                f" write it like {_TIME_EXAMPLES}."
            ) from None
        return local, offset
    if m := _LOOSE_RE.fullmatch(s):
        time = m["time"].replace(",", ".")
        if len(time.partition(":")[0]) == 1:
            time = "0" + time
        try:
            local = datetime.fromisoformat(f"{m['date']}T{time}")
        except ValueError:
            raise TimeParseError(
                f"{text!r} is not a real date and time; write it like {_TIME_EXAMPLES}."
            ) from None
        return local, parse_offset(m["off"]) if m["off"] else None
    if re.fullmatch(r"\d{4}-?\d{2}-?\d{2}", s):
        raise TimeParseError(
            f"{text!r} is a date without a time of day; an event needs both, e.g. {_TIME_EXAMPLES}."
        )
    raise TimeParseError(
        f"{text!r} is not a date and time we can read; write it like {_TIME_EXAMPLES}."
    )


# --- offsets from the office's country (docs/standards/events.md §5 rules 3-5) ----------------

# China has one legal time; the tz database also lists Asia/Urumqi (UTC+6, Xinjiang time).
# zone1970.tab lists Europe/Simferopol under UA as well as RU; Ukrposhta's offices keep Kyiv time.
_COUNTRY_OVERRIDES: Final[dict[str, tuple[str, ...]]] = {
    "CN": ("Asia/Shanghai",),
    "UA": ("Europe/Kyiv",),
}


def _read_tab(name: str) -> dict[str, list[str]]:
    zones: dict[str, list[str]] = {}
    text = files("tzdata").joinpath(f"zoneinfo/{name}").read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        countries, _coords, zone, *_ = line.split("\t")
        for country in countries.split(","):
            zones.setdefault(country, []).append(zone)
    return zones


@cache
def _country_zones() -> dict[str, tuple[ZoneInfo, ...]]:
    table = _read_tab("zone.tab")  # covers small territories that zone1970.tab folds away
    table.update(_read_tab("zone1970.tab"))
    table.update({c: list(z) for c, z in _COUNTRY_OVERRIDES.items()})
    return {country: tuple(ZoneInfo(z) for z in names) for country, names in table.items()}


class _Hour(Enum):
    MIXED = "mixed"  # some zone changes offset within the hour: compute the exact time


_HOUR_END: Final = timedelta(minutes=59, seconds=59, microseconds=999_999)


def _offsets(zones: tuple[ZoneInfo, ...], local: datetime) -> tuple[tuple[int, int], ...]:
    # Per zone, the offset with fold=0 and fold=1: they differ exactly when the time is in a
    # DST fold or gap.
    return tuple((_offset_in(zone, local, 0), _offset_in(zone, local, 1)) for zone in zones)


def _offset_in(zone: ZoneInfo, local: datetime, fold: int) -> int:
    delta = local.replace(tzinfo=zone, fold=fold).utcoffset()
    assert delta is not None  # a ZoneInfo always knows its offset
    return delta // _MINUTE


def _single(offsets: tuple[tuple[int, int], ...]) -> int | None:
    values = {value for pair in offsets for value in pair}
    return values.pop() if len(values) == 1 else None


@lru_cache(maxsize=8192)
def _hour_offset(country: str, hour: datetime) -> int | Literal[_Hour.MIXED] | None:
    # An hour's answer is shared only when every zone has the same offsets at the hour's first
    # and last instant, i.e. no transition inside it, whether at :00, :30 or any other minute
    # (tzdata has no zone that changes and changes back within one hour).
    zones = _country_zones()[country]
    start = _offsets(zones, hour)
    if start != _offsets(zones, hour + _HOUR_END):
        return _Hour.MIXED
    return _single(start)


def _days_at_noon(year: int) -> list[datetime]:
    first = datetime(year, 1, 1, 12)
    return [first + timedelta(days=d) for d in range((datetime(year + 1, 1, 1) - first).days + 1)]


@lru_cache(maxsize=4096)
def _year_pattern(country: str, year: int) -> int | Literal[_Hour.MIXED] | None:
    """What a whole year looks like in a country, sampled at noon every day.

    An offset when every zone has that same offset all year (China, Japan, India: most
    events of a bulk import); None when the zones never agree on any day (US, Russia,
    Australia: no local time there has a single offset); MIXED otherwise (daylight saving
    time), and then each hour is worked out. A change that comes and goes within one day
    would slip between the samples; tzdata has none.
    """
    zones = _country_zones()[country]
    seen = {_single(_offsets(zones, day)) for day in _days_at_noon(year)}
    if seen == {None}:
        return None
    if len(seen) == 1:
        return seen.pop()
    return _Hour.MIXED


def offset_for(country: str | None, local: datetime, office_code: str | None = None) -> int | None:
    """The UTC offset of a naive office-local time, if the office's country has one; else None."""
    known = _country_zones()
    code = (country or "").strip().upper()
    if code not in known:
        code = (office_code or "").strip().upper()[:2]
        if code not in known:
            return None
    if local.tzinfo is not None:
        local = local.replace(tzinfo=None)
    year = _year_pattern(code, local.year)
    if year is not _Hour.MIXED:
        return year
    answer = _hour_offset(code, local.replace(minute=0, second=0, microsecond=0))
    if answer is _Hour.MIXED:
        return _single(_offsets(known[code], local))
    return answer


def to_utc(local: datetime, offset_min: int | None) -> datetime | None:
    """The aware UTC instant of a local time, or None when the offset is unknown."""
    if offset_min is None:
        return None
    return (local.replace(tzinfo=None) - timedelta(minutes=offset_min)).replace(tzinfo=UTC)


def format_offset(offset_min: int | None) -> str | None:
    """For people: 480 -> "UTC+8", 330 -> "UTC+5:30", 0 -> "UTC", None -> None."""
    if offset_min is None:
        return None
    if offset_min == 0:
        return "UTC"
    sign = "+" if offset_min > 0 else "-"
    hours, minutes = divmod(abs(offset_min), 60)
    return f"UTC{sign}{hours}:{minutes:02d}" if minutes else f"UTC{sign}{hours}"


def format_iso_offset(offset_min: int) -> str:
    """For machines: 480 -> "+08:00", -210 -> "-03:30", 0 -> "+00:00"."""
    sign = "+" if offset_min >= 0 else "-"
    hours, minutes = divmod(abs(offset_min), 60)
    return f"{sign}{hours:02d}:{minutes:02d}"
