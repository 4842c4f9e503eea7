"""Issuing countries: ISO 3166-1 via pycountry, UPU extras, historic codes.

docs/standards/s10.md §7.
"""

from __future__ import annotations

import pycountry
import pytest

from emstrack.domain.countries import COMMON_MISTAKES, Country, country_name, is_current, lookup


@pytest.mark.parametrize(
    ("code", "name", "name_zh", "operator"),
    [
        ("CN", "China", "中国", "China Post"),
        ("FR", "France", "法国", "La Poste"),
        ("GB", "United Kingdom", "英国", "Royal Mail"),
        ("US", "United States", "美国", "United States Postal Service"),
        ("DE", "Germany", "德国", "Deutsche Post"),
        ("JP", "Japan", "日本", "Japan Post"),
        ("HK", "Hong Kong", "中国香港", "Hongkong Post"),
        ("TW", "Taiwan", "中国台湾", "Chunghwa Post"),
        ("KR", "South Korea", "韩国", "Korea Post"),
        ("RU", "Russia", "俄罗斯", "Russian Post"),
        ("VN", "Vietnam", "越南", "Vietnam Post"),
        ("AW", "Aruba", None, None),
    ],
)
def test_iso_countries(code: str, name: str, name_zh: str | None, operator: str | None) -> None:
    assert lookup(code) == Country(code, name, name_zh, operator, "iso")
    assert is_current(code)
    assert country_name(code) == name
    assert country_name(code, "zh") == (name_zh or name)  # English when no Chinese name is known


@pytest.mark.parametrize(("code", "operator"), [("XZ", "Kosovo Post"), ("QM", "Poste Srpske")])
def test_upu_extras_are_current(code: str, operator: str) -> None:
    country = lookup(code)
    assert country is not None
    assert (country.kind, country.operator) == ("upu_extra", operator)
    assert is_current(code)
    assert is_current("QN")
    assert country_name("XZ") == "Kosovo"


@pytest.mark.parametrize(
    ("code", "name"),
    [("AN", "Netherlands Antilles"), ("YU", "Yugoslavia"), ("TP", "East Timor")],
)
def test_historic_codes_are_known_but_not_current(code: str, name: str) -> None:
    country = lookup(code)
    assert country is not None
    assert (country.name, country.kind, country.operator) == (name, "historic", None)
    assert not is_current(code)


def test_cs_names_both_countries() -> None:
    country = lookup("CS")
    assert country is not None
    assert country.kind == "historic"
    assert "Serbia and Montenegro" in country.name
    assert "Czechoslovakia" in country.name


@pytest.mark.parametrize("code", ["ZZ", "UK", "EL", "XX", "AA", "QZ", "", "C", "CNN", "12"])
def test_not_issuers(code: str) -> None:
    assert not is_current(code)
    assert lookup(code) is None
    assert country_name(code) is None


def test_none_has_no_name() -> None:
    assert country_name(None) is None


def test_every_iso_code_is_current() -> None:
    codes = {c.alpha_2 for c in pycountry.countries}
    assert len(codes) == 249
    assert all(is_current(code) for code in codes)
    assert all(lookup(code) is not None for code in codes)


def test_names_read_well_in_a_sentence() -> None:
    names = [country_name(c.alpha_2) or "" for c in pycountry.countries]
    assert all(", " not in n or n.startswith(("Bonaire", "Saint Helena")) for n in names)


def test_lookup_is_case_insensitive() -> None:
    assert lookup("cn") == lookup("CN")
    assert is_current("gb")


def test_common_mistakes_point_at_current_codes() -> None:
    assert COMMON_MISTAKES["UK"] == "GB"
    assert all(is_current(code) and not is_current(typo) for typo, code in COMMON_MISTAKES.items())


def test_about_sixty_operators_are_named() -> None:
    found = [lookup(c.alpha_2) for c in pycountry.countries]
    assert len([c for c in found if c and c.operator]) >= 60
