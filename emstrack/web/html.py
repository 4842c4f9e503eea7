"""HTML answers: a page from its template in the viewer's language, and the forms' CSRF token.

Every page gets what the layout needs (the language, the link to the other one); `?lang=` in a
URL is remembered in the language cookie. A page with a POST form is made by `render_form`,
which puts a signed token in the form and, when the browser has none yet, in a cookie; the POST
calls `require_token`, which raises `csrf.FormExpired` (a 403) when the two do not agree.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final
from urllib.parse import quote

from fastapi.responses import HTMLResponse
from starlette.requests import Request

from emstrack.brand import Brand
from emstrack.domain.lang import HTML_LANG, Lang, match
from emstrack.web import branding, csrf, i18n
from emstrack.web.clients import is_https

#: The language switch offers the other language, named in itself.
_OTHER: Final[dict[Lang, Lang]] = {"en": "zh", "zh": "en"}
_NAME: Final[dict[Lang, str]] = {"en": "English", "zh": "中文"}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` in the viewer's language, with `context`."""
    lang = i18n.negotiate(request)
    other = _OTHER[lang]
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = (
        i18n.environment(lang)
        .get_template(template)
        .render(
            lang=lang,
            html_lang=HTML_LANG[lang],
            switch_url=f"/lang/{other}?next={quote(here, safe='')}",
            switch_label=_NAME[other],
            switch_lang=HTML_LANG[other],
            path=request.url.path,
            **_layout(request.app.state.settings.brand, lang),
            **context,
        )
    )
    response = HTMLResponse(body, status_code=status)
    if found := match(request.query_params.get("lang")):
        i18n.remember(request, response, found)
    return response


@cache
def _layout(brand: Brand, lang: Lang) -> dict[str, Any]:
    """`branding.context`, worked out once per brand and language (the templates only read it)."""
    return branding.layout(brand, lang)


def render_form(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """`render` for a page with a POST form: the CSRF token in the form and, if new, the cookie."""
    secret: bytes = request.app.state.page_secret
    token = request.cookies.get(csrf.COOKIE)
    fresh = not csrf.is_signed(secret, token)
    if fresh:
        token = csrf.new_token(secret)
    response = render(request, template, status, csrf_token=token, **context)
    if fresh and token:
        response.set_cookie(
            csrf.COOKIE, token, httponly=True, samesite="strict", secure=is_https(request)
        )
    return response


def require_token(request: Request, submitted: str) -> None:
    """Raise `csrf.FormExpired` unless `submitted` is this browser's signed form token."""
    secret: bytes = request.app.state.page_secret
    if not csrf.verify(secret, request.cookies.get(csrf.COOKIE), submitted):
        raise csrf.FormExpired()
