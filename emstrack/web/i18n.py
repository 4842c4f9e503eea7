"""The language of a page: which one the viewer wants, and dates in it.

The language comes from `?lang=` in the URL, else from the `lang` cookie the language switch
sets, else from `Accept-Language`; English when nothing matches. The words are the catalogue's
(`emstrack.text.catalogue`); dates are formatted by Babel in the language's locale.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any, Final

from babel import Locale
from babel.dates import TIMEDELTA_UNITS, format_date, format_time, format_timedelta
from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.ext import Extension
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from emstrack.domain.lang import BABEL_LOCALE, Lang, match
from emstrack.text.catalogue import translations
from emstrack.web.clients import is_https

DEFAULT: Lang = "en"
COOKIE = "lang"


def negotiate(request: Request) -> Lang:
    """The page language: URL, then cookie, then Accept-Language, then English (worked out
    once per request: a page asks several times)."""
    known: Lang | None = request.scope.get(_SCOPE_KEY)
    if known is None:
        known = request.scope[_SCOPE_KEY] = _negotiate(request)
    return known


_SCOPE_KEY = "emstrack.lang"


def _negotiate(request: Request) -> Lang:
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
    """One Jinja environment per language, so concurrent requests never share a gettext.

    Templates are compiled once and never looked at again (`auto_reload` off: the deploy tag of
    `web.caching` is reckoned from them at start, so a server runs the templates it started
    with). `_()` and `gettext()` are Jinja's new-style gettext (`jinja2.ext._make_new_gettext`:
    the translation, as `Markup` when autoescaping, `%` the variables, escaped), called
    directly rather than through Jinja's `_` alias, and a string without variables is
    translated and formatted once per language; a whole `{{ _("…") }}` is written into the
    template as its words before it is compiled (`_Pretranslated`).
    """
    env = Environment(
        loader=PackageLoader("emstrack.web", "templates"),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n", _Pretranslated],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    # The i18n extension adds this method at run time; Jinja's stubs do not know it.
    env.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    gettext = _gettext(translations(lang).gettext)
    env.globals.update(gettext=gettext, _=gettext)
    env.extend(emstrack_translate=translations(lang).gettext)
    return env


#: `{{ _("words") }}`: a string alone, no variables, no escapes, no whitespace control.
_CONSTANT = re.compile(r"""\{\{ _\((?:"([^"\\]*)"|'([^'\\]*)')\) \}\}""")


class _Pretranslated(Extension):
    """Writes each `{{ _("words") }}` of a template as what it prints, before compiling.

    In an autoescaping template it prints `Markup(translation) % {}` (Jinja's new-style gettext:
    the translation is markup, `%%` becomes `%`), which as template data is printed as it is.
    Left to run as before: a translation with a brace, a `#` or a line break (it would read as
    template syntax or meet `trim_blocks`/`lstrip_blocks`), or blank, and a template that
    turns autoescaping off.
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if "autoescape" in source or not _escapes(self.environment, name):
            return source
        translate: Callable[[str], str] = getattr(self.environment, "emstrack_translate")  # noqa: B009

        def said(match: re.Match[str]) -> str:
            words = match.group(1) if match.group(1) is not None else match.group(2)
            try:
                text = str(Markup(translate(words)) % {})
            except (TypeError, ValueError, KeyError):  # a stray "%": it fails where it is used
                return match.group(0)
            if not text.strip() or any(c in text for c in "{}#\r\n"):
                return match.group(0)
            return text

        return _CONSTANT.sub(said, source)


def _escapes(env: Environment, name: str | None) -> bool:
    autoescape = env.autoescape
    return bool(autoescape(name) if callable(autoescape) else autoescape)


#: Strings kept per language by `_gettext`: the templates' own (a few hundred), with room.
_KEPT_STRINGS = 4096


def _gettext(translate: Callable[[str], str]) -> Callable[..., str]:
    """Jinja's new-style `gettext` over `translate`, the same strings out, with the answers to
    calls without variables kept (`Markup(text) % {}`, as Jinja computes them)."""
    kept: dict[str, str] = {}

    @pass_context
    def gettext(__context: Context, __string: str, **variables: Any) -> str:
        if not __context.eval_ctx.autoescape:
            return translate(__string) % variables
        if variables:
            return Markup(translate(__string)) % variables
        said = kept.get(__string)
        if said is None:
            said = Markup(translate(__string)) % variables
            if len(kept) < _KEPT_STRINGS:
                kept[__string] = said
        return said

    return gettext


@cache
def _locale(lang: Lang) -> Locale:
    return Locale.parse(BABEL_LOCALE[lang])


def local_time(value: datetime, lang: Lang) -> str:
    """An event's wall-clock time as people write it: "Nov 7, 2026 11:45"."""
    return f"{_day(value.date(), lang)} {_clock(value.hour, value.minute, lang)}"


@lru_cache(maxsize=16384)
def _day(value: date, lang: Lang) -> str:
    # Babel formats a datetime's date part (`format_date` takes `.date()` of a datetime).
    return format_date(value, "medium", locale=_locale(lang))


@lru_cache(maxsize=4096)
def _clock(hour: int, minute: int, lang: Lang) -> str:
    # 'HH:mm' reads the hour and the minute only.
    return format_time(datetime(2000, 1, 1, hour, minute), "HH:mm", locale=_locale(lang))


#: babel's units of `format_timedelta`, largest first, and the threshold the pages use.
_UNITS: Final = TIMEDELTA_UNITS
_THRESHOLD: Final = 1.1
_AGO: dict[tuple[bool, str, int, Lang], str] = {}


def ago(delta: timedelta, lang: Lang) -> str:
    """ "3 hours ago" / "3小时前"."""
    # babel's words depend only on the direction, the unit it picks and the value it rounds
    # to in that unit (`format_timedelta`): worked out here as it does, the words of each are
    # made once. A kept page fills a dozen of them per request (`web.keptpages`);
    # tests/web/test_kept_pages.py holds this to babel's own words.
    seconds = -delta.total_seconds()
    for unit, per_unit in _UNITS:
        value = abs(seconds) / per_unit
        if value >= _THRESHOLD or unit == "second":
            if unit == "second" and value > 0:
                value = max(1, value)
            key = (seconds >= 0, unit, round(value), lang)
            break
    else:  # babel always stops at seconds; were it not to, its own words
        return format_timedelta(-delta, add_direction=True, locale=_locale(lang), threshold=1.1)
    said = _AGO.get(key)
    if said is None:
        said = format_timedelta(
            -delta, add_direction=True, locale=_locale(lang), threshold=_THRESHOLD
        )
        if len(_AGO) < 65536:
            _AGO[key] = said
    return said
