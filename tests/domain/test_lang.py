"""A language tag from outside (URL, cookie, Accept-Language, Telegram, CLI) becomes a `Lang`."""

from __future__ import annotations

import pytest

from emstrack.domain.lang import BABEL_LOCALE, HTML_LANG, LANGS, lang_of, match


@pytest.mark.parametrize(
    ("tag", "lang"),
    [
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh_Hans", "zh"),  # the value of the language cookie
        ("zh-Hant-TW", "zh"),  # traditional characters: still closer than English
        (" ZH-hk ", "zh"),
        ("en", "en"),
        ("en-GB", "en"),
        ("EN_us", "en"),
    ],
)
def test_our_languages_are_recognised_in_any_spelling(tag: str, lang: str) -> None:
    assert match(tag) == lang
    assert lang_of(tag) == lang


@pytest.mark.parametrize("tag", ["", None, "fr", "de-DE", "*", "z"])
def test_another_language_is_no_match_and_english_by_default(tag: str | None) -> None:
    assert match(tag) is None
    assert lang_of(tag) == "en"
    assert lang_of(tag, default="zh") == "zh"


def test_every_language_has_a_babel_locale_and_an_html_lang() -> None:
    assert set(BABEL_LOCALE) == set(HTML_LANG) == set(LANGS)
    assert BABEL_LOCALE["zh"] == "zh_Hans"
    assert HTML_LANG["zh"] == "zh-Hans"
