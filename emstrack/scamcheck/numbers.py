"""Tracking numbers quoted in a message: candidates found by shape, then parsed for real."""

from __future__ import annotations

import re

from emstrack.domain import s10
from emstrack.domain.tracking_number import TrackingNumber

# Two letters, nine digits (maybe grouped by spaces), two letters; or 13 digits alone.
_S10_LIKE = re.compile(
    r"(?<![A-Za-z0-9])([A-Za-z]{2} ?\d{3} ?\d{3} ?\d{3} ?[A-Za-z]{2})(?![A-Za-z0-9])"
)
_DIGITS13 = re.compile(r"(?<!\d)(\d{13})(?!\d)")
MAX_NUMBERS = 10


def candidates(text: str) -> list[str]:
    """The compact numbers a message quotes, each once, at most `MAX_NUMBERS`."""
    found: list[str] = []
    for match in [*_S10_LIKE.finditer(text), *_DIGITS13.finditer(text)]:
        number = s10.normalise(match.group(1))
        if number not in found:
            found.append(number)
    return found[:MAX_NUMBERS]


def without_numbers(text: str) -> str:
    """`text` with the tracking numbers it quotes blanked out (their digits are no phone's)."""
    return _DIGITS13.sub(" ", _S10_LIKE.sub(" ", text))


_PLACEHOLDER_SERIALS = frozenset({"12345678", "01234567", "23456789", "87654321"})
#: Five or more consecutive digits counting up ("01234", "56789"): a sample or a masked copy.
_RUN = re.compile("|".join("".join(str(d + i) for i in range(5)) for d in range(6)))


def bad_check_digit(tn: TrackingNumber) -> bool:
    """True when the number is shaped right but its check digit is wrong (an invented number).

    A placeholder serial (all one digit, "12345678", or a run such as "…01234"), as examples
    and anonymised copies print, is no invention meant to deceive, and is not counted.
    """
    serial = tn.number[2:10] if len(tn.number) == 13 else ""
    if serial.isdigit() and (len(set(serial)) == 1 or serial in _PLACEHOLDER_SERIALS):
        return False
    if _RUN.search(tn.number[2:11]):  # "MA038501234GB": a run typed to fill the shape
        return False
    return any(p.code == "check_digit" for p in tn.problems)
