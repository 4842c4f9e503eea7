"""What recurs among reported messages: the domains, phone numbers, tracking numbers and phrases
that several reports share, so that an operator can warn about them ("messages from
ems-cn-delivery.top are not ours").

Pure: reports in (`Report`), a `Summary` out. Everything is counted per report, never per
occurrence: a domain linked five times in one message counts once. Only what is seen in at least
`min_reports` reports is kept.

- **Domains**: the registrable domain of every host linked (`links.hosts`, `domains.registrable`),
  and of the sender's e-mail address; an official domain of a post is marked with its operator.
- **Phone numbers**: in the text and the sender, found by `phonenumbers` as the country of the
  text would write them (a Chinese text: China's forms, 0xxx-xxxxxxx, mobiles, 400 numbers, with
  +86 or not; another text: the forms of the US, the UK and Australia), and written the one way
  E.164 writes them ("+8675512345678"); China's 95xxx service numbers as they are. A sender that
  `phonenumbers` cannot read (an SMS gateway's 106… number) is kept as its digits, with a
  leading "+" if it has one.
- **Tracking numbers**: those the message quotes (`numbers.candidates`), valid or not.
- **Phrases**: English word n-grams of 3 to 6 words, lower-cased, within a sentence, dropping
  those made only of stop words; and runs of 4 to 10 Chinese characters, traditional characters
  converted to simplified when `opencc` is installed. A phrase is dropped when a longer one that
  contains it recurs in exactly the same reports: "parcel is held" gives way to "your parcel is
  held at customs" when both are in the same messages.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import phonenumbers

from emstrack.scamcheck import links, numbers
from emstrack.scamcheck.domains import official, registrable

KINDS = ("domains", "phones", "tracking_numbers", "phrases")
MIN_WORDS, MAX_WORDS = 3, 6
MIN_HANZI, MAX_HANZI = 4, 10
#: Only the start of a report is read, as the checker reads it.
MAX_TEXT = 5000

STOP_WORDS = frozenset(
    {
        "a", "about", "above", "after", "again", "all", "am", "an", "and", "any", "are", "as", "at",
        "be", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could",
        "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further",
        "had", "has", "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if",
        "in", "into", "is", "it", "its", "itself", "just", "me", "more", "most", "my", "no", "nor",
        "not", "now", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "out",
        "over", "own", "same", "she", "should", "so", "some", "such", "than", "that", "the",
        "their", "theirs", "them", "then", "there", "these", "they", "this", "those", "through",
        "to", "too", "under", "until", "up", "very", "was", "we", "were", "what", "when", "where",
        "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your", "yours",
        "dear", "hi", "hello", "please", "thank", "thanks",
    }
)  # fmt: skip

_HANZI = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# A sentence's end, or anything else that no phrase spans: punctuation of either script, a line.
_BREAK = re.compile(r"[.!?;:,()\[\]{}<>\"“”‘’«»|/\\\n\r\t。！？；：，、（）【】《》「」『』…—]+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.I)
_EMAIL = re.compile(r"[^@\s<>]+@([a-z0-9.-]+\.[a-z]{2,})", re.I)
# China's service numbers (95555, 95598xx): too short for `phonenumbers` to find in text.
_SERVICE = re.compile(r"(?<![\d+])95\d{3,6}(?!\d)")
_DIGITS = re.compile(r"\d")


@dataclass(frozen=True, slots=True)
class Report:
    """A reported message, as `store.reports` keeps it."""

    id: int
    text: str
    sender: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Item:
    """One domain, number or phrase and the reports it recurs in."""

    value: str
    reports: int
    first_seen: datetime
    last_seen: datetime
    example: int  # the id of the latest report with it
    official: str | None = None  # a domain's operator, when it is one of theirs

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "value": self.value,
            "reports": self.reports,
            "first_seen": self.first_seen.isoformat(timespec="seconds"),
            "last_seen": self.last_seen.isoformat(timespec="seconds"),
            "example_report": self.example,
        }
        if self.official is not None:
            found["official"] = self.official
        return found


@dataclass(frozen=True, slots=True)
class Summary:
    """What recurs among `reports` reports, each kind most reported first."""

    reports: int
    min_reports: int
    domains: list[Item] = field(default_factory=list)
    phones: list[Item] = field(default_factory=list)
    tracking_numbers: list[Item] = field(default_factory=list)
    phrases: list[Item] = field(default_factory=list)

    def kinds(self) -> dict[str, list[Item]]:
        return {kind: getattr(self, kind) for kind in KINDS}

    def top(self, n: int) -> Summary:
        """The first `n` of each kind."""
        return Summary(
            self.reports, self.min_reports, *(items[:n] for items in self.kinds().values())
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reports": self.reports,
            "min_reports": self.min_reports,
            **{kind: [item.to_dict() for item in items] for kind, items in self.kinds().items()},
        }


def summarise(
    reports: Iterable[Report], *, min_reports: int = 2, official_domains: Iterable[str] = ()
) -> Summary:
    """What at least `min_reports` of `reports` share (see the module's docstring)."""
    known = official(official_domains)
    seen: dict[str, dict[str, list[Report]]] = {kind: {} for kind in KINDS}
    count = 0
    for report in reports:
        count += 1
        text = report.text[:MAX_TEXT]
        found = {
            "domains": domains_of(text, report.sender),
            "phones": phones_of(text, report.sender),
            "tracking_numbers": set(numbers.candidates(text)),
            "phrases": phrases_of(text),
        }
        for kind, values in found.items():
            for value in values:
                seen[kind].setdefault(value, []).append(report)
    least = max(1, min_reports)
    items = {kind: _items(seen[kind], least) for kind in KINDS}
    for index, item in enumerate(items["domains"]):
        if operator := known.operator_of(item.value):
            items["domains"][index] = Item(*_fields(item), official=operator)
    items["phrases"] = _longest(items["phrases"], seen["phrases"])
    return Summary(count, least, *(_ranked(items[kind]) for kind in KINDS))


def _fields(item: Item) -> tuple[str, int, datetime, datetime, int]:
    return item.value, item.reports, item.first_seen, item.last_seen, item.example


def _items(seen: dict[str, list[Report]], least: int) -> list[Item]:
    made = []
    for value, reports in seen.items():
        if len(reports) < least:
            continue
        latest = max(reports, key=lambda r: (r.created_at, r.id))
        first = min(r.created_at for r in reports)
        made.append(Item(value, len(reports), first, latest.created_at, latest.id))
    return made


def _ranked(items: list[Item]) -> list[Item]:
    return sorted(
        items, key=lambda i: (-i.reports, -len(i.value), -i.last_seen.timestamp(), i.value)
    )


def _longest(items: list[Item], seen: dict[str, list[Report]]) -> list[Item]:
    """`items` without a phrase contained in a longer one found in exactly the same reports."""
    by_reports: dict[frozenset[int], list[Item]] = {}
    for item in items:
        by_reports.setdefault(frozenset(r.id for r in seen[item.value]), []).append(item)
    kept: list[Item] = []
    for group in by_reports.values():
        longer: list[Item] = []
        for item in sorted(group, key=lambda i: -len(i.value)):
            if not any(_inside(item.value, other.value) for other in longer):
                longer.append(item)
        kept.extend(longer)
    return kept


def _inside(short: str, long: str) -> bool:
    if " " in short or " " in long:  # words: whole words only
        return f" {short} " in f" {long} "
    return short in long


# --- what one report holds ---------------------------------------------------------------------


def domains_of(text: str, sender: str | None = None) -> set[str]:
    """The registrable domains linked in `text` and of the sender's e-mail address."""
    hosts = list(links.hosts(text))
    if sender and (match := _EMAIL.search(sender)):
        hosts.append(match.group(1).lower())
    return {host if _is_address(host) else registrable(host) or host for host in hosts}


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def phones_of(text: str, sender: str | None = None) -> set[str]:
    """The phone numbers in `text` and the sender's, normalised (see the module's docstring)."""
    found = {number for _, number in _phones_in(text)}
    if sender and not _EMAIL.search(sender) and (number := phone(sender)):
        found.add(number)
    return found


def phone(value: str, region: str = "CN") -> str | None:
    """One phone number as a person gives it (a sender), normalised; None without 5 digits."""
    value = unicodedata.normalize("NFKC", value).strip()
    if len(_DIGITS.findall(value)) < 5:
        return None
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        return _e164(parsed)
    digits = "".join(_DIGITS.findall(value))
    return f"+{digits}" if value.startswith("+") else digits


def _phones_in(text: str) -> Iterator[tuple[range, str]]:
    """Where `text` gives a phone number, and the number normalised."""
    quoted = {re.sub(r"\D", "", n) for n in numbers.candidates(text)}
    taken: list[range] = []
    for region in _regions(text):
        matcher = phonenumbers.PhoneNumberMatcher(
            text, region, leniency=phonenumbers.Leniency.VALID
        )
        for match in matcher:
            if any(match.start in span or match.end - 1 in span for span in taken):
                continue
            span = range(match.start, match.end)
            taken.append(span)
            if re.sub(r"\D", "", match.raw_string) not in quoted:  # a domestic tracking number
                yield span, _e164(match.number)
    if _HANZI.search(text):
        for service in _SERVICE.finditer(text):
            yield range(*service.span()), service.group(0)


def _e164(number: phonenumbers.PhoneNumber) -> str:
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def _regions(text: str) -> tuple[str, ...]:
    # Numbers written without a country code are read as the text's country would write them.
    return ("CN", "HK", "TW") if _HANZI.search(text) else ("US", "GB", "AU")


def phrases_of(text: str) -> set[str]:
    """The phrases of one text: English n-grams and Chinese runs (see the module's docstring)."""
    text = _simplified(unicodedata.normalize("NFKC", text))
    # Links and phone numbers are counted as such, not as words; each leaves a break.
    spans = sorted((span for span, _ in _phones_in(text)), key=lambda span: -span.start)
    for span in spans:
        text = text[: span.start] + "\n" + text[span.stop :]
    for host in set(links.hosts(text)):
        text = re.sub(re.escape(host), "\n", text, flags=re.I)
    text = _URL.sub("\n", text)
    found: set[str] = set()
    for piece in _BREAK.split(text):
        found.update(_hanzi_runs(piece))
        found.update(_ngrams(_WORD.findall(_HANZI.sub(" ", piece).lower())))
    return found


def _ngrams(words: list[str]) -> Iterator[str]:
    # A word of 4 digits or more (a number, a code, a date) ends a phrase as punctuation does.
    run: list[str] = []
    for word in [*words, "0000"]:
        if len(_DIGITS.findall(word)) < 4:
            run.append(word)
            continue
        for size in range(MIN_WORDS, MAX_WORDS + 1):
            for start in range(len(run) - size + 1):
                gram = run[start : start + size]
                if any(w not in STOP_WORDS and not w.isdigit() for w in gram):
                    yield " ".join(gram)
        run = []


def _hanzi_runs(piece: str) -> Iterator[str]:
    for run in _HANZI.findall(piece):
        for size in range(MIN_HANZI, min(MAX_HANZI, len(run)) + 1):
            for start in range(len(run) - size + 1):
                yield run[start : start + size]


@cache
def _converter() -> Callable[[str], str] | None:
    """Traditional to simplified Chinese, when the `opencc` package is installed."""
    try:
        opencc: Any = importlib.import_module("opencc")
    except ImportError:
        return None
    convert: Callable[[str], str] = opencc.OpenCC("t2s").convert
    return convert


def _simplified(text: str) -> str:
    convert = _converter()
    return convert(text) if convert is not None and _HANZI.search(text) else text
