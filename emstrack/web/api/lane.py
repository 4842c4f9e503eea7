"""The lane: a public caller's plain `GET /api/v1/tracking/{number}` and `GET /track/{number}`,
answered without the router.

The JSON lookup is the busiest request by far, and for it the framework's path was most of the
work: matching the route among all the others, resolving the declared parameters (the caller
through the bearer scheme, `scope` and `lang` with their checks), the endpoint's wrappers. The
lane, the innermost middleware, answers the common request itself, with the route's own
function (`tracking.answer_one`), so the answer is the same bytes:

- `GET` on `/api/v1/tracking/NUMBER` (a number without a slash), at the root of the server;
- no `Authorization` header (a key's request goes the declared way: its key is checked there);
- a query of nothing but `lang` and `scope`, each at most once and each a value the route
  accepts (`lang` `en…` or `zh…`, at most 16 characters; `scope` one of `Scope`).

The item page takes the lane on the same terms, with no query at all (the request a kept page
answers, `web.keptpages`), through the page route's own function (`pages.item`).

Anything else — another parameter, a value the route would refuse with a `422`, a key — takes
the router, which answers it as declared. The route stays declared as before (the OpenAPI
description is made from it). An exception with a rule (`web.errors.RULES`: a `429`, a database
gone) is answered as the app's handler answers it; any other is left to the server's error
handler, as it would be from the route.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from emstrack.domain.tracking_number import Scope as NumberScope
from emstrack.web.api.tracking import answer_one
from emstrack.web.deps import Caller, client_address
from emstrack.web.errors import answer_of_rule
from emstrack.web.pages import item

PREFIX: Final = "/api/v1/tracking/"
#: The item page's address (`web.pages.item`).
PAGE_PREFIX: Final = "/track/"
_SCOPES: Final = {scope.value: scope for scope in NumberScope}


def _plain(scope: Scope) -> tuple[str, NumberScope, str] | None:
    """The number, scope and language of a request the lane answers; None for any other."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    number = path[len(PREFIX) :]
    if not number or "/" in number:
        return None
    for name, _ in scope["headers"]:
        if name == b"authorization":
            return None
    which, lang = NumberScope.ANY, "en"
    query: bytes = scope["query_string"]
    if query:
        seen: set[str] = set()
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if name in seen:
                return None
            seen.add(name)
            if name == "lang":
                if len(value) > 16 or not value.startswith(("en", "zh")):
                    return None
                lang = value
            elif name == "scope":
                found = _SCOPES.get(value)
                if found is None:
                    return None
                which = found
            else:
                return None
    return number, which, lang


def _page(scope: Scope) -> str | None:
    """The number of a plain public `GET /track/NUMBER` (no query, no slash in the number, no
    `Authorization`: the request a kept item page answers, `web.keptpages`); None for any
    other."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
        return None
    path: str = scope["path"]
    if not path.startswith(PAGE_PREFIX) or scope["query_string"]:
        return None
    number = path[len(PAGE_PREFIX) :]
    if not number or "/" in number:
        return None
    for name, _ in scope["headers"]:
        if name == b"authorization":
            return None
    return number


class TrackingLane:
    """Answers the plain public lookups itself (see the module); passes everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        plain = _plain(scope)
        page = None if plain is not None else _page(scope)
        if plain is None and page is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            if plain is not None:
                number, which, lang = plain
                caller = Caller(client_address(request))
                response = await answer_one(request, number, caller, which, lang)
            else:
                assert page is not None
                response = await item(request, page)
        except Exception as exc:
            found = answer_of_rule(request, exc)
            if found is None:
                raise
            response = found
        await response(scope, receive, send)
