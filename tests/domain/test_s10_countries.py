"""The country part of an S10 number: every accepted code, every rejected one, "did you mean".

docs/standards/s10.md §7–8. The accepted codes are pycountry's ISO 3166-1 and the UPU's own
codes in emstrack/data/s10_upu_country_codes.csv; the confusions are in
emstrack/data/s10_country_confusions.csv.
"""

from __future__ import annotations

from string import ascii_uppercase

import pycountry
import pytest

from emstrack.domain import countries
from emstrack.domain.problems import Severity
from emstrack.domain.s10 import lookup_candidates, parse
from emstrack.domain.tracking_number import NumberKind, TrackingNumber

SERIAL = "RR287043775"  # a registered letter, check digit right: only the country varies

ISO = sorted(c.alpha_2 for c in pycountry.countries)
UPU = sorted(countries.UPU_CODES)
USER_ASSIGNED = [a + b for a in ascii_uppercase for b in ascii_uppercase]
USER_ASSIGNED = [c for c in USER_ASSIGNED if countries.is_user_assigned(c)]
# ISO's user-assigned ranges the UPU has not taken, and codes ISO never assigned or only reserves.
REJECTED = [c for c in USER_ASSIGNED if c not in UPU and c not in countries.COMMON_MISTAKES]
REJECTED += ["EU", "UN", "JJ", "OO"]


def shown(tn: TrackingNumber) -> list[str]:
    return [s["number"] for s in tn.to_dict()["suggestions"]]


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("code", ISO + UPU)
def test_every_accepted_code_makes_a_valid_number(code: str, strict: bool) -> None:
    tn = parse(SERIAL + code, strict=strict)
    assert (tn.kind, tn.valid, tn.problems, tn.country) == (NumberKind.S10, True, (), code)
    assert tn.country_name() is not None


@pytest.mark.parametrize("code", UPU)
def test_every_upu_row_is_named_with_its_source(code: str) -> None:
    row = {r["code"]: r for r in countries.data_rows("s10_upu_country_codes.csv")}[code]
    assert row["name"]
    assert row["operator"]
    assert "docs/standards/s10.md" in row["source"]
    assert countries.is_user_assigned(code)  # else ISO would list it and the row is dead
    assert code not in ISO


def test_the_user_assigned_ranges() -> None:
    ranges = {"AA", "ZZ"} | {f"Q{b}" for b in "MNOPQRSTUVWXYZ"} | {f"X{b}" for b in ascii_uppercase}
    assert set(USER_ASSIGNED) == ranges
    assert not set(ISO) & ranges


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("code", REJECTED)
def test_every_code_no_country_has_makes_an_invalid_number(code: str, strict: bool) -> None:
    tn = parse(SERIAL + code, strict=strict)
    assert not tn.valid
    (problem,) = tn.problems
    assert (problem.code, problem.part, problem.severity) == (
        "unknown_country",
        "country",
        Severity.ERROR,
    )
    assert problem.extra["found"] == code
    assert f"{code} is not a country code" in problem.message
    assert tn.to_dict()["problems"][0]["part"] == "country"


@pytest.mark.parametrize(
    ("raw", "user_assigned"),
    [
        ("RR287043775XX", True),
        ("RR287043775ZZ", True),
        ("RB123456785XX", True),
        ("RR287043775AA", True),
        ("RR287043775QZ", True),
        ("RR287043775JJ", False),
    ],
)
def test_the_numbers_of_the_issue_are_invalid(raw: str, user_assigned: bool) -> None:
    tn = parse(raw)
    assert not tn.valid
    assert tn.problems[0].extra["user_assigned"] is user_assigned
    assert "unknown issuing country" in tn.explanation()  # the rest of it is still read


@pytest.mark.parametrize(("written", "meant"), sorted(countries.COMMON_MISTAKES.items()))
def test_every_confusion_row_points_at_a_current_code(written: str, meant: str) -> None:
    assert countries.is_current(meant)
    assert not countries.is_current(written)
    rows = {r["written"]: r for r in countries.data_rows("s10_country_confusions.csv")}
    assert rows[written]["reason"]
    tn = parse(SERIAL + written)
    assert tn.problems[0].code == "not_iso_country"
    assert shown(tn) == [SERIAL + meant]  # offered without a record: the likely intent


@pytest.mark.parametrize(
    ("code", "strict", "severity"),
    [
        ("UK", False, Severity.WARNING),  # a habit, not a void: strict decides
        ("UK", True, Severity.ERROR),
        ("EL", False, Severity.WARNING),
        ("EL", True, Severity.ERROR),
        ("XK", False, Severity.ERROR),  # user-assigned: no post issues it, whatever strict says
        ("YU", True, Severity.WARNING),  # historic: old data holds it
        ("XX", False, Severity.ERROR),
    ],
)
def test_strict_only_decides_for_habits(code: str, strict: bool, severity: Severity) -> None:
    (problem,) = parse(SERIAL + code, strict=strict).problems
    assert (problem.part, problem.severity) == ("country", severity)


@pytest.mark.parametrize(
    ("code", "near"),
    [
        ("XX", ["CX", "SX", "XZ"]),  # X sits between Z and C, under S and D
        ("ZZ", ["XZ", "AZ", "SZ", "ZA"]),
        ("UK", ["HK", "UM"]),
        ("QZ", ["AZ", "QA"]),
        ("JJ", ["JM"]),
    ],
)
def test_codes_one_keystroke_away_that_exist(code: str, near: list[str]) -> None:
    assert countries.near_codes(code) == near


def test_neighbours_are_offered_only_when_on_record() -> None:
    tn = parse("RR287043775XX")
    assert lookup_candidates(tn) == ["RR287043775CX", "RR287043775SX", "RR287043775XZ"]
    assert shown(tn) == []
    found = tn.with_known({"RR287043775SX"}).to_dict()["suggestions"]
    assert [(s["number"], s["on_record"]) for s in found] == [("RR287043775SX", True)]
    assert (
        found[0]["message"] == "Did you mean RR 287 043 775 SX? (XX → SX: country code corrected)"
    )


def test_a_neighbour_on_record_comes_before_the_common_mistake() -> None:
    tn = parse("EE123456785XK")  # XZ is Kosovo's UPU code; DK is one keystroke away
    assert shown(tn) == ["EE123456785XZ"]
    assert shown(tn.with_known({"EE123456785DK"})) == ["EE123456785DK", "EE123456785XZ"]


def test_strict_habits_get_neighbours_then_the_mistake() -> None:
    tn = parse("EE123456785UK", strict=True)
    assert lookup_candidates(tn) == ["EE123456785HK", "EE123456785UM", "EE123456785GB"]
    assert shown(tn.with_known({"EE123456785HK"})) == ["EE123456785HK", "EE123456785GB"]


def test_a_wrong_check_digit_and_a_void_country_report_together() -> None:
    tn = parse("RR287043774XX")
    assert [p.part for p in tn.problems] == ["check_digit", "country"]
    assert shown(tn) == []  # no candidate with a right check digit and a real country
