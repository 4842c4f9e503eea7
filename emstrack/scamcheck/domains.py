"""Official domains of posts and carriers, and the registrable domain of a host name.

The registrable domain ("auspost.com.au" of "track.auspost.com.au") comes from the Public Suffix
List snapshot bundled with `publicsuffixlist`: nothing is fetched at run time.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from publicsuffixlist import PublicSuffixList

DATA_FILE = Path(__file__).parent.parent / "data" / "official_domains.csv"


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def registrable(host: str) -> str | None:
    """The domain a person registers ("pay-fee.com" of "royalmail.co.uk.pay-fee.com")."""
    found: str | None = _psl().privatesuffix(host.lower().rstrip("."))
    return found


def has_known_suffix(host: str) -> bool:
    """True when the host ends in a real public suffix (so "e.g" or "3.5" are no domains)."""
    return _psl().publicsuffix(host.lower(), accept_unknown=False) is not None


@dataclass(frozen=True, slots=True)
class Official:
    """The official domains we know, and the brand name each stands for."""

    domains: dict[str, str]  # registrable domain → operator name
    brands: dict[str, str]  # brand word ("royalmail") → operator name

    def operator_of(self, domain: str) -> str | None:
        return self.domains.get(domain)


@cache
def _shipped() -> tuple[tuple[str, str, str], ...]:
    with DATA_FILE.open(encoding="utf-8", newline="") as f:
        return tuple(
            (row["domain"].strip().lower(), row["brand"].strip().lower(), row["operator"].strip())
            for row in csv.DictReader(f)
        )


def official(extra: Iterable[str] = ()) -> Official:
    """The shipped list plus the operator's own domains (`EMSTRACK_OFFICIAL_DOMAINS`)."""
    domains: dict[str, str] = {}
    brands: dict[str, str] = {}
    for domain, brand, operator in _shipped():
        domains[domain] = operator
        brands[brand] = operator
    for domain in extra:
        domain = domain.strip().lower()
        if domain:
            domains.setdefault(registrable(domain) or domain, "the operator of this service")
    return Official(domains, brands)
