"""The language of a page: which one the viewer wants, and dates in it.

The language comes from `?lang=` in the URL, else from the `lang` cookie the language switch
sets, else from `Accept-Language`; English when nothing matches. The words are the catalogue's
(`emstrack.text.catalogue`); dates are formatted by Babel in the language's locale.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from babel.dates import format_date, format_time, format_timedelta
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

from emstrack.domain.lang import BABEL_LOCALE, Lang, match
from emstrack.text.catalogue import translations
from emstrack.web.clients import is_https

DEFAULT: Lang = "en"
COOKIE = "lang"


def negotiate(request: Request) -> Lang:
    """The page language: URL, then cookie, then Accept-Language, then English."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if found := match(candidate):
            return found
    for tag in _accepted(request.headers.get("accept-language", "")):
        if found := match(tag):
            return found
    return DEFAULT


def remember(request: Request, response: Response, lang: Lang) -> None:
    """Keep `lang` in the cookie for a year (its value is the Babel locale: `en`, `zh_Hans`)."""
    response.set_cookie(
        COOKIE, BABEL_LOCALE[lang], max_age=365 * 86400, samesite="lax", secure=is_https(request)
    )


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
def environment(lang: Lang) -> Environment:
    """One Jinja environment per language, so concurrent requests never share a gettext."""
    env = Environment(
        loader=PackageLoader("emstrack.web", "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # The i18n extension adds this method at run time; Jinja's stubs do not know it.
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    return env


def local_time(value: datetime, lang: Lang) -> str:
    """An event's wall-clock time as people write it: "Nov 7, 2026 11:45"."""
    locale = BABEL_LOCALE[lang]
    day = format_date(value, "medium", locale=locale)
    return f"{day} {format_time(value, 'HH:mm', locale=locale)}"


def ago(delta: timedelta, lang: Lang) -> str:
    """ "3 hours ago" / "3小时前"."""
    return format_timedelta(-delta, add_direction=True, locale=BABEL_LOCALE[lang], threshold=1.1)
