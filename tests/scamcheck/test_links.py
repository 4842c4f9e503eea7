"""Links: official domains pass; every kind of imitation is named."""

from __future__ import annotations

import pytest

from emstrack.scamcheck import check
from emstrack.scamcheck.domains import official, registrable
from emstrack.scamcheck.links import hosts, judge

OFFICIAL = official(["post.example.org"])


@pytest.mark.parametrize(
    ("host", "code"),
    [
        ("ems.com.cn", "link_official"),
        ("track.auspost.com.au", "link_official"),
        ("tools.usps.com", "link_official"),
        ("canadapost-postescanada.ca", "link_official"),
        ("post.example.org", "link_official"),  # the operator's own, from the setting
        ("usps-redelivery.com", "link_lookalike"),
        ("royalmail.co.uk.pay-fee.com", "link_lookalike"),
        ("usps.com-track.info", "link_lookalike"),
        ("ems-cn.top", "link_lookalike"),
        ("auspostdelivery.net", "link_lookalike"),
        ("post.akcapek.com", "link_post_word"),  # a post's word in front of another's site
        ("postal-center.example.top", "link_post_word"),
        ("usp5.com", "link_misspelled"),
        ("rnyalmail.com", "link_misspelled"),
        ("chinap0st.com", "link_misspelled"),
        ("xn--usp-vqd.com", "link_confusable"),
        ("rоyalmail.com", "link_confusable"),  # a Cyrillic о
        ("bit.ly", "link_shortener"),
        ("tinyurl.com", "link_shortener"),
        ("t.co", "link_shortener"),
        ("is.gd", "link_shortener"),
        ("185.243.115.20", "link_ip_address"),
        ("example.com", "link_unofficial"),
        ("groups.google.com", "link_unofficial"),  # "ups" inside a word is no brand
    ],
)
def test_judge(host: str, code: str) -> None:
    assert judge(host, OFFICIAL).code == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Track at https://www.ems.com.cn/q?n=1", ["ems.com.cn"]),
        ("请点击ems-cn.top补缴运费", ["ems-cn.top"]),
        ("pay at http://185.243.115.20/evri now", ["185.243.115.20"]),
        ("write to help@usps.com, e.g. today; 3.5 kg", []),
        ("bit.ly/x and BIT.LY/y", ["bit.ly"]),
        ("see https://аuspost.com.au/x", ["аuspost.com.au"]),
    ],
)
def test_hosts_found_in_text(text: str, expected: list[str]) -> None:
    assert list(hosts(text)) == expected


@pytest.mark.parametrize(
    ("host", "domain"),
    [("royalmail.co.uk.pay-fee.com", "pay-fee.com"), ("a.b.auspost.com.au", "auspost.com.au")],
)
def test_registrable_domain_from_the_bundled_list(host: str, domain: str) -> None:
    assert registrable(host) == domain


def test_the_operators_domain_setting_is_honoured() -> None:
    text = "Your item was delivered, see https://post.example.org/t"
    # Unknown, "post." in front of example.org dresses it as a post; the operator's own, it is.
    assert check(text).reasons[0].code == "link_post_word"
    assert check(text, official_domains=["post.example.org"]).reasons[0].code == "link_official"
