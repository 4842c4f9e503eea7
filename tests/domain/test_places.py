"""The public projection of an event's place: no postal code, whatever the country or spelling."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emstrack.domain import places
from emstrack.domain.events import Event
from emstrack.domain.places import FIELDS, Projection
from emstrack.store.events import HISTORY_EVENT_FIELDS


def _shown(
    name: str | None,
    country: str | None = None,
    *,
    code: str | None = None,
    next_code: str | None = None,
    origin: str | None = None,
    destination: str | None = None,
    proof: str | None = None,
    text: str | None = None,
) -> dict[str, str | None]:
    stored = (code, name, country, next_code, None, text, None, None, None, None)
    return dict(zip(FIELDS, Projection(origin, destination, proof).fields(stored), strict=True))


@pytest.mark.parametrize(
    ("name", "country", "shown"),
    [
        ("98101 SEATTLE WA", "US", "SEATTLE WA"),
        ("SEATTLE WA 98101-1234", "US", "SEATTLE WA"),
        ("SEATTLE, 98101, WA", "US", "SEATTLE, WA"),
        ("518057 SHENZHEN NANSHAN", "CN", "SHENZHEN NANSHAN"),
        ("上海市静安区200040", "CN", "上海市静安区"),
        ("EC1A 1BB LONDON", "GB", "LONDON"),
        ("M5H 2N2 TORONTO ON", "CA", "TORONTO ON"),
        ("1012 JS AMSTERDAM", "NL", "AMSTERDAM"),
        ("100-0005 TOKYO CHIYODA", "JP", "TOKYO CHIYODA"),
        ("〒１００-０００５ 東京都千代田区", "JP", "東京都千代田区"),
        ("01310-100 SAO PAULO SP", "BR", "SAO PAULO SP"),
        ("CH-8001 ZUERICH", "CH", "ZUERICH"),  # with the country's prefix
        ("D02 X285 DUBLIN", "IE", "DUBLIN"),
        ("LONDON (N1 9GU)", "GB", "LONDON"),
        ("98101", "US", None),  # nothing left: no name rather than an empty one
        # Names that stay whole: no digit, no postcode, even where a pattern could match words.
        ("KOELN", "DE", "KOELN"),
        ("SHANGHAI EMS", "CN", "SHANGHAI EMS"),
        ("WEXFORD", "IE", "WEXFORD"),
        ("DUBAI DEIRA", "AE", "DUBAI DEIRA"),
        ("SAO PAULO - SP", "BR", "SAO PAULO - SP"),
        ("ZUSTELLBASIS 503", "DE", "ZUSTELLBASIS 503"),  # not a German postcode
    ],
)
def test_postcodes_leave_office_names_by_their_country(
    name: str, country: str, shown: str | None
) -> None:
    assert _shown(name, country)["office_name"] == shown


def test_the_office_codes_country_picks_the_pattern() -> None:
    assert _shown("98101 SEATTLE WA", None, code="USSEAA")["office_name"] == "SEATTLE WA"


@pytest.mark.parametrize(
    ("name", "origin", "destination", "shown"),
    [
        # No country: the item's countries' patterns, then any token with a digit.
        ("1012 JS AMSTERDAM", "CN", "NL", "AMSTERDAM"),
        ("M5H 2N2 TORONTO", "CN", "US", "TORONTO"),
        ("TERMINAL 2 (98101)", "CN", "US", "TERMINAL"),
        ("HONG KONG", "CN", "US", "HONG KONG"),
        ("SHANGHAI EMS", None, None, "SHANGHAI EMS"),
    ],
)
def test_a_place_without_a_known_country_loses_every_postcode_shape(
    name: str, origin: str, destination: str, shown: str
) -> None:
    assert _shown(name, None, origin=origin, destination=destination)["office_name"] == shown
    # A country without postcodes (Hong Kong) is handled the same way.
    assert _shown(name, "HK", origin=origin, destination=destination)["office_name"] == shown


@pytest.mark.parametrize(
    ("code", "country", "shown"),
    [
        ("USJFKA", "US", "USJFKA"),
        ("CNSHAD", "CN", "CNSHAD"),
        ("10001", "US", None),
        ("EC1A1BB", "GB", None),
        ("TW63XA", "GB", None),
        ("518057", None, None),
        ("51805700", "CN", None),  # digits only: commonly built from the office's postcode
    ],
)
def test_an_office_code_that_is_a_postcode_is_hidden(
    code: str, country: str | None, shown: str | None
) -> None:
    got = _shown("X", country, code=code, next_code=code, origin="CN", destination="US")
    assert (got["office_code"], got["next_office_code"]) == (shown, shown)


@pytest.mark.parametrize(
    ("name", "proof"),
    [
        ("SEATTLE98101", "98101"),
        ("9 8 1 0 1 SEATTLE", "98101"),
        ("PWN2 OFFICE", "pwn2"),
        ("OFFICE pw-n2", "PWN 2"),
    ],
)
def test_the_items_own_postcode_leaves_in_any_spelling(name: str, proof: str) -> None:
    got = _shown(name, "US", origin="CN", destination="US", proof=proof, text=f"at {name}")
    compact = proof.replace(" ", "").upper()
    for value in (got["office_name"], got["reason_text"]):
        assert value is not None
        assert compact not in value.replace(" ", "").replace("-", "").upper()


def test_operators_see_the_place_as_stored_and_the_public_event_is_a_copy() -> None:
    event = Event("EMI", datetime(2026, 3, 1, 9, 0), office_name="98101 SEATTLE WA", country="US")
    shown = Projection("CN", "US", "98101").event(event)
    assert shown.office_name == "SEATTLE WA"
    assert event.office_name == "98101 SEATTLE WA"
    plain = Event("EMI", datetime(2026, 3, 1, 9, 0), office_name="SEATTLE WA", country="US")
    assert Projection("CN", "US", "98101").event(plain) is plain


def test_every_country_pattern_of_the_data_set_compiles() -> None:
    for country in ("US", "GB", "CA", "NL", "JP", "BR", "CN", "DE", "SE", "LU", "IE", "BH"):
        assert places.country_pattern(country) is not None, country
    for nothing in ("AE", "HK", "ZZ", "51", "X", "ÄÖ", "../"):
        assert places.country_pattern(nothing) is None, nothing


def test_the_read_path_has_every_field_of_the_projection() -> None:
    # `lookup.fastpath` hands the projection these columns of its rows, found by name.
    assert set(FIELDS) <= set(HISTORY_EVENT_FIELDS)


_POSTCODES = st.sampled_from(
    [
        ("US", "98101"),
        ("US", "02108"),
        ("DE", "50667"),
        ("CN", "518057"),
        ("JP", "100-0005"),
        ("GB", "EC1A 1BB"),
        ("CA", "M5H 2N2"),
        ("NL", "1012 JS"),
        ("BR", "01310-100"),
    ]
)
_WORDS = st.lists(st.sampled_from(["SEATTLE", "WA", "KOELN", "EMS", "CENTRE", ",", "-"]))


@given(_POSTCODES, _WORDS, _WORDS, st.booleans())
def test_a_postcode_anywhere_in_a_name_never_shows(
    postcode: tuple[str, str], before: list[str], after: list[str], known: bool
) -> None:
    country, code = postcode
    name = " ".join([*before, code, *after])
    got = _shown(name, country if known else None, origin="CN", destination=country)
    shown = (got["office_name"] or "").replace(" ", "").replace("-", "")
    assert code.replace(" ", "").replace("-", "") not in shown
