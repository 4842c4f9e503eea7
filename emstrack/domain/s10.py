"""UPU S10 and China domestic tracking numbers: normalise, check, parse, suggest.

Follows docs/standards/s10.md and docs/standards/china-ems.md. `parse` never raises: every
finding becomes a `Problem`, and a format error stops the run while the check digit, service
and country levels report together (docs/standards/s10.md §8). "Did you mean" candidates that
are mere guesses carry `needs_record=True` and are shown only once `with_known` has found them
in the database.
What `parse` answers, a `TrackingNumber`, and its words are in `domain.tracking_number`.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from functools import lru_cache
from string import ascii_uppercase

from emstrack.domain import countries
from emstrack.domain.problems import Problem, Severity
from emstrack.domain.tracking_number import (
    EMS_PREFIXES,
    EXTENDED_PREFIXES,
    NumberKind,
    Scope,
    Suggestion,
    TrackingNumber,
    format_grouped,
)

WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
MAX_LENGTH = 64  # longer input is reported as too long without further analysis
_MAX_RAW = 1024  # never even normalise more than this

# A wrong check digit has ~9 one-digit corrections (docs/standards/s10.md §3). The product
# promise is to offer the numbers one edit away that a person most likely meant — the check
# digit itself corrected, one adjacent swap — with items on record first; other single-digit
# repairs of the serial are shown only for items on record. Set to True to show the first kind
# only when on record too.
GUESSES_NEED_RECORD = False

_S10 = re.compile(r"([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})")
_NO_CHECK = re.compile(r"[A-Z]{2}[0-9]{8}[A-Z]{2}")
_NO_COUNTRY = re.compile(r"[A-Z]{2}[0-9]{9}")
_CUT_COUNTRY = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]")
_EXTRA_DIGIT = re.compile(r"[A-Z]{2}[0-9]{10}[A-Z]{2}")
_BAD_CHAR = re.compile(r"[^A-Z0-9]")

_DROP = frozenset(".,/\\_·•‧・'\"`、。")
_DROP_CATEGORIES = frozenset({"Pd", "Zs", "Zl", "Zp", "Cc", "Cf"})

# Look-alikes, applied by position class only. Letters become digits more liberally (S/B/Z too)
# because a serial can hold nothing else; digits become letters only for the classic 0/O, 1/I.
_TO_DIGIT = str.maketrans("OQDILSBZ", "00011582")
_TO_LETTER = str.maketrans("01", "OI")

_SHAPES = "an international (S10) number has 13 characters: 2 letters, 9 digits and 2 letters"
_SHAPES += " (like EE 123 456 785 CN), and a China domestic EMS number has 13 digits"


def normalise(raw: str) -> str:
    """Compact upper-case form: NFKC, no whitespace, dashes, dots or other separators."""
    if raw.isascii() and raw.isalnum():
        return raw.upper()
    out: list[str] = []
    for ch in unicodedata.normalize("NFKC", raw).upper():
        cat = unicodedata.category(ch)
        if ch in _DROP or cat in _DROP_CATEGORIES or ch.isspace():
            continue
        if cat == "Nd" and not ch.isascii():  # Arabic-Indic and other decimal digits
            ch = str(unicodedata.decimal(ch))
        out.append(ch)
    return "".join(out)


def _digit_for(total: int) -> int:
    c = 11 - total % 11
    return 0 if c == 10 else 5 if c == 11 else c


_ASCII_ZERO_SUM = ord("0") * sum(WEIGHTS)


def _weighted(serial: str) -> int:
    # Byte arithmetic is ~2x faster than int() per digit; callers pass 8 ASCII digits.
    total: int = sum(map(operator.mul, serial.encode(), WEIGHTS))
    return total - _ASCII_ZERO_SUM


def check_digit(serial: str) -> int:
    """The S10 check digit of an 8-digit serial (docs/standards/s10.md §3)."""
    if len(serial) != 8 or not (serial.isascii() and serial.isdigit()):
        raise ValueError(f"an S10 serial is 8 digits, got {serial!r}")
    return _digit_for(_weighted(serial))


def _classify_rule(si: str) -> str:
    a, b = si[0], si[1]
    if a in "JKSTW":
        return "reserved"
    simple = {"E": "ems", "C": "parcel", "H": "ecommerce_parcel", "R": "registered"}
    simple |= {"V": "insured", "L": "letter_tracked", "M": "m_bag", "U": "letter_untracked_goods"}
    if a in simple:
        return simple[a]
    if a == "Q" and b <= "M":
        return "ibrs"
    if a in "BDNPZ" or si in ("GA", "GD") or (a == "A" and b >= "V"):
        return "domestic"
    return "unassigned"


_SERVICE = {a + b: _classify_rule(a + b) for a in ascii_uppercase for b in ascii_uppercase}


def classify(si: str) -> str:
    """The service range of a 2-letter service indicator (docs/standards/s10.md §6)."""
    try:
        return _SERVICE[si]
    except KeyError:
        raise ValueError(f"a service indicator is 2 letters A-Z, got {si!r}") from None


_REASONS = {
    "check_digit": "check digit corrected",
    "transposition": "two neighbouring digits swapped",
    "confusable": "look-alike characters corrected",
    "missing_check_digit": "check digit added",
    "country_code": "country code corrected",
    "missing_country": "country code added",
    "substitution": "one digit changed",
    "extra_digit": "one extra digit removed",
    "extra_characters": "other characters removed",
}


def _suggest(number: str, reason: str, needs_record: bool = False, note: str = "") -> Suggestion:
    why = f"{note}: {_REASONS[reason]}" if note else _REASONS[reason]
    message = f"Did you mean {format_grouped(number)}? ({why})"
    return Suggestion(number, reason, message, needs_record=needs_record)


def _fully_valid(number: str) -> bool:
    m = _S10.fullmatch(number)
    return bool(
        m
        and _digit_for(_weighted(m[2])) == int(m[3])
        and _SERVICE[m[1]] != "reserved"
        and countries.is_current(m[4])
    )


def parse(
    raw: str, *, scope: Scope = Scope.ANY, strict: bool = False, home_country: str = "CN"
) -> TrackingNumber:
    """Parse and validate user input; never raises, whatever the string."""
    return _parse(raw, scope, strict, home_country)


# Ingest sees the same number once per event, so a small cache pays. Results are immutable.
@lru_cache(maxsize=4096)
def _parse(raw: str, scope: Scope, strict: bool, home_country: str) -> TrackingNumber:
    if len(raw) > _MAX_RAW:
        # NFKC can expand one character to many (U+FDFA is 18): cut after normalising too.
        return _invalid(raw, normalise(raw[:MAX_LENGTH])[:MAX_LENGTH], [_too_long(len(raw))])
    n = normalise(raw)
    if m := _S10.fullmatch(n):
        return _parse_s10(raw, n, m, scope, strict)
    if len(n) > MAX_LENGTH:
        return _invalid(raw, n[:MAX_LENGTH], [_too_long(len(n))])
    if not n:
        return _invalid(
            raw, n, [Problem("empty", "Please enter a tracking number.", part="number")]
        )
    if bad := _BAD_CHAR.search(n):
        c, pos = bad.group(), bad.start() + 1
        msg = f"“{c}” (character {pos}) cannot be part of a tracking number: only letters A–Z"
        msg += " and digits are used."
        problem = Problem(
            "bad_character", msg, part="number", extra={"character": c, "position": pos}
        )
        stripped = _BAD_CHAR.sub("", n)
        return _invalid(raw, n, [problem], [_suggest(stripped, "extra_characters")])
    if n.isdigit():
        return _parse_digits(raw, n, scope)
    home = home_country.upper() if countries.is_current(home_country) else "CN"
    return _invalid(raw, n, *_diagnose(n, home))


def lookup_candidates(tn: TrackingNumber) -> list[str]:
    """Every suggested number, guesses included, to look up in the database in one query."""
    return [s.number for s in tn.suggestions]


def _invalid(
    raw: str, n: str, problems: list[Problem], suggestions: list[Suggestion] | None = None
) -> TrackingNumber:
    kind = NumberKind.INVALID
    found = _unique(suggestions or [])
    return TrackingNumber(raw, n, kind, None, None, None, None, None, tuple(problems), found)


def _unique(suggestions: list[Suggestion]) -> tuple[Suggestion, ...]:
    seen: dict[str, Suggestion] = {}
    for s in suggestions:
        if s.number not in seen and _fully_valid(s.number):
            seen[s.number] = s
    return tuple(seen.values())


def _too_long(length: int) -> Problem:
    msg = f"This is too long to be a tracking number ({length} characters); {_SHAPES}."
    return Problem("too_long", msg, part="number", extra={"length": length})


def _parse_s10(raw: str, n: str, m: re.Match[str], scope: Scope, strict: bool) -> TrackingNumber:
    si, serial, found, cc = m[1], m[2], int(m[3]), m[4]
    service = _SERVICE[si]
    total = _weighted(serial)
    expected = _digit_for(total)
    current = countries.is_current(cc)
    if (
        expected == found
        and current
        and service not in ("reserved", "unassigned")
        and scope != Scope.DOMESTIC
    ):  # the hot path: a valid number, nothing to report
        return TrackingNumber(raw, n, NumberKind.S10, si, serial, found, cc, service, (), ())
    problems: list[Problem] = []
    suggestions: list[Suggestion] = []
    if scope == Scope.DOMESTIC:
        msg = "This looks like an international S10 number, not a China domestic one; choose "
        msg += "International."
        problems.append(Problem("international_in_domestic_scope", msg, part="number"))
    if expected != found:
        msg = f"The check digit should be {expected}, not {found}."
        hint = "Compare the digits with the label: one is probably misread, or two are swapped."
        extra = {"expected": expected, "found": found}
        problems.append(Problem("check_digit", msg, part="check_digit", hint=hint, extra=extra))
    if service == "reserved":
        msg = f"{si} is not a valid service code: codes starting with {si[0]} are reserved and "
        problems.append(Problem("reserved_service", msg + "never issued.", part="service"))
    elif service == "unassigned":
        msg = f"{si} is not an assigned service code, so the kind of item is unknown; check the "
        msg += "two letters at the start."
        problems.append(Problem("unassigned_service", msg, Severity.WARNING, part="service"))
    fixed_cc = cc
    if not current:
        problem = _country_problem(cc, strict)
        problems.append(problem)
        if problem.severity is Severity.ERROR:
            # Codes one keystroke away only if on record: most neighbours are real countries.
            meant = countries.COMMON_MISTAKES.get(cc)
            for near in (c for c in countries.near_codes(cc) if c != meant):
                note = f"{cc} → {near}"
                suggestions.append(_suggest(n[:11] + near, "country_code", True, note))
        fixed_cc = countries.COMMON_MISTAKES.get(cc, cc)
        if fixed_cc != cc:
            suggestions.append(
                _suggest(n[:11] + fixed_cc, "country_code", note=f"{cc} → {fixed_cc}")
            )
    if expected != found:
        suggestions += _digit_candidates(si, serial, found, fixed_cc, total, expected)
    kind = NumberKind.S10
    found_s = _unique(suggestions)
    return TrackingNumber(raw, n, kind, si, serial, found, cc, service, tuple(problems), found_s)


def _country_problem(cc: str, strict: bool) -> Problem:
    """A code no one assigned is always an error; a habit (UK) or an old code a warning.

    `strict` (the setting `strict_countries`) makes the habits errors too; historic codes stay
    warnings, since old data holds them (docs/standards/s10.md §7–8).
    """
    user_assigned = countries.is_user_assigned(cc)
    severity = Severity.ERROR if strict or user_assigned else Severity.WARNING
    if fixed := countries.COMMON_MISTAKES.get(cc):
        msg = f"{cc} is not an ISO country code; the code for {countries.country_name(fixed)} is "
        msg += f"{fixed}."
        extra = {"found": cc, "expected": fixed}
        return Problem("not_iso_country", msg, severity, part="country", extra=extra)
    country = countries.lookup(cc)
    if country and country.kind == "historic":
        msg = f"{cc} is an old country code, no longer in use: {country.name}. The number may be "
        msg += "very old or mistyped."
        extra = {"found": cc, "country_name": country.name}
        return Problem("historic_country", msg, Severity.WARNING, part="country", extra=extra)
    if user_assigned:
        msg = f"{cc} is not a country code: ISO 3166 leaves it to private use, so no postal "
    else:
        msg = f"{cc} is not a country code: no country has it, so no postal "
    msg += "operator issues numbers ending in it; check the two letters at the end."
    return Problem(
        "unknown_country",
        msg,
        part="country",
        extra={"found": cc, "user_assigned": user_assigned},
    )


def _digit_candidates(
    si: str, serial: str, found: int, cc: str, total: int, expected: int
) -> list[Suggestion]:
    guess = GUESSES_NEED_RECORD
    out = [_suggest(f"{si}{serial}{expected}{cc}", "check_digit", guess)]
    digits = f"{serial}{found}"
    for i in range(8):
        if digits[i] != digits[i + 1]:
            swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
            if _digit_for(_weighted(swapped[:8])) == int(swapped[8]):
                out.append(_suggest(f"{si}{swapped}{cc}", "transposition", guess))
    for i, weight in enumerate(WEIGHTS):
        old = ord(serial[i]) - 48
        for d in range(10):
            if d != old and _digit_for(total + weight * (d - old)) == found:
                changed = f"{si}{serial[:i]}{d}{serial[i + 1 :]}{found}{cc}"
                out.append(_suggest(changed, "substitution", needs_record=True))
    return out


def _parse_digits(raw: str, n: str, scope: Scope) -> TrackingNumber:
    if len(n) != 13:
        code = "too_short" if len(n) < 13 else "too_long"
        hint = None
        if len(n) == 9:
            hint = "If these are the digits of an international number, add the letters before "
            hint += "and after them as printed on the label."
        msg = f"This has {len(n)} digits, but {_SHAPES}."
        return _invalid(
            raw, n, [Problem(code, msg, part="number", hint=hint, extra={"length": len(n)})]
        )
    prefix, problems = n[:2], []
    if scope == Scope.INTERNATIONAL:
        msg = "This looks like a 13-digit China domestic number, not an international S10 number; "
        msg += "choose Domestic."
        problems.append(Problem("domestic_in_international_scope", msg, part="number"))
    service = "domestic_ems"
    if prefix in EXTENDED_PREFIXES:
        msg = f"Prefix {prefix} is only sometimes EMS; the number may belong to another China Post "
        msg += "service or another carrier."
        problems.append(Problem("domestic_extended_prefix", msg, Severity.INFO, part="number"))
    elif prefix not in EMS_PREFIXES:
        service = "domestic"
        msg = f"{prefix} is not a known EMS prefix; this 13-digit number may belong to another "
        msg += "carrier such as Yunda."
        extra = {"prefix": prefix}
        problems.append(
            Problem("domestic_unknown_prefix", msg, Severity.WARNING, "number", None, extra)
        )
    msg = "China domestic numbers have no check digit, so only the length and digits were checked."
    problems.append(Problem("domestic_no_check_digit", msg, Severity.INFO, part="number"))
    kind = NumberKind.DOMESTIC
    return TrackingNumber(raw, n, kind, None, None, None, "CN", service, tuple(problems), ())


def _diagnose(n: str, home: str) -> tuple[list[Problem], list[Suggestion]]:
    """Format errors of an A-Z/0-9 string with letters that is not an S10 number."""
    length = len(n)
    if length == 12 and _NO_CHECK.fullmatch(n):
        digit = check_digit(n[2:10])
        msg = "The check digit is missing: there are 8 digits between the letters, not 9. "
        msg += f"For serial {n[2:10]} the check digit would be {digit}."
        problem = Problem("missing_check_digit", msg, part="check_digit", extra={"expected": digit})
        return [problem], [_suggest(f"{n[:10]}{digit}{n[10:]}", "missing_check_digit")]
    if length == 11 and _NO_COUNTRY.fullmatch(n):
        msg = "The two-letter country code at the end is missing. "
        msg += f"If the item comes from {countries.country_name(home)}, "
        msg += f"{home} is the country suffix — it looks like it was left off."
        problem = Problem("missing_country", msg, part="country", extra={"suggested": home})
        return [problem], [_suggest(n + home, "missing_country")]
    if length == 12 and _CUT_COUNTRY.fullmatch(n):
        likely = n[-1] == home[0]
        msg = f"The country code at the end has only one letter ({n[-1]}); it needs two"
        msg += f" — probably {home}." if likely else "."
        problem = Problem("country_cut_short", msg, part="country", extra={"found": n[-1]})
        return [problem], [_suggest(n + home[1], "missing_country")] if likely else []
    if length == 14 and _EXTRA_DIGIT.fullmatch(n):
        msg = "There are 10 digits between the letters; an S10 number has 9 (an 8-digit serial and"
        msg += " the check digit), so one digit is probably doubled or extra."
        cands = [_suggest(n[:i] + n[i + 1 :], "extra_digit", True) for i in range(2, 12)]
        return [Problem("too_long", msg, part="serial", extra={"length": length})], cands
    if length != 13:
        code = "too_short" if length < 13 else "too_long"
        msg = f"This has {length} characters, but {_SHAPES}."
        return [Problem(code, msg, part="number", extra={"length": length})], []
    if sum(c.isdigit() for c in n) >= 11 and (digits := n.translate(_TO_DIGIT)).isdigit():
        # Mostly digits: a domestic number with a look-alike letter, not a broken S10 number.
        msg = "A 13-digit China domestic number has digits only, but this has the letter "
        msg += f"{next(c for c in n if c.isalpha())}; did you mean {digits}?"
        extra = {"suggested": digits}
        return [Problem("letters_in_domestic", msg, part="number", extra=extra)], []
    fixed = (
        n[:2].translate(_TO_LETTER) + n[2:11].translate(_TO_DIGIT) + n[11:].translate(_TO_LETTER)
    )
    note = ", ".join(sorted({f"{a} → {b}" for a, b in zip(n, fixed, strict=True) if a != b}))
    return _positions(n), [_suggest(fixed, "confusable", note=note)] if note else []


def _positions(n: str) -> list[Problem]:
    """What is in the wrong place in a 13-character string."""
    out: list[Problem] = []
    if digits := [c for c in n[:2] if c.isdigit()]:
        msg = f"The service code at the start ({n[:2]}) must be two letters, but it contains "
        msg += f"the digit {digits[0]}."
        out.append(Problem("digit_in_service_indicator", msg, part="service"))
    if letters := [f"{c} (character {i + 3})" for i, c in enumerate(n[2:10]) if c.isalpha()]:
        msg = "The serial number (characters 3–10) must be digits only, but it contains the letter"
        msg += f"{'s' if len(letters) > 1 else ''} {', '.join(letters)}."
        out.append(Problem("letters_in_serial", msg, part="serial"))
    if n[10].isalpha():
        msg = f"The check digit (character 11) must be a digit, not the letter {n[10]}."
        out.append(Problem("letter_in_check_digit", msg, part="check_digit"))
    if digits := [c for c in n[11:] if c.isdigit()]:
        msg = f"The country code at the end ({n[11:]}) must be two letters, but it contains "
        msg += f"the digit {digits[0]}."
        out.append(Problem("digit_in_country", msg, part="country"))
    return out or [Problem("bad_format", f"This is not a tracking number; {_SHAPES}.")]


_ENTRY_SEPARATORS = re.compile(r"[\n\r,;，；、]+")


def split_entries(text: str) -> list[str]:
    """Numbers as typed in a box: one per line or comma; spaces separate only whole numbers
    (so `EE 123 456 785 CN` stays one number, and `EE123456785CN RR473124829GB` is two)."""
    out: list[str] = []
    for chunk in _ENTRY_SEPARATORS.split(text):
        words = chunk.split()
        if len(words) > 1 and all(len(normalise(w)) >= 11 for w in words):
            out.extend(words)
        elif words:
            out.append(" ".join(words))
    return out
