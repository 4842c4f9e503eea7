"""Languages of the pages: English and Simplified Chinese (`zh_Hans`).

The language comes from `?lang=` in the URL, else from the `lang` cookie the language switch
sets, else from `Accept-Language`; English when nothing matches. Messages live in Babel
catalogues under `emstrack/locale`; after changing a template, update and compile them (from
the repository root: the patterns in babel.cfg are relative to it):

    pybabel extract -F emstrack/locale/babel.cfg --no-location -o /tmp/messages.pot .
    pybabel update -i /tmp/messages.pot -d emstrack/locale -l zh_Hans --no-fuzzy-matching
    pybabel compile -d emstrack/locale

`tests/web/test_catalogue.py` fails when a string is missing, untranslated or not compiled.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from babel.dates import format_date, format_time, format_timedelta
from babel.support import NullTranslations, Translations
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request

LOCALES = ("en", "zh_Hans")
DEFAULT = "en"
COOKIE = "lang"
LOCALE_DIR = Path(__file__).parent.parent / "locale"

#: The `lang` attribute of <html> per locale.
HTML_LANG = {"en": "en", "zh_Hans": "zh-Hans"}


def match(value: str | None) -> str | None:
    """Our locale for a language tag ("zh-CN", "zh", "en-GB"), or None."""
    tag = (value or "").strip().lower().replace("_", "-")
    if tag.startswith("zh"):
        return "zh_Hans"
    if tag.startswith("en"):
        return "en"
    return None


def negotiate(request: Request) -> str:
    """The page language: URL, then cookie, then Accept-Language, then English."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if found := match(candidate):
            return found
    for tag in _accepted(request.headers.get("accept-language", "")):
        if found := match(tag):
            return found
    return DEFAULT


def _accepted(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (q=0 dropped)."""
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            weighted.append((-quality, index, tag.strip()))
    return [tag for _, _, tag in sorted(weighted)]


@cache
def translations(locale: str) -> NullTranslations:
    if locale == DEFAULT:
        return NullTranslations()
    return Translations.load(str(LOCALE_DIR), [locale], domain="messages")


@cache
def environment(locale: str) -> Environment:
    """One Jinja environment per language, so concurrent requests never share a gettext."""
    env = Environment(
        loader=PackageLoader("emstrack.web", "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # The i18n extension adds this method at run time; Jinja's stubs do not know it.
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    return env


def local_time(value: datetime, locale: str) -> str:
    """An event's wall-clock time as people write it: "Nov 7, 2026 11:45"."""
    day = format_date(value, "medium", locale=locale)
    return f"{day} {format_time(value, 'HH:mm', locale=locale)}"


def ago(delta: timedelta, locale: str) -> str:
    """ "3 hours ago" / "3小时前"."""
    return format_timedelta(-delta, add_direction=True, locale=locale, threshold=1.1)
