"""The designated postal operators by country: name in English and Chinese, official site,
tracking link and customer-service phones, read from `emstrack/data/operators.csv`.

Each row says where on the operator's own site its links and phones are documented (`source`),
when the row was written (`checked`) and how it was cross-checked (`provenance`). A tracking
link has exactly one `{number}` slot, on the operator's own registrable domain; it is empty where
the operator offers no link with the number in it (the site still helps). Phones are `;`-separated:
E.164 numbers as printed (`+49 228 4333112`), or `local:NUMBER` for a number dialled only within
the country (`local:3631`, a short code).

Pure: the file ships in the package and is read once, checked as it is read.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from types import MappingProxyType
from typing import Final
from urllib.parse import quote

from emstrack.domain.lang import Lang

DATA_FILE: Final = "data/operators.csv"
SLOT: Final = "{number}"
_LOCAL: Final = "local:"


@dataclass(frozen=True, slots=True)
class Phone:
    """A customer-service number: as printed, and whether it is dialled only within the country."""

    text: str
    local: bool

    @property
    def tel(self) -> str:
        """The `tel:` link's target: the digits, with `+` for an international number."""
        keep = "".join(c for c in self.text if c.isdigit() or c in "+*#")
        return f"tel:{keep}"


@dataclass(frozen=True, slots=True)
class Operator:
    """A country's designated postal operator."""

    country: str
    name_en: str
    name_zh: str
    site: str
    tracking_url: str  # with one `{number}` slot, or "" where the operator offers no such link
    phones: tuple[Phone, ...]
    source: str
    checked: str

    def name(self, lang: Lang) -> str:
        return (self.name_zh or self.name_en) if lang == "zh" else self.name_en

    def tracking_link(self, number: str) -> str | None:
        """The operator's tracking page for `number` (URL-encoded), or None without one."""
        if not self.tracking_url:
            return None
        return self.tracking_url.replace(SLOT, quote(number, safe=""))


class DirectoryError(ValueError):
    """A row of the operators' file that breaks its form (a packaging mistake, not input)."""


def parse_phones(text: str) -> tuple[Phone, ...]:
    phones = []
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        if part.startswith(_LOCAL):
            phones.append(Phone(part[len(_LOCAL) :].strip(), True))
        elif part.startswith("+"):
            phones.append(Phone(part, False))
        else:
            raise DirectoryError(f"phone {part!r}: neither +E.164 nor local:NUMBER")
    return tuple(phones)


def _operator(row: dict[str, str]) -> Operator:
    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    country = get("country").upper()
    op = Operator(
        country=country,
        name_en=get("name_en"),
        name_zh=get("name_zh"),
        site=get("site"),
        tracking_url=get("tracking_url"),
        phones=parse_phones(get("phones")),
        source=get("source"),
        checked=get("checked"),
    )
    if len(country) != 2 or not country.isascii() or not country.isalpha():
        raise DirectoryError(f"{country!r}: not a two-letter country code")
    if not op.name_en or not op.site.startswith("https://"):
        raise DirectoryError(f"{country}: a name and an https site are required")
    if op.tracking_url and (
        not op.tracking_url.startswith("https://") or op.tracking_url.count(SLOT) != 1
    ):
        raise DirectoryError(f"{country}: the tracking link needs https and one {SLOT}")
    return op


@cache
def directory() -> MappingProxyType[str, Operator]:
    """Every operator by country code, in the file's order."""
    text = files("emstrack").joinpath(DATA_FILE).read_text(encoding="utf-8")
    table: dict[str, Operator] = {}
    for row in csv.DictReader(text.splitlines()):
        op = _operator(row)
        if op.country in table:
            raise DirectoryError(f"{op.country}: listed twice")
        table[op.country] = op
    return MappingProxyType(table)


def lookup(country: str | None) -> Operator | None:
    """The designated operator of a country code; None when the directory has none."""
    if not country:
        return None
    return directory().get(country.upper())
