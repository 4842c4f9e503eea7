"""Reason categories (docs/standards/events.md §7): standard wordings read, free text kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emstrack.domain import reasons
from emstrack.domain.events import RETURN_PHRASES
from emstrack.domain.reasons import LABELS, WORDINGS, Reading, Reason, read, wording

R = Reason


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Addressee unknown", R.UNKNOWN_ADDRESSEE),
        ("ADDRESSEE UNKNOWN.", R.UNKNOWN_ADDRESSEE),
        ("Attempted - Not Known", R.UNKNOWN_ADDRESSEE),
        ("inconnu", R.UNKNOWN_ADDRESSEE),
        ("查无此人", R.UNKNOWN_ADDRESSEE),
        ("Refused by addressee", R.REFUSED),
        ("REFUSÉ", R.REFUSED),
        ("refuse", R.REFUSED),
        ("收件人拒收。", R.REFUSED),
        ("收件人 拒收", R.REFUSED),
        ("En voyage", R.AWAY),
        ("Moved, left no address", R.MOVED),
        ("moved left no address", R.MOVED),
        ("Parti", R.MOVED),
        ("迁移新址不明", R.MOVED),
        ("Unclaimed", R.UNCLAIMED),
        ("Non réclamé", R.UNCLAIMED),
        ("逾期未领", R.UNCLAIMED),
        ("Deceased", R.DECEASED),
        ("Décédé", R.DECEASED),
        ("收件人已故", R.DECEASED),
        ("Insufficient address", R.ADDRESS_INSUFFICIENT),
        ("地址不详", R.ADDRESS_INSUFFICIENT),
        ("No such address", R.NO_SUCH_ADDRESS),
        ("Addressee absent", R.ABSENT),
        ("Addressee absent - notice left", R.ABSENT_NOTICE_LEFT),
        ("Addressee absent, notice left", R.ABSENT_NOTICE_LEFT),
        ("Held by customs", R.HELD_BY_CUSTOMS),
        ("海关扣留", R.HELD_BY_CUSTOMS),
        ("Awaiting documents", R.DOCUMENTS_REQUIRED),
        ("Invoice required", R.DOCUMENTS_REQUIRED),
        ("Awaiting payment of duties and taxes", R.DUTIES_UNPAID),
        ("Export declaration incomplete", R.DECLARATION_INCOMPLETE),
        ("Awaiting import licence or certificate", R.LICENCE_REQUIRED),
        ("Prohibited article", R.PROHIBITED),
        ("Customs inspection in progress", R.UNDER_INSPECTION),
        ("ＡＤＤＲＥＳＳＥＥ　ＵＮＫＮＯＷＮ", R.UNKNOWN_ADDRESSEE),  # full-width
    ],
)
def test_a_standard_wording_has_its_category(text: str, reason: Reason) -> None:
    assert read(None, text) == Reading(reason)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Refused by addressee, returned to sender", R.REFUSED),
        ("Moved, left no address; returned to sender", R.MOVED),
        ("Returned to sender - unclaimed", R.UNCLAIMED),
        ("收件人拒收，退回", R.REFUSED),
        ("Returned to sender", None),
        ("退回寄件人", None),
    ],
)
def test_a_return_clause_is_read_beside_the_wording(text: str, reason: Reason | None) -> None:
    assert read(None, text) == Reading(reason, returned=True)


@pytest.mark.parametrize(
    "text",
    [
        "Prohibited article (lithium battery); returned to sender",  # a clause of its own
        "Addressee unknown at the Berlin office",
        "Not refused",
        "Refused, deceased",  # two categories: not ours to choose
        "Business closed",
        "Notice left; collect within 14 days",
        "Declared value under review",
        "Unknown",  # could be any reason
        "",
        "  ",
        "...",
    ],
)
def test_anything_more_is_free_text(text: str) -> None:
    assert read(None, text) is None


def test_a_code_has_a_category_only_from_the_source_s_table() -> None:
    table = {"21": R.ABSENT_NOTICE_LEFT}
    assert read("21", None) is None  # no UPU number is known: none is invented
    assert read("21", "Zustellung nicht möglich", table) == Reading(R.ABSENT_NOTICE_LEFT)
    assert read(" 21 ", None, table) == Reading(R.ABSENT_NOTICE_LEFT)
    assert read("22", "Refused", table) == Reading(R.REFUSED)  # the text, then
    assert read("22", None, table) is None


def test_every_category_has_words_and_wordings_in_both_languages() -> None:
    assert set(LABELS) == set(Reason) == set(WORDINGS)
    for reason in Reason:
        en, zh = LABELS[reason]
        assert en.isascii()
        assert not zh.isascii()
        # A category's own words read back as the category, in both languages.
        assert read(None, en) == Reading(reason), en
        assert read(None, zh) == Reading(reason), zh


def test_no_wording_is_a_return() -> None:
    folded = {reasons.fold(p) for p in RETURN_PHRASES}
    assert not folded & {reasons.fold(w) for ws in WORDINGS.values() for w in ws}


@pytest.mark.parametrize(
    ("text", "en", "zh"),
    [
        ("Refused by addressee", "Refused by the addressee", "收件人拒收"),
        ("收件人拒收", "Refused by the addressee", "收件人拒收"),
        (
            "Refused by addressee, returned to sender",
            "Refused by the addressee; returned to sender",
            "收件人拒收，退回寄件人",
        ),
        ("Returned to sender", "Returned to sender", "退回寄件人"),
        ("Awaiting documents", "Documents required (such as an invoice)", "需补充单证（如发票）"),
    ],
)
def test_a_category_is_said_in_the_reader_s_language_only(text: str, en: str, zh: str) -> None:
    assert wording(None, text, "en") == reasons.Wording(en)
    assert wording(None, text, "zh") == reasons.Wording(zh)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Declared value under review", "en"),
        ("  Business closed ", "en"),
        ("投递员已联系收件人", "zh"),
        ("Destinataire déménagé", None),  # accented Latin: which language is not known
        ("不在票をお届けしました", "ja"),
        ("수취인 부재", "ko"),
        ("派送 to Mr X", None),
    ],
)
def test_free_text_stays_as_sent_with_its_script_s_language(text: str, lang: str | None) -> None:
    for reader in ("en", "zh"):
        assert wording("77", text, reader) == reasons.Wording(text.strip(), lang)


def test_a_code_without_text_is_shown_as_sent() -> None:
    assert wording("77", None, "zh") == reasons.Wording("77")
    assert wording(None, " ", "zh") is None


@given(st.text(max_size=40))
def test_reading_never_fails_and_free_text_is_never_changed(text: str) -> None:
    said = wording(None, text, "zh")
    if read(None, text) is None and text.strip():
        assert said == reasons.Wording(text.strip(), reasons.script_lang(text))
