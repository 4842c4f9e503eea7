"""Source profiles (docs/import.md, "Profiles"): every rule of the built-in profiles, their time
rules, a bad profile's error, and texts no rule maps kept as operator events."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from emstrack.domain.events import CATALOGUE
from emstrack.domain.operator import NO_EFFECT_CODE, STAND_IN, Effect
from emstrack.errors import InputError
from emstrack.ingest import profiles
from emstrack.ingest.records import RecordError, parse_record

NUMBER = "EE123456785CN"

# (text, English text, rule, UPU code or None, effect or None): every rule of `chinapost`.
CHINAPOST = [
    ("收寄局收寄", None, "collection", "EMA", None),
    ("收寄局收寄 / Collection", None, "collection", "EMA", None),
    ("【池州市邮政分公司】已收寄，揽投员：张三，电话：13905661234", None, "collection", "EMA",
     None),
    ("", "Collection", "collection", "EMA", None),
    ("到达AnHuiShengChiZhouShi处理中心", "Arrival at Sorting Center", "sorting-arrival", None,
     Effect.ORIGIN_TRANSIT),
    ("离开合肥处理中心，发往上海", "Departure from Sorting Center", "sorting-departure", None,
     Effect.ORIGIN_TRANSIT),
    ("出口总包互封开拆", "Opening", "export-opening", None, Effect.ORIGIN_TRANSIT),
    ("出口总包互封封发", None, "export-closing", "EMC", None),
    ("海关出口审单完毕", None, "export-customs", "EXC", None),
    ("交航", "", "handed-to-airline", None, Effect.DEPARTED_ORIGIN),
    ("到达寄达地", "Arrival at inward office of exchange", "arrival-destination", "EMD", None),
    ("安排投递", "Out for delivery", "out-for-delivery", "EDG", None),
    ("未妥投", "Unsuccessful delivery", "unsuccessful-delivery", "EMH", None),
    ("未妥投，收件人不在", None, "unsuccessful-delivery", "EMH", None),
    ("妥投", "Final delivery", "final-delivery", "EMI", None),
    ("已签收，他人代收", None, "final-delivery", "EMI", None),
]  # fmt: skip

# The same for `usps`.
USPS = [
    ("USPS in possession of item", "accepted", "EMA", None),
    ("USPS picked up item", "accepted", "EMA", None),
    ("Arrived at USPS Regional Facility", "arrived-facility", None, Effect.DESTINATION_TRANSIT),
    ("Departed USPS Regional Facility", "departed-facility", None, Effect.DESTINATION_TRANSIT),
    ("Processed Through Facility", "processed", None, Effect.DESTINATION_TRANSIT),
    ("processed   through  usps facility", "processed", None, Effect.DESTINATION_TRANSIT),
    ("In Transit to Next Facility", "in-transit", None, Effect.DESTINATION_TRANSIT),
    ("Inbound Into Customs", "customs", None, Effect.IMPORT_CUSTOMS),
    ("Customs Clearance Processing Complete", "customs-released", "EDC", None),
    ("Arrived at Post Office", "arrived-post-office", "EMG", None),
    ("Out for Delivery", "out-for-delivery", "EDG", None),
    ("Out for Delivery, Expected Delivery by 9:00pm", "out-for-delivery", "EDG", None),
    ("Notice Left (No Authorized Recipient Available)", "notice-left", "EMH", None),
    ("Available for Pickup", "available-for-pickup", "EDH", None),
    ("Delivered, In/At Mailbox", "delivered", "EMI", None),
    ("Delivered, Front Door/Porch", "delivered", "EMI", None),
    ("DELIVERED", "delivered", "EMI", None),
]  # fmt: skip


# The same for `upu-names`: the UPU's names, exactly, and their variants (by the patterns).
UPU_NAMES = [
    ("Posting/collection", "posting", "EMA"),
    ("POSTING / COLLECTION", "posting", "EMA"),
    ("Item posting or collection", "posting", "EMA"),
    ("Posted / collected", "posting", "EMA"),
    ("Arrival at outward office of exchange", "arrival-outward", "EMB"),
    ("arrived at the outward office of exchange", "arrival-outward", "EMB"),
    ("Item presented to export customs/security", "export-customs-presented", "EXA"),
    ("Presented to export customs or security", "export-customs-presented", "EXA"),
    ("Item held by export customs/security", "export-customs-held", "EXB"),
    ("Held by export customs", "export-customs-held", "EXB"),
    ("Item returned from export customs/security", "export-customs-released", "EXC"),
    ("Released by export customs", "export-customs-released", "EXC"),
    ("Item held at outward office of exchange", "held-outward", "EXD"),
    ("Export cancelled", "export-cancelled", "EXX"),
    ("Item export canceled", "export-cancelled", "EXX"),
    ("Departure from outward office of exchange", "departure-outward", "EMC"),
    ("Dispatch from the outward office of exchange", "departure-outward", "EMC"),
    ("Item left outward office of exchange", "departure-outward", "EMC"),
    ("Arrival at transit office of exchange", "arrival-transit", "EMJ"),
    ("Departure from transit office of exchange", "departure-transit", "EMK"),
    ("Departed from a transit office of exchange", "departure-transit", "EMK"),
    ("Arrival at inward office of exchange", "arrival-inward", "EMD"),
    ("Item arrived at inward office of exchange", "arrival-inward", "EMD"),
    ("Held at inward office of exchange", "held-inward", "EDA"),
    ("Item presented to import customs", "import-customs-presented", "EDB"),
    ("presented to the import customs", "import-customs-presented", "EDB"),
    ("Held by import customs", "import-customs-held", "EME"),
    ("Handed over to customs", "import-customs-held", "EME"),
    ("Item handed over to customs", "import-customs-held", "EME"),
    ("Item returned from customs", "import-customs-released", "EDC"),
    ("Released by the import customs", "import-customs-released", "EDC"),
    ("Departure from inward office of exchange", "departure-inward", "EMF"),
    ("Departed inward office of exchange", "departure-inward", "EMF"),
    ("Item into sorting centre", "into-sorting-centre", "EDD"),
    ("Item out of sorting center", "out-of-sorting-centre", "EDE"),
    ("Arrival at delivery office", "arrival-delivery-office", "EMG"),
    ("arrival at the  delivery office", "arrival-delivery-office", "EMG"),
    ("Item held at delivery depot/delivery office", "held-delivery-office", "EDF"),
    ("Held at the delivery office", "held-delivery-office", "EDF"),
    ("Out for delivery", "out-for-delivery", "EDG"),
    ("Item out for physical delivery", "out-for-delivery", "EDG"),
    ("Item arrived at collection point for pick-up", "collection-point", "EDH"),
    ("Ready for pickup at the collection point", "collection-point", "EDH"),
    ("Unsuccessful (attempted) delivery", "unsuccessful-delivery", "EMH"),
    ("Attempted/unsuccessful delivery", "unsuccessful-delivery", "EMH"),
    ("attempted or unsuccessful delivery", "unsuccessful-delivery", "EMH"),
    ("Unsuccessful delivery", "unsuccessful-delivery", "EMH"),
    ("Item attempted delivery", "unsuccessful-delivery", "EMH"),
    ("Final delivery", "final-delivery", "EMI"),
    ("FINAL DELIVERY", "final-delivery", "EMI"),
    ("Delivered", "final-delivery", "EMI"),
    ("Import terminated", "import-terminated", "EDX"),
]  # fmt: skip


def _read(profile: str, **fields: str) -> tuple[str, str | None, str | None, str | None]:
    record = {"tracking_number": NUMBER, "event_time": "2026-11-24 09:30", **fields}
    event = parse_record(record, profile=profiles.load(profile)).event
    return event.code, event.rule, event.effect, event.label_en


@pytest.mark.parametrize(("text", "english", "rule", "code", "effect"), CHINAPOST)
def test_chinapost_rules(
    text: str, english: str | None, rule: str, code: str | None, effect: Effect | None
) -> None:
    fields = {"description": text or english or "", "description_en": english or ""}
    got_code, got_rule, got_effect, label = _read("chinapost", **fields)
    assert (got_rule, got_effect) == (rule, effect)
    assert got_code == (code or STAND_IN[effect or Effect.NONE])
    assert (label is not None) == (effect is not None)  # an operator event has its label


@pytest.mark.parametrize(("text", "rule", "code", "effect"), USPS)
def test_usps_rules(text: str, rule: str, code: str | None, effect: Effect | None) -> None:
    got_code, got_rule, got_effect, _ = _read("usps", description=text)
    assert (got_rule, got_effect) == (rule, effect)
    assert got_code == (code or STAND_IN[effect or Effect.NONE])


@pytest.mark.parametrize(("text", "rule", "code"), UPU_NAMES)
def test_upu_names_rules(text: str, rule: str, code: str) -> None:
    assert _read("upu-names", description=text)[:3] == (code, rule, None)


@pytest.mark.parametrize(
    "text",
    [
        "Held by customs",  # export or import: no certain code
        "Final delivery attempt failed",  # contains a name, is not one
        "Not delivered",
        "Arrival at sorting centre",  # origin or destination: no certain code
        "Posting/collection, Beijing",
    ],
)
def test_upu_names_maps_no_text_it_is_not_sure_of(text: str) -> None:
    code, rule, effect, label = _read("upu-names", description=text)
    assert (code, rule, effect, label) == (NO_EFFECT_CODE, None, "none", text)


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("chinapost", [r[2] for r in CHINAPOST]),
        ("usps", [r[1] for r in USPS]),
        ("upu-names", [r[1] for r in UPU_NAMES]),
    ],
)
def test_every_rule_is_in_its_table(name: str, table: list[str]) -> None:
    assert {rule.id for rule in profiles.load(name).rules} == set(table)


def test_upu_names_has_a_rule_for_every_catalogue_code() -> None:
    assert {rule.event_code for rule in profiles.load("upu-names").rules} == set(CATALOGUE)


def test_the_builtin_profiles() -> None:
    assert profiles.builtin_names() == ["chinapost", "upu", "upu-names", "usps"]
    assert not profiles.load("upu").uses_texts


@pytest.mark.parametrize(
    ("profile", "text", "english", "label_en", "label_zh"),
    [
        # Unmapped: kept, no effect, its own words as the label, the postman's phone gone.
        ("chinapost", "揽投员姓名：李四,联系电话:13905661234 请保持电话畅通", "", "请保持电话畅通",
         "请保持电话畅通"),
        ("chinapost", "包裹在安徽池州 247000 滞留", "Held in Chizhou", "Held in Chizhou",
         "包裹在安徽池州 滞留"),
        ("usps", "Reminder to pick up your item, call +1 212-736-5000", "",
         "Reminder to pick up your item, call", "Reminder to pick up your item, call"),
        ("usps", "Forwarded to 10001-1234", "", "Forwarded to", "Forwarded to"),
    ],
)  # fmt: skip
def test_an_unmapped_text_is_kept_without_personal_data(
    profile: str, text: str, english: str, label_en: str, label_zh: str
) -> None:
    record = {"tracking_number": NUMBER, "event_time": "2026-11-24 09:30", "description": text}
    if english:
        record["description_en"] = english
    event = parse_record(record, profile=profiles.load(profile)).event
    assert (event.code, event.rule, event.effect) == (NO_EFFECT_CODE, None, "none")
    assert (event.label_en, event.label_zh) == (label_en, label_zh)
    assert text in (event.description or "")  # the whole text stays, for operators


@pytest.mark.parametrize(
    ("profile", "fields", "offset"),
    [
        ("chinapost", {}, 480),  # China: UTC+8 all year
        ("chinapost", {"office_name": "20110600"}, 480),
        ("chinapost", {"country": "DE"}, 60),  # a scan abroad: that country's rule
        ("chinapost", {"utc_offset": "+09:00"}, 540),  # the row's own offset wins
        ("usps", {"office_name": "JAMAICA, NY 11431"}, -300),
        ("usps", {"office_name": "LOS ANGELES, CA 90052"}, -480),
        ("usps", {"office_name": "HONOLULU, HI"}, -600),
        ("usps", {"region": "az"}, -420),
        ("usps", {"office_name": "NETWORK DISTRIBUTION CENTER"}, None),  # never guessed
        ("usps", {"office_name": "DALLAS, TX 75260"}, None),  # a state of two zones
    ],
)
def test_time_rules(profile: str, fields: dict[str, str], offset: int | None) -> None:
    record = {
        "tracking_number": NUMBER,
        "event_time": "2026-11-24 09:30",
        "description": "Processed Through Facility",
        **fields,
    }
    assert parse_record(record, profile=profiles.load(profile)).event.utc_offset_min == offset


def test_usps_summer_time() -> None:
    record = {
        "tracking_number": NUMBER,
        "event_time": "2026-07-04 09:30",
        "description": "Out for Delivery",
        "office_name": "BROOKLYN, NY 11256",
    }
    event = parse_record(record, profile=profiles.load("usps")).event
    assert event.utc_offset_min == -240
    assert event.occurred_local == datetime(2026, 7, 4, 9, 30)


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        ({"event_time": "2026-11-24 09:30", "description": "交航"}, "tracking_number: required"),
        ({"tracking_number": NUMBER, "description": "交航"}, "event_time: required"),
        ({"tracking_number": NUMBER, "event_time": "2026-11-24 09:30"}, "description: required"),
        ({"mailno": NUMBER, "optime": "yesterday", "desc": "交航"}, "event_time:"),
    ],
)
def test_a_row_without_what_a_profile_needs_is_rejected(
    record: dict[str, str], reason: str
) -> None:
    with pytest.raises(RecordError) as caught:
        parse_record(record, profile=profiles.load("chinapost"))
    assert any(r.startswith(reason) for r in caught.value.reasons)


def test_column_aliases() -> None:
    record = {"MailNo": NUMBER, "opTime": "2026-11-24 09:30", "desc": "妥投", "opName": "CHIZHOU"}
    event = parse_record(record, profile=profiles.load("chinapost")).event
    assert (event.code, event.office_name, event.raw) == ("EMI", "CHIZHOU", record)


_GOOD = """
name = "mine"
[[rule]]
id = "scan"
match = ["Scanned"]
effect = "origin_transit"
en = "Scanned"
zh = "已扫描"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = ", "not valid TOML"),
        ("title = 'x'", "needs 'name'"),
        ("name = 'Mine!'", "'name' must be"),
        (_GOOD.replace('effect = "origin_transit"', 'effect = "flying"'),
         "rule 1 (scan): effect 'flying' is not one of none, accepted"),
        (_GOOD.replace('effect = "origin_transit"', 'effect = "accepted"\nevent_code = "EMA"'),
         "rule 1 (scan) needs exactly one of"),
        (_GOOD.replace('match = ["Scanned"]', 'pattern = ["(unclosed"]'),
         "rule 1 (scan): pattern '(unclosed' is not valid"),
        (_GOOD.replace('match = ["Scanned"]', ""), "rule 1 (scan) needs 'match' or 'pattern'"),
        (_GOOD.replace('zh = "已扫描"', ""), "rule 1 (scan) needs 'zh'"),
        (_GOOD + _GOOD.replace('name = "mine"', ""), "rule 2 (scan): the id is used"),
        ("name = 'x'\n[time]\nutc_offset = '+25:00'", "[time] utc_offset"),
        ("name = 'x'\n[time.zones]\nNY = 'America/Nowhere'", "no time zone named"),
    ],
)  # fmt: skip
def test_a_bad_profile_says_where(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        profiles.load(str(path))
    assert caught.value.code == "bad_profile"
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_a_profile_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(_GOOD, encoding="utf-8")
    assert _read(str(path), description="  SCANNED ") == (
        "EMB",
        "scan",
        "origin_transit",
        "Scanned",
    )


def test_an_unknown_profile_name() -> None:
    with pytest.raises(
        InputError, match="no profile named 'dhl'; built in: chinapost, upu, upu-names, usps"
    ):
        profiles.load("dhl")


def test_the_example_in_the_docs() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "import.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    profile = profiles.parse(example, "docs/import.md")
    assert profile.utc_offset_min == 120
    assert profile.match("Arrived at OSLO hub").rule == "hub"
    assert profile.match("received at counter").event_code == "EMA"
    assert profile.parse_time("24.11.2026 09:30") == datetime(2026, 11, 24, 9, 30)


@pytest.mark.parametrize(
    ("given", "local"),
    [
        ("November 24, 2026, 9:30 am", datetime(2026, 11, 24, 9, 30)),
        ("December 1, 2026 4:05 PM", datetime(2026, 12, 1, 16, 5)),
        ("11/24/2026 09:30 PM", datetime(2026, 11, 24, 21, 30)),
        ("2026-11-24T09:30", datetime(2026, 11, 24, 9, 30)),
    ],
)
def test_usps_times_as_printed(given: str, local: datetime) -> None:
    record = {"tracking_number": NUMBER, "event_time": given, "description": "Delivered"}
    event = parse_record(record, profile=profiles.load("usps")).event
    assert event.occurred_local == local
    assert event.utc_offset_min is None  # no state given: unknown, never UTC
