"""The languages emstrack speaks: English and Simplified Chinese, as one type everywhere.

Pages, bots, mails, API answers and the domain's own labels all take a `Lang`. A language tag
from outside (`zh-CN`, `zh_Hans`, `zh-TW`, `en-GB`, a Telegram `language_code`) becomes one with
`lang_of`; nothing else in the code compares language strings.
"""

from __future__ import annotations

from typing import Final, Literal

Lang = Literal["en", "zh"]

LANGS: Final[tuple[Lang, ...]] = ("en", "zh")

#: The name of each language's Babel locale (dates, catalogues) and its HTML `lang` attribute.
BABEL_LOCALE: Final[dict[Lang, str]] = {"en": "en", "zh": "zh_Hans"}
HTML_LANG: Final[dict[Lang, str]] = {"en": "en", "zh": "zh-Hans"}


def lang_of(tag: str | None, default: Lang = "en") -> Lang:
    """Our language for a tag: any Chinese tag is "zh" (traditional characters are read in
    the simplified catalogue's words, still closer than English); `default` otherwise."""
    value = (tag or "").strip().lower()
    if value.startswith("zh"):
        return "zh"
    if value.startswith("en"):
        return "en"
    return default


def match(tag: str | None) -> Lang | None:
    """Our language for a tag, or None when it is neither English nor Chinese."""
    value = (tag or "").strip().lower()
    if value.startswith("zh"):
        return "zh"
    if value.startswith("en"):
        return "en"
    return None
