"""What recurs among reported messages (`scamcheck.recurring`): each kind as a table of cases,
counted per report, and a property: an item in k reports counts k, whatever their order."""

from __future__ import annotations

import importlib.util
import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emstrack.scamcheck.recurring import Report, domains_of, phone, phones_of, phrases_of, summarise

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
HAS_OPENCC = importlib.util.find_spec("opencc") is not None


def reports(*texts: str | tuple[str, str | None]) -> list[Report]:
    """Reports 1, 2, … a day apart, from texts or (text, sender)."""
    made = []
    for index, given_ in enumerate(texts, start=1):
        text, sender = given_ if isinstance(given_, tuple) else (given_, None)
        made.append(Report(index, text, sender, T0 + timedelta(days=index)))
    return made


@pytest.mark.parametrize(
    ("text", "sender", "expected"),
    [
        ("Pay at https://www.ems-cn-delivery.top/pay", None, {"ems-cn-delivery.top"}),
        ("pay.ems-cn-delivery.top or EMS-CN-DELIVERY.TOP", None, {"ems-cn-delivery.top"}),
        ("点击ems-cn.top补缴", None, {"ems-cn.top"}),
        ("http://203.0.113.7/pay", None, {"203.0.113.7"}),
        ("see https://www.ems.com.cn", None, {"ems.com.cn"}),
        ("no link here, e.g. 3.5 kg", None, set()),
        (
            "Your parcel is held",
            "Royal Mail <noreply@mail.royalmail-help.com>",
            {"royalmail-help.com"},
        ),
        ("Your parcel is held", "+44 7700 900123", set()),
    ],
)
def test_domains(text: str, sender: str | None, expected: set[str]) -> None:
    assert domains_of(text, sender) == expected


@pytest.mark.parametrize(
    ("text", "sender", "expected"),
    [
        ("您的包裹未领取，请速致电客服 0755-12345678", None, {"+8675512345678"}),
        ("请致电 0755 1234 5678", None, {"+8675512345678"}),
        ("联系 +86 755 1234 5678", None, {"+8675512345678"}),
        ("手机 138 0013 8000，或 +86 13800138000", None, {"+8613800138000"}),
        ("请拨打 400-820-0000", None, {"+864008200000"}),
        ("请拨打 95555 查询", None, {"95555"}),
        ("Call +44 20 7946 0958 today", None, {"+442079460958"}),
        ("Call 1-800-275-8777 now", None, {"+18002758777"}),
        ("单号 1234567890123 已到达", None, set()),
        ("Item EE123456785CN on 2026-11-24 10:00", None, set()),
        ("zip CA 95123", None, set()),  # a 95 number only in Chinese text
        ("您的包裹", "+86 138-0013-8000", {"+8613800138000"}),
        ("您的包裹", "1069 0000 1234", {"106900001234"}),
        ("Your parcel", "EMS", set()),
        ("Your parcel", "x@gmail.com", set()),
    ],
)
def test_phones(text: str, sender: str | None, expected: set[str]) -> None:
    assert phones_of(text, sender) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("+86 138 0013 8000", "+8613800138000"), ("+1 (555) 0100", "+15550100"), ("12", None)],
)
def test_a_sender_number(value: str, expected: str | None) -> None:
    assert phone(value) == expected


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        (
            "Your parcel is held at customs.",
            {"parcel is held", "your parcel is held at customs", "held at customs"},
            {"is held at customs."},
        ),
        ("It is in the box", {"in the box"}, {"it is in", "is in the"}),  # stop words alone
        ("Pay within 24 hours or else", {"within 24 hours", "pay within 24 hours"}, set()),
        ("call +44 20 7946 0958 about it", set(), {"call 44 20", "44 20 7946"}),
        ("held: EE123456785CN today now", set(), {"held ee123456785cn today"}),
        ("see https://usps-redelivery.com/pay now to pay", set(), {"usps redelivery com"}),
        ("one two three four five six seven", {"two three four five six seven"}, set()),
        ("one two three four five six seven", set(), {"one two three four five six seven"}),
        (
            "您的包裹被海关扣留，需要补缴税款",
            {"您的包裹", "被海关扣留", "需要补缴税款"},
            {"扣留需要"},
        ),
        ("海关", set(), {"海关"}),  # shorter than four characters
        ("一二三四五六七八九十甲乙", {"一二三四五六七八九十", "三四五六七八九十甲乙"}, set()),
        ("一二三四五六七八九十甲乙", set(), {"一二三四五六七八九十甲"}),
    ],
)
def test_phrases(text: str, present: set[str], absent: set[str]) -> None:
    found = phrases_of(text)
    assert present <= found
    assert not absent & found


@pytest.mark.skipif(not HAS_OPENCC, reason="opencc is not installed")
def test_traditional_chinese_is_read_as_simplified() -> None:
    assert phrases_of("您的郵件被海關扣留，請點擊連結") == phrases_of(
        "您的邮件被海关扣留，请点击连结"
    )


def test_counted_per_report_not_per_occurrence() -> None:
    link = "https://ems-cn-delivery.top/pay "
    summary = summarise(reports(link * 5, link, "nothing here"), min_reports=1)
    (domain,) = summary.domains
    assert (domain.value, domain.reports) == ("ems-cn-delivery.top", 2)
    assert (domain.first_seen, domain.last_seen) == (T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert domain.example == 2  # the latest report with it
    assert summary.reports == 3


def test_only_what_recurs_in_min_reports() -> None:
    found = reports("a https://one.top", "b https://one.top", "c https://two.top")
    assert [d.value for d in summarise(found).domains] == ["one.top"]
    assert [d.value for d in summarise(found, min_reports=3).domains] == []
    assert {d.value for d in summarise(found, min_reports=1).domains} == {"one.top", "two.top"}


def test_official_domains_are_marked() -> None:
    found = reports("see https://www.ems.com.cn", "at ems.com.cn", "https://track.example.org")
    summary = summarise(
        found + reports("https://track.example.org"), official_domains=["track.example.org"]
    )
    marked = {d.value: d.official for d in summary.domains}
    assert marked["ems.com.cn"] == "China Post EMS"
    assert marked["example.org"] == "the operator of this service"


def test_the_longest_phrase_in_the_same_reports_is_kept() -> None:
    held = "Your parcel is held at customs."
    phrases = {p.value: p.reports for p in summarise(reports(held, held)).phrases}
    assert phrases == {"your parcel is held at customs": 2}
    # A shorter phrase in more reports is kept beside the longer one.
    more = reports(held, held, "The parcel is held.")
    phrases = {p.value: p.reports for p in summarise(more).phrases}
    assert phrases == {"your parcel is held at customs": 2, "parcel is held": 3}
    chinese = {
        p.value for p in summarise(reports("您的包裹被海关扣留。", "你的包裹被海关扣留")).phrases
    }
    assert chinese == {"的包裹被海关扣留"}


def test_each_kind_most_reported_first_and_top() -> None:
    found = reports(
        "https://a.top https://b.top",
        "https://a.top https://b.top",
        "https://a.top",
        "https://c.top",
    )
    summary = summarise(found, min_reports=1)
    assert [(d.value, d.reports) for d in summary.domains] == [
        ("a.top", 3),
        ("b.top", 2),
        ("c.top", 1),
    ]
    assert [d.value for d in summary.top(1).domains] == ["a.top"]
    document = summary.to_dict()
    assert document["reports"] == 4
    assert document["domains"][0] == {
        "value": "a.top",
        "reports": 3,
        "first_seen": "2026-11-02T08:00:00+00:00",
        "last_seen": "2026-11-04T08:00:00+00:00",
        "example_report": 3,
    }


def test_nothing_in_nothing_out() -> None:
    summary = summarise([])
    assert summary.reports == 0
    assert all(not items for items in summary.kinds().values())


MARKER = (
    " Call +44 20 7946 0958 about EE123456785CN at https://ems-cn-delivery.top/pay."
    " zebra quokka marmot. "
)


# No deadline: each example summarises a dozen reports, and on a machine shared with other
# test runs one example can take longer than Hypothesis's 200 ms without anything being wrong.
@settings(deadline=None)
@given(
    with_marker=st.lists(
        st.tuples(st.integers(1, 3), st.text("abcxyz \n", max_size=30)), max_size=6
    ),
    without=st.lists(st.text("abcxyz \n", max_size=30), max_size=6),
    days=st.lists(st.integers(0, 400), min_size=12, max_size=12),
    order=st.randoms(use_true_random=False),
)
def test_an_item_in_k_reports_counts_k_whatever_the_order(
    with_marker: list[tuple[int, str]], without: list[str], days: list[int], order: random.Random
) -> None:
    texts = [f"{filler} {MARKER * times} {filler}" for times, filler in with_marker] + without
    found = [Report(i, text, None, T0 + timedelta(days=days[i])) for i, text in enumerate(texts)]
    marked = found[: len(with_marker)]
    shuffled = list(found)
    order.shuffle(shuffled)
    k = len(with_marker)
    summary = summarise(shuffled, min_reports=1)
    assert summary == summarise(found, min_reports=1)
    for kind, value in [
        ("domains", "ems-cn-delivery.top"),
        ("phones", "+442079460958"),
        ("tracking_numbers", "EE123456785CN"),
        ("phrases", "zebra quokka marmot"),
    ]:
        items = {item.value: item for item in summary.kinds()[kind]}
        if k == 0:
            assert value not in items
            continue
        assert items[value].reports == k
        assert items[value].first_seen == min(r.created_at for r in marked)
        assert items[value].last_seen == max(r.created_at for r in marked)
    at_least_two = {item.value for item in summarise(shuffled).domains}
    assert ("ems-cn-delivery.top" in at_least_two) is (k >= 2)
