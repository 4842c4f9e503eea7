"""The directory of designated operators (`emstrack/data/operators.csv`): its form, and the
module that reads it (`emstrack.domain.operators`)."""

from __future__ import annotations

import csv
from datetime import date
from importlib.resources import files
from urllib.parse import urlsplit

import phonenumbers
import pytest
from publicsuffixlist import PublicSuffixList

from emstrack.demo.places import ABROAD_TO, INBOUND_FROM, TRANSIT
from emstrack.domain import operators
from emstrack.domain.operators import SLOT, DirectoryError, Phone, parse_phones

ROWS = list(
    csv.DictReader(
        files("emstrack").joinpath(operators.DATA_FILE).read_text(encoding="utf-8").splitlines()
    )
)
PSL = PublicSuffixList()


def _domain(url: str) -> str | None:
    host = urlsplit(url).hostname or ""
    found: str | None = PSL.privatesuffix(host)
    return found


def test_the_file_has_the_largest_posts_once_each() -> None:
    countries = [row["country"] for row in ROWS]
    assert len(ROWS) >= 60
    assert len(set(countries)) == len(countries)
    assert set(operators.directory()) == set(countries)


def test_every_demo_country_is_in_it() -> None:
    demo = {country for country, _ in ABROAD_TO} | {country for country, _ in INBOUND_FROM}
    demo |= {office.country for office in TRANSIT.values()} | {"CN"}
    assert demo - set(operators.directory()) == set()


@pytest.mark.parametrize("row", ROWS, ids=[row["country"] for row in ROWS])
def test_each_row_has_its_form(row: dict[str, str]) -> None:
    site = row["site"]
    assert row["name_en"]
    assert row["name_zh"]
    assert any("\u4e00" <= c <= "\u9fff" for c in row["name_zh"])
    assert site.startswith("https://")
    assert _domain(site)
    # Where it comes from: a page of the operator's own site, a date, and how it was checked.
    assert row["source"].startswith("https://")
    assert _domain(row["source"]) == _domain(site)
    assert date.fromisoformat(row["checked"])
    assert row["provenance"]
    link = row["tracking_url"]
    if link:
        assert link.startswith("https://")
        assert link.count(SLOT) == 1
        assert _domain(link) == _domain(site), "the tracking page is on the operator's domain"
        assert urlsplit(link.replace(SLOT, "X")).hostname == urlsplit(link).hostname
    for phone in parse_phones(row["phones"]):
        if phone.local:
            assert phone.text
            assert all(c.isdigit() or c in " *#" for c in phone.text)
        else:
            parsed = phonenumbers.parse(phone.text)
            assert phonenumbers.is_valid_number(parsed), phone.text
            # The country's calling code (toll-free +1 800 numbers belong to no one region).
            calling = phonenumbers.country_code_for_region(row["country"])
            assert parsed.country_code == calling, phone.text


def test_a_tracking_link_carries_the_number_url_encoded() -> None:
    us = operators.lookup("us")
    assert us is not None
    assert us.tracking_link("EE123456785CN") == (
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=EE123456785CN"
    )
    assert us.tracking_link("A B&C/") == (
        "https://tools.usps.com/go/TrackConfirmAction?tLabels=A%20B%26C%2F"
    )
    nl = operators.lookup("NL")
    assert nl is not None
    assert nl.tracking_link("EE123456785CN") is None


def test_names_by_language_and_unknown_countries() -> None:
    de = operators.lookup("DE")
    assert de is not None
    assert de.name("en") == "Deutsche Post DHL"
    assert de.name("zh") == "德国邮政 DHL"
    assert operators.lookup("XX") is None
    assert operators.lookup(None) is None
    assert operators.lookup("") is None


def test_phones_read_as_printed_with_their_tel_link() -> None:
    phones = parse_phones("+49 228 4333112; local:13 76 78;local:*2424")
    assert phones == (
        Phone("+49 228 4333112", False),
        Phone("13 76 78", True),
        Phone("*2424", True),
    )
    assert [p.tel for p in phones] == ["tel:+492284333112", "tel:137678", "tel:*2424"]
    with pytest.raises(DirectoryError):
        parse_phones("0228 4333112")
