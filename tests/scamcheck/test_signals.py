"""What a message asks for, its sender and its tracking numbers, each signal on its own."""

from __future__ import annotations

import pytest

from emstrack.scamcheck import REASONS, Verdict, check
from emstrack.scamcheck.domains import official
from emstrack.scamcheck.numbers import candidates
from emstrack.scamcheck.sender import judge


def codes(text: str, sender: str | None = None) -> set[str]:
    return {r.code for r in check(text, sender).reasons}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Pay the small fee at https://example.top", "fee_with_link"),
        ("A redelivery fee is due: bit.ly/x", "fee_with_link"),
        ("Customs duty must be paid at pay-now.example.com", "fee_with_link"),
        ("请点击 http://x.example.cn 补缴运费", "fee_with_link"),
        ("需缴纳关税 www.shui.example.com", "fee_with_link"),
        ("Import duties are payable before we can deliver your parcel.", "payment_request"),
        ("Enter your card number and CVV", "card_or_secret"),
        ("Send us the verification code", "card_or_secret"),
        ("请提供银行卡号和验证码", "card_or_secret"),
        ("请输入网银密码", "card_or_secret"),
        ("Please confirm your address", "personal_data"),
        ("请提供身份证号码", "personal_data"),
        ("Act within 24 hours", "urgency"),
        ("Final notice: the parcel will be returned", "urgency"),
        ("请在24小时内处理，否则退回", "urgency"),
    ],
)
def test_what_the_message_asks_for(text: str, code: str) -> None:
    assert code in codes(text)


def test_a_fee_with_an_official_link_is_only_a_mention() -> None:
    found = codes("Import duty is payable: see https://www.royalmail.com/fees")
    assert "payment_request" in found
    assert "fee_with_link" not in found


@pytest.mark.parametrize(
    ("sender", "code"),
    [
        ("13800138000", "sender_phone"),
        ("+86 138 0013 8000", "sender_phone"),
        ("+44 7700 900123", "sender_phone"),
        ("parcels.notice@gmail.com", "sender_webmail"),
        ("EMS <kefu@qq.com>", "sender_webmail"),
        ("service@163.com", "sender_webmail"),
        ("noreply@outlook.com", "sender_webmail"),
        ("alert@usps-notice.com", "sender_lookalike"),
        ("11183", None),
        ("10658999", None),
        ("95580", None),
        ("noreply@ems.com.cn", None),
        ("USPS", None),
    ],
)
def test_sender(sender: str, code: str | None) -> None:
    found = judge(sender, official())
    assert (found.code if found else None) == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Item EE 319 390 717 CN is here", ["EE319390717CN"]),
        ("ee319390717cn and EE319390717CN", ["EE319390717CN"]),
        ("单号1012345678901已到", ["1012345678901"]),
        ("call 13800138000", []),
        ("ref ABC319390717CNX", []),
    ],
)
def test_tracking_number_candidates(text: str, expected: list[str]) -> None:
    assert candidates(text) == expected


def test_an_invalid_check_digit_is_a_strong_signal() -> None:
    result = check("Your parcel EE319390710CN is held")
    assert "number_invalid" in {r.code for r in result.reasons}
    assert result.verdict is Verdict.LIKELY_SCAM
    assert result.numbers[0].outcome == "invalid"


def test_a_valid_number_alone_raises_nothing_without_records() -> None:
    result = check("Your parcel EE319390717CN was delivered")
    assert result.verdict is Verdict.NO_RED_FLAGS
    assert result.numbers[0].outcome == "valid"


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("Hello, your parcel was delivered today.", Verdict.NO_RED_FLAGS),
        ("Your parcel is waiting: bit.ly/x", Verdict.SUSPICIOUS),
        ("USPS: pay the redelivery fee at usps-redelivery.com", Verdict.LIKELY_SCAM),
    ],
)
def test_verdict_from_weights(text: str, verdict: Verdict) -> None:
    assert check(text).verdict is verdict


@pytest.mark.parametrize("code", sorted(REASONS))
def test_every_reason_has_both_languages(code: str) -> None:
    _, en, zh = REASONS[code]
    assert en
    assert zh != en


def test_reasons_and_advice_in_chinese() -> None:
    result = check("请点击 ems-cn.top 补缴运费")
    body = result.to_dict("zh")
    assert body["verdict"] == "likely_scam"
    assert "官方域名" in body["reasons"][0]["message"]
    assert any("11183" in line for line in body["advice"])


def test_long_text_is_cut_not_refused() -> None:
    assert check("a " * 10_000).verdict is Verdict.NO_RED_FLAGS


@pytest.mark.parametrize(
    "number", ["EE000000001CN", "EE123456784CN", "RR111111110GB", "MA038501234GB"]
)
def test_a_placeholder_number_is_no_invention(number: str) -> None:
    # Examples and anonymised copies print such serials; a scammer's invented number does not.
    result = check(f"Your parcel {number} was delivered")
    assert result.numbers[0].outcome == "invalid"
    assert "number_invalid" not in {r.code for r in result.reasons}
