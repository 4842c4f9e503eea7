"""Quiet hours: the part of a recipient's day in which e-mail and chat notices wait."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def parse_quiet_hours(text: str) -> tuple[time, time] | None:
    """`"22:00-07:00"` -> (22:00, 07:00); empty -> None. A window may run past midnight."""
    text = text.strip()
    if not text:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise ValueError("must be HH:MM-HH:MM, such as 22:00-07:00, or empty") from None
    if start == end:
        raise ValueError("the start and the end of the quiet hours must differ")
    return start, end


def quiet_until(now: datetime, window: tuple[time, time] | None, zone: str) -> datetime | None:
    """When the quiet hours around `now` (aware) end, in UTC terms; None if it is not quiet."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(ZoneInfo(zone))
    clock = local.time().replace(tzinfo=None)
    # A window that runs past midnight is quiet after its start or before its end.
    quiet = start <= clock < end if start < end else clock >= start or clock < end
    if not quiet:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=local.tzinfo).astimezone(now.tzinfo)
