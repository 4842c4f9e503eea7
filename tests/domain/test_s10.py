"""S10 and China domestic numbers: the vectors of docs/standards/s10.md and china-ems.md, and
properties."""

from __future__ import annotations

import json
import string
from dataclasses import replace

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from emstrack.domain.problems import Severity
from emstrack.domain.s10 import WEIGHTS, check_digit, classify, lookup_candidates, normalise, parse
from emstrack.domain.tracking_number import (
    SERVICE_LABELS,
    NumberKind,
    Scope,
    Suggestion,
    TrackingNumber,
    format_grouped,
)


def codes(tn: TrackingNumber) -> dict[str, Severity]:
    return {p.code: p.severity for p in tn.problems}


def shown(tn: TrackingNumber) -> list[str]:
    return [s["number"] for s in tn.to_dict()["suggestions"]]


# -- §2 normalising ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "ee123456785cn",
        "EE 123 456 785 CN",
        "EE-123-456-785-CN",
        " e e 1 2 3 4 5 6 7 8 5 c n ",
        "ｅｅ　１２３－４５６－７８５　ｃｎ",
        "EE.123.456.785.CN",
        "EE/123_456·785/CN",
        "EE\u2013123\u2014456\u2011785\tCN\n",  # en, em and non-breaking dashes, tab, newline
        "EE\u200b123456785CN",  # zero-width space from a web page
        "EE١٢٣٤٥٦٧٨٥CN",  # Arabic-Indic digits
        '"EE123456785CN"',
    ],
)
def test_normalise_to_compact_form(raw: str) -> None:
    assert normalise(raw) == "EE123456785CN"
    assert parse(raw).number == "EE123456785CN"
    assert parse(raw).valid


def test_normalise_keeps_other_characters_for_the_error() -> None:
    assert normalise("ee#123") == "EE#123"
    tn = parse("EE12345#6785CN")
    assert codes(tn) == {"bad_character": Severity.ERROR}
    assert "#" in tn.problems[0].message
    assert tn.problems[0].extra == {"character": "#", "position": 8}
    assert tn.raw == "EE12345#6785CN"


def test_stray_characters_around_a_number_are_offered_removed() -> None:
    tn = parse("EE123456785CN（中国）")
    assert not tn.valid
    assert [(s.number, s.reason) for s in tn.suggestions] == [("EE123456785CN", "extra_characters")]


# -- §3 check digit ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("serial", "digit"),
    [
        ("00000000", 5),
        ("99999999", 5),
        ("50745114", 0),
        ("78398105", 5),
        ("12345678", 5),
        ("47312482", 9),
        ("61129745", 3),
    ],
)
def test_check_digit_vectors(serial: str, digit: int) -> None:
    assert check_digit(serial) == digit


def test_worked_example_sum() -> None:
    assert sum(int(d) * w for d, w in zip("50745114", WEIGHTS, strict=True)) == 133


@pytest.mark.parametrize(
    "serial", ["", "1234567", "123456789", "1234567a", "１２３４５６７８", " 1234567"]
)
def test_check_digit_refuses_anything_but_eight_digits(serial: str) -> None:
    with pytest.raises(ValueError, match="8 digits"):
        check_digit(serial)


# -- §4 valid identifiers ------------------------------------------------------------------------

VALID = [
    ("EE123456785CN", "ems", "China", "China Post"),
    ("RR473124829GB", "registered", "United Kingdom", "Royal Mail"),
    ("CP507451140DE", "parcel", "Germany", "Deutsche Post"),
    ("LX783981055FR", "letter_tracked", "France", "La Poste"),
    ("UA611297453US", "letter_untracked_goods", "United States", "United States Postal Service"),
]


@pytest.mark.parametrize(("number", "service", "country", "issuer"), VALID)
def test_valid_identifiers(number: str, service: str, country: str, issuer: str) -> None:
    tn = parse(number)
    assert tn.valid
    assert tn.kind is NumberKind.S10
    assert tn.problems == ()
    assert tn.suggestions == ()
    assert (tn.service_indicator, tn.serial) == (number[:2], number[2:10])
    assert tn.check_digit == int(number[10])
    assert tn.country == number[11:]
    assert tn.service == service
    assert tn.country_name() == country
    assert tn.issuer == issuer
    assert tn.explanation().endswith(f" issued by {issuer} ({country}).")


def test_valid_number_explained_and_serialised() -> None:
    tn = parse("ee 123 456 785 cn")
    assert tn.formatted == "EE 123 456 785 CN"
    assert tn.explanation() == "EMS item issued by China Post (China)."
    doc = tn.to_dict("zh")
    assert doc["country_name"] == "中国"
    assert doc["service_label"] == "EMS 特快专递"
    assert doc["raw"] == "ee 123 456 785 cn"
    assert doc["valid"] is True
    assert doc["kind"] == "s10"
    assert "中国" in doc["explanation"]
    json.dumps(doc)  # JSON-ready as it stands


@pytest.mark.parametrize(
    "number", ["EA000000005CN", "EB999999995CN", "ED507451140CN", "CT123456785CN", "HA123456785HK"]
)
def test_china_post_and_territory_examples(number: str) -> None:
    assert parse(number).valid


# -- §5 invalid and doubtful identifiers --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected", "found"),
    [
        ("EE123456784CN", 5, 4),
        ("RR473124820GB", 9, 0),
        ("CP507451145DE", 0, 5),
        ("LX783981050FR", 5, 0),
        ("UA611297458US", 3, 8),
    ],
)
def test_wrong_check_digit(raw: str, expected: int, found: int) -> None:
    tn = parse(raw)
    assert not tn.valid
    assert tn.kind is NumberKind.S10
    (problem,) = tn.problems
    assert (problem.code, problem.part, problem.severity) == ("check_digit", "check_digit", "error")
    assert problem.message == f"The check digit should be {expected}, not {found}."
    assert problem.extra == {"expected": expected, "found": found}
    corrected = raw[:10] + str(expected) + raw[11:]
    assert corrected in lookup_candidates(tn)
    assert shown(tn)[0] == corrected  # one edit away: offered, items on record first
    assert shown(tn.with_known({corrected}))[0] == corrected


@pytest.mark.parametrize(
    ("raw", "code", "part", "suggested"),
    [
        ("EE12345678CN", "missing_check_digit", "check_digit", "EE123456785CN"),
        ("EE1234567855CN", "too_long", "serial", None),
        ("EE123456785C", "country_cut_short", "country", "EE123456785CN"),
        ("E1123456785CN", "digit_in_service_indicator", "service", "EI123456785CN"),
        ("EE123456785", "missing_country", "country", "EE123456785CN"),
        ("EE12345678OCN", "letter_in_check_digit", "check_digit", None),
        ("EE1234S6785CN", "letters_in_serial", "serial", "EE123456785CN"),
        ("EE123456785C0", "digit_in_country", "country", "EE123456785CO"),
        ("0E123456785CN", "digit_in_service_indicator", "service", "OE123456785CN"),
        ("EE1234567SC", "too_short", "number", None),
        ("EE123456785CNX", "too_long", "number", None),
    ],
)
def test_format_errors(raw: str, code: str, part: str, suggested: str | None) -> None:
    tn = parse(raw)
    assert not tn.valid
    assert tn.kind is NumberKind.INVALID
    assert tn.problems[0].code == code
    assert tn.problems[0].part == part
    assert tn.problems[0].severity is Severity.ERROR
    assert shown(tn) == ([suggested] if suggested else [])


def test_missing_check_digit_names_the_digit() -> None:
    tn = parse("EE12345678CN")
    assert "check digit would be 5" in tn.problems[0].message
    assert tn.suggestions[0].message == "Did you mean EE 123 456 785 CN? (check digit added)"


def test_missing_country_names_the_home_suffix() -> None:
    tn = parse("EE123456785")
    assert "CN is the country suffix — it looks like it was left off." in tn.problems[0].message
    assert tn.suggestions[0].reason == "missing_country"
    fr = parse("LX783981055", home_country="FR")
    assert "FR is the country suffix" in fr.problems[0].message
    assert "France" in fr.problems[0].message
    assert shown(fr) == ["LX783981055FR"]
    assert shown(parse("EE123456784")) == []  # the suffix would not make it valid


def test_extra_digit_candidates_are_guesses() -> None:
    tn = parse("EE1234567855CN")
    assert "EE123456785CN" in lookup_candidates(tn)
    assert shown(tn) == []
    assert shown(tn.with_known({"EE123456785CN"})) == ["EE123456785CN"]


@pytest.mark.parametrize(
    "raw", ["JE123456785CN", "KA473124829GB", "SB507451140DE", "TL783981055FR", "WA611297453US"]
)
def test_reserved_service_indicators(raw: str) -> None:
    tn = parse(raw)
    assert codes(tn) == {"reserved_service": Severity.ERROR}
    assert tn.problems[0].part == "service"
    assert f"starting with {raw[0]} are reserved" in tn.problems[0].message


def test_unassigned_service_is_a_warning() -> None:
    tn = parse("FA123456785CN")
    assert tn.valid
    assert codes(tn) == {"unassigned_service": Severity.WARNING}


def test_uk_is_not_iso_and_gb_is_suggested() -> None:
    tn = parse("EE123456785UK")
    assert tn.valid
    assert codes(tn) == {"not_iso_country": Severity.WARNING}
    assert "GB" in tn.problems[0].message
    (suggestion,) = tn.suggestions
    assert (suggestion.number, suggestion.reason) == ("EE123456785GB", "country_code")
    assert suggestion.message == "Did you mean EE 123 456 785 GB? (UK → GB: country code corrected)"
    assert codes(parse("EE123456785UK", strict=True)) == {"not_iso_country": Severity.ERROR}


@pytest.mark.parametrize(("code", "name"), [("YU", "Yugoslavia"), ("AN", "Netherlands Antilles")])
def test_historic_country_is_a_warning_with_its_name(code: str, name: str) -> None:
    for strict in (False, True):
        tn = parse(f"EE123456785{code}", strict=strict)
        assert codes(tn) == {"historic_country": Severity.WARNING}
        assert name in tn.problems[0].message


def test_cs_is_named_honestly() -> None:
    message = parse("EE123456785CS").problems[0].message
    assert "Serbia and Montenegro" in message
    assert "Czechoslovakia" in message


@pytest.mark.parametrize("code", ["ZZ", "XX", "AA", "QZ"])
def test_unknown_country_is_an_error_even_when_not_strict(code: str) -> None:
    # Codes no country has: tests/domain/test_s10_countries.py has the whole table.
    assert codes(parse(f"EE123456785{code}")) == {"unknown_country": Severity.ERROR}
    assert codes(parse(f"EE123456785{code}", strict=True)) == {"unknown_country": Severity.ERROR}


@pytest.mark.parametrize("code", ["XZ", "QM", "QN", "MO", "AW", "GI", "FO", "GL", "JE", "GG", "IM"])
def test_real_issuers_outside_short_lists(code: str) -> None:
    assert parse(f"EE123456785{code}", strict=True).problems == ()


def test_later_levels_report_together() -> None:
    tn = parse("JA123456784UK")
    assert list(codes(tn)) == ["check_digit", "reserved_service", "not_iso_country"]
    assert [p.part for p in tn.problems] == ["check_digit", "service", "country"]
    assert tn.suggestions == ()  # no candidate can be valid with a reserved indicator


# -- §6 service indicator ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("si", "service"),
    [
        ("AU", "unassigned"),
        ("AV", "domestic"),
        ("GD", "domestic"),
        ("GA", "domestic"),
        ("GE", "unassigned"),
        ("QM", "ibrs"),
        ("QN", "unassigned"),
        ("HZ", "ecommerce_parcel"),
        ("ZZ", "domestic"),
        ("EE", "ems"),
        ("CV", "parcel"),
        ("RR", "registered"),
        ("VA", "insured"),
        ("LX", "letter_tracked"),
        ("MA", "m_bag"),
        ("UA", "letter_untracked_goods"),
        ("BA", "domestic"),
        ("FA", "unassigned"),
        ("OZ", "unassigned"),
        ("XA", "unassigned"),
        ("JA", "reserved"),
        ("WZ", "reserved"),
    ],
)
def test_classify(si: str, service: str) -> None:
    assert classify(si) == service


def test_every_service_has_labels() -> None:
    pairs = [a + b for a in string.ascii_uppercase for b in string.ascii_uppercase]
    assert {classify(si) for si in pairs} | {"domestic_ems"} == set(SERVICE_LABELS)
    assert SERVICE_LABELS["ems"] == ("EMS (Express Mail Service)", "EMS 特快专递")
    assert SERVICE_LABELS["domestic_ems"] == ("China EMS domestic", "EMS 国内特快专递")


@pytest.mark.parametrize("si", ["", "E", "EEE", "e1", "ee"])
def test_classify_refuses_non_indicators(si: str) -> None:
    with pytest.raises(ValueError, match="2 letters"):
        classify(si)


# -- confusables and suggestions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "meant"),
    [
        ("EE12345678SCN", "EE123456785CN"),
        ("EEI23456785CN", "EE123456785CN"),
        ("EEl23456785CN", "EE123456785CN"),  # lower-case L
        ("EE1234567B5CN", "EE123456785CN"),
        ("EE123456785C1", "EE123456785CI"),  # Côte d'Ivoire
        ("RR47312482OGB", None),  # letter O for the check digit 0 is not valid (expected 9)
        ("CPSO745114ODE", "CP507451140DE"),
        ("E0123456785CN", "EO123456785CN"),
    ],
)
def test_confusables(raw: str, meant: str | None) -> None:
    tn = parse(raw)
    assert not tn.valid
    found = [s.number for s in tn.suggestions if s.reason == "confusable"]
    if meant is None:
        assert all(parse(n).valid for n in found)
    else:
        assert found == [meant]
        assert "→" in tn.suggestions[0].message


def test_transposition_candidate() -> None:
    tn = parse("EE213456785CN")
    reasons = {s.number: s.reason for s in tn.suggestions}
    assert reasons["EE123456785CN"] == "transposition"
    assert "EE123456785CN" in shown(tn)
    known = tn.with_known({"EE123456785CN"})
    assert known.suggestions[0].number == "EE123456785CN"
    assert known.suggestions[0].on_record


def test_substitutions_need_a_record() -> None:
    tn = parse("EE123456795CN")
    subs = [s for s in tn.suggestions if s.reason == "substitution"]
    assert 4 <= len(subs) <= 17  # s10.md §3: about 9, observed 4-17
    assert all(s.needs_record for s in subs)
    assert "EE123456785CN" in lookup_candidates(tn)
    assert all(s["reason"] != "substitution" for s in tn.to_dict()["suggestions"])
    known = tn.with_known(["EE123456785CN"])
    assert [s.number for s in known.suggestions if s.reason == "substitution"] == ["EE123456785CN"]
    assert known.suggestions[0].number == "EE123456785CN"
    assert known.to_dict()["suggestions"][0]["on_record"] is True


def test_with_known_puts_records_first_and_keeps_order() -> None:
    tn = parse("EE12345678CN")
    assert tn.with_known(set()).suggestions == tn.suggestions
    other = replace(
        tn,
        suggestions=(
            Suggestion("A", "check_digit", "a"),
            Suggestion("B", "substitution", "b", needs_record=True),
            Suggestion("C", "transposition", "c"),
            Suggestion("D", "substitution", "d", needs_record=True),
        ),
    )
    known = other.with_known({"C", "D"})
    assert [(s.number, s.on_record) for s in known.suggestions] == [
        ("C", True),
        ("D", True),
        ("A", False),
    ]


def test_suggestion_to_dict() -> None:
    s = parse("EE12345678CN").suggestions[0]
    assert s.to_dict() == {
        "number": "EE123456785CN",
        "formatted": "EE 123 456 785 CN",
        "reason": "missing_check_digit",
        "message": "Did you mean EE 123 456 785 CN? (check digit added)",
        "on_record": False,
    }


# -- China domestic (china-ems.md §2) ------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["10", "11", "50", "51", "95", "97"])
def test_domestic_ems_prefixes(prefix: str) -> None:
    tn = parse(f"{prefix}12345678901")
    assert tn.valid
    assert tn.kind is NumberKind.DOMESTIC
    assert (tn.service, tn.country, tn.issuer) == ("domestic_ems", "CN", "China Post")
    assert codes(tn) == {"domestic_no_check_digit": Severity.INFO}
    assert "probably EMS" in tn.explanation()
    assert tn.service_label("zh") == "EMS 国内特快专递"
    assert tn.formatted == tn.number


@pytest.mark.parametrize("prefix", ["12", "52", "98", "99"])
def test_domestic_extended_prefixes_are_less_certain(prefix: str) -> None:
    tn = parse(f"{prefix}12345678901")
    assert tn.valid
    assert tn.service == "domestic_ems"
    assert codes(tn)["domestic_extended_prefix"] is Severity.INFO
    assert "less certain" in tn.explanation()


@pytest.mark.parametrize("number", ["3312345678901", "9612345678901", "0000000000000"])
def test_other_13_digit_numbers(number: str) -> None:
    tn = parse(number)
    assert tn.valid
    assert (tn.kind, tn.service, tn.issuer) == (NumberKind.DOMESTIC, "domestic", None)
    assert codes(tn)["domestic_unknown_prefix"] is Severity.WARNING
    assert "Yunda" in tn.problems[0].message
    assert tn.service_label() == "China domestic number (carrier unknown)"


def test_domestic_number_is_never_checked_as_s10() -> None:
    # 13 digits whose digits 3-11 would fail an S10 check digit: still accepted.
    tn = parse("1012345678401")
    assert tn.valid
    assert tn.check_digit is None


def test_domestic_number_with_a_look_alike_letter() -> None:
    tn = parse("1O12345678901")
    assert codes(tn) == {"letters_in_domestic": Severity.ERROR}
    assert tn.problems[0].extra == {"suggested": "1012345678901"}
    assert "did you mean 1012345678901?" in tn.problems[0].message


@pytest.mark.parametrize(
    ("raw", "code"),
    [("101234567890", "too_short"), ("10123456789012", "too_long"), ("123456785", "too_short")],
)
def test_digits_of_other_lengths(raw: str, code: str) -> None:
    tn = parse(raw)
    assert codes(tn) == {code: Severity.ERROR}
    assert "13 characters: 2 letters, 9 digits and 2 letters" in tn.problems[0].message
    assert "13 digits" in tn.problems[0].message


def test_scope_mismatches() -> None:
    tn = parse("1012345678901", scope=Scope.INTERNATIONAL)
    assert not tn.valid
    assert tn.problems[0].code == "domestic_in_international_scope"
    assert "choose Domestic" in tn.problems[0].message
    tn = parse("EE123456785CN", scope=Scope.DOMESTIC)
    assert not tn.valid
    assert tn.problems[0].code == "international_in_domestic_scope"
    assert "choose International" in tn.problems[0].message
    assert parse("EE123456785CN", scope=Scope.INTERNATIONAL).valid
    assert parse("1012345678901", scope=Scope.DOMESTIC).valid
    assert {p.part for p in tn.problems} == {"number"}
    assert not parse("EE123456785CN", scope="domestic").valid  # type: ignore[arg-type]


# -- odd input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["", "   ", "\u3000", "-", "--- ..."])
def test_empty(raw: str) -> None:
    assert codes(parse(raw)) == {"empty": Severity.ERROR}


def test_very_long_input_is_cut_short() -> None:
    for raw in ("EE123456785CN" * 10, "x" * 100_000, " " * 5000 + "EE123456785CN"):
        tn = parse(raw)
        assert codes(tn) == {"too_long": Severity.ERROR}
        assert len(tn.number) <= 64


def test_invalid_explanation_leads_with_the_error() -> None:
    assert parse("EE123456784CN").explanation().startswith("The check digit should be 5, not 4.")
    assert parse("hello").explanation().startswith("This has 5 characters")


def test_format_grouped_leaves_other_strings_alone() -> None:
    assert format_grouped("EE123456785CN") == "EE 123 456 785 CN"
    assert format_grouped("1012345678901") == "1012345678901"
    assert format_grouped("EE12345678CN") == "EE12345678CN"


# -- properties ----------------------------------------------------------------------------------

serials = st.text(alphabet=string.digits, min_size=8, max_size=8)
letters2 = st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2)
good_countries = st.sampled_from(["CN", "GB", "DE", "FR", "US", "HK", "MO", "JP", "XZ"])


def valid_number(si: str, serial: str, country: str) -> str:
    return f"{si}{serial}{check_digit(serial)}{country}"


@given(letters2, serials, good_countries)
def test_valid_numbers_survive_normalise_format_parse(si: str, serial: str, cc: str) -> None:
    assume(classify(si) != "reserved")
    number = valid_number(si, serial, cc)
    for shown_as in (
        format_grouped(number),
        number.lower(),
        "-".join(format_grouped(number).split()),
    ):
        tn = parse(shown_as)
        assert tn.valid
        assert tn.number == number
        assert normalise(tn.formatted) == number


@given(serials, st.integers(0, 8), st.integers(1, 9))
def test_single_digit_changes_are_caught_except_remainders_0_and_6(
    serial: str, pos: int, delta: int
) -> None:
    digits = serial + str(check_digit(serial))
    changed = digits[:pos] + str((int(digits[pos]) + delta) % 10) + digits[pos + 1 :]
    tn = parse(f"EE{changed}CN")
    if tn.valid:  # only possible when the error moved the remainder between 0 and 6
        assert pos < 8
        before = sum(int(d) * w for d, w in zip(serial, WEIGHTS, strict=True)) % 11
        after = sum(int(d) * w for d, w in zip(changed[:8], WEIGHTS, strict=True)) % 11
        assert {before, after} == {0, 6}
    else:
        assert codes(tn) == {"check_digit": Severity.ERROR}


@given(serials, st.integers(0, 8))
def test_transposition_suggestions_are_valid_and_are_swaps(serial: str, pos: int) -> None:
    digits = serial + str(check_digit(serial))
    assume(pos < 8 and digits[pos] != digits[pos + 1])
    swapped = digits[:pos] + digits[pos + 1] + digits[pos] + digits[pos + 2 :]
    tn = parse(f"RR{swapped}GB")
    for s in tn.suggestions:
        assert parse(s.number).valid
        assert s.number != tn.number
    if not tn.valid:
        assert f"RR{digits}GB" in lookup_candidates(tn)


@given(st.text())
def test_parse_never_raises(raw: str) -> None:
    tn = parse(raw)
    json.dumps(tn.to_dict())
    json.dumps(tn.to_dict("zh"))
    assert tn.valid == all(p.severity is not Severity.ERROR for p in tn.problems)
    for s in tn.suggestions:
        assert parse(s.number).valid


@given(st.text(alphabet=string.ascii_letters + string.digits + " -Oo0Il1", max_size=20))
def test_parse_never_raises_on_near_misses(raw: str) -> None:
    tn = parse(raw, scope=Scope.INTERNATIONAL, strict=True)
    for s in tn.suggestions:
        assert parse(s.number, strict=True).valid
    assert tn.explanation()
