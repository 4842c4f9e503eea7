"""HTML answers: a page from its template in the viewer's language, and the forms' CSRF token.

Every page gets what the layout needs (the language, the link to the other one); `?lang=` in a
URL is remembered in the language cookie. A page's POST calls `require_same_site`, which raises
`csrf.CrossSiteForm` (a 403) when the browser says the form was sent from another site.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Final
from urllib.parse import quote, urlsplit

from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.requests import Request

from emstrack.brand import Brand
from emstrack.domain.lang import HTML_LANG, Lang, match
from emstrack.web import branding, csrf, i18n

#: The language switch offers the other language, named in itself.
_OTHER: Final[dict[Lang, Lang]] = {"en": "zh", "zh": "en"}
_NAME: Final[dict[Lang, str]] = {"en": "English", "zh": "中文"}


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page `template` in the viewer's language, with `context`."""
    lang = i18n.negotiate(request)
    path = request.url.path
    here = path + (f"?{request.url.query}" if request.url.query else "")
    body = draw(template, lang, request.app.state.settings.brand, path, here, **context)
    return respond(request, body, status)


def respond(request: Request, body: str, status: int = 200) -> HTMLResponse:
    """The page `body` as the answer to `request`: a language chosen by `?lang=` is remembered
    in the language cookie."""
    response = HTMLResponse(body, status_code=status)
    if found := match(request.query_params.get("lang")):
        i18n.remember(request, response, found)
    return response


def draw(template: str, lang: Lang, brand: Brand, path: str, here: str, **context: Any) -> str:
    """The page `template` in `lang` for the address `path` (`here`: with its query), with
    `context`: what `render` sends, made without a request (`web.keptpages`)."""
    other = _OTHER[lang]
    return (
        i18n.environment(lang)
        .get_template(template)
        .render(
            lang=lang,
            html_lang=HTML_LANG[lang],
            switch_url=f"/lang/{other}?next={quote(here, safe='')}",
            switch_label=_NAME[other],
            switch_lang=HTML_LANG[other],
            path=path,
            **_layout(brand, lang),
            **context,
        )
    )


@cache
def _layout(brand: Brand, lang: Lang) -> dict[str, Any]:
    """`branding.context`, worked out once per brand and language (the templates only read it),
    and the footer drawn from it, which is the same on every page."""
    layout = branding.layout(brand, lang)
    footer = i18n.environment(lang).get_template("_footer.html").render(lang=lang, **layout)
    return {**layout, "site_footer": Markup(footer)}


def require_same_site(request: Request) -> None:
    """Raise `csrf.CrossSiteForm` (a 403) when the browser says this POST comes from another
    site (`web.csrf`)."""
    own = {request.headers.get("host", "").lower()}
    public = urlsplit(request.app.state.settings.public_url).netloc.lower()
    if public:
        own.add(public)
    headers = request.headers
    if csrf.cross_site(headers.get("sec-fetch-site"), headers.get("origin"), own):
        raise csrf.CrossSiteForm()
