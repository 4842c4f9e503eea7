"""The one place where an exception becomes an answer: a problem document or the error page.

Routes and dependencies raise; they never build an error answer themselves. `RULES` says, per
exception class, what the client is told: the status, the problem's stable `code`, its title
and detail, and headers such as `Retry-After`; the nearest class in an exception's MRO wins.
`install` registers one handler for them all, once, so no handler wraps another and the order
of registration means nothing (Datasette's `handle_exception`).

The same answer takes one of two shapes by who asks: a browser on a page (it accepts
`text/html`, and the path is not the API's) gets the error page with the status; everyone else
an RFC 9457 problem document (`application/problem+json`).

An exception without a rule is a bug: answered 500 `internal_error` without a word of it (it
can carry SQL, paths or personal data) and left to the server's log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from emstrack.errors import (
    DatabaseError,
    DatabaseUnavailable,
    EmstrackError,
    InputError,
    LimitError,
    NotConfigured,
)
from emstrack.text.waits import wait
from emstrack.web import i18n
from emstrack.web.csrf import CrossSiteForm
from emstrack.web.html import render
from emstrack.web.ratelimit import LimitUnavailable
from emstrack.web.responses import problem
from emstrack.web.security import BodyTooLarge
from emstrack.web.unlock import TooManyTries


class ApiProblem(EmstrackError):
    """A refusal a route decides itself: an HTTP `status`, a stable `code`, a title and a
    detail; `headers` go on the answer, `extensions` become members of the problem document."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str | None = None,
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(code, title, detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extensions = extensions


@dataclass(frozen=True, slots=True)
class Answer:
    """What the client is told, whether as a problem document or as the error page."""

    status: int
    code: str
    title: str
    detail: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: More members of the problem document (`errors`, `limit`, ...).
    members: Mapping[str, Any] = field(default_factory=dict)
    #: More for the error page's template (`back`: where its button leads).
    page: Mapping[str, Any] = field(default_factory=dict)


#: Seconds a client is asked to wait when the database is unavailable.
RETRY_AFTER: Final = "5"

_HTTP_CODES: Final = {404: "not_found", 405: "method_not_allowed"}


def _problem(exc: ApiProblem) -> Answer:
    return Answer(exc.status, exc.code, exc.title, exc.detail, exc.headers or {}, exc.extensions)


def _ours(status: int) -> Callable[[EmstrackError], Answer]:
    """One of our errors as it is (its code, message and hint), with `status`."""

    def rule(exc: EmstrackError) -> Answer:
        return Answer(status, exc.code, exc.message, exc.hint)

    return rule


def _limit(status: int) -> Callable[[LimitError], Answer]:
    """A limit's refusal: try again after `Retry-After` seconds (the page says the same wait)."""

    def rule(exc: LimitError) -> Answer:
        headers = {"Retry-After": str(exc.retry_after)}
        return Answer(status, exc.code, exc.message, exc.hint, headers)

    return rule


def _too_many_tries(exc: TooManyTries) -> Answer:
    """Too many postcode tries: the page's button goes back to the item, not home."""
    found = _limit(429)(exc)
    return Answer(
        found.status, found.code, found.title, found.detail, found.headers, page={"back": exc.item}
    )


def _unavailable(exc: DatabaseUnavailable) -> Answer:
    # Why, not the hint: that speaks to the server's operator, not to its clients.
    title = "The database is not answering; please try again shortly."
    return Answer(503, exc.code, title, exc.message, {"Retry-After": RETRY_AFTER})


def _database(exc: DatabaseError) -> Answer:
    return Answer(503, exc.code, exc.message, headers={"Retry-After": RETRY_AFTER})


def _http(exc: HTTPException) -> Answer:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return Answer(exc.status_code, code, str(exc.detail), headers=exc.headers or {})


def _too_large(exc: BodyTooLarge) -> Answer:
    return Answer(413, exc.code, exc.title, exc.hint)


def _validation(exc: RequestValidationError) -> Answer:
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
        for e in exc.errors()
    ]
    return Answer(422, "bad_request", "The request is not valid", members={"errors": errors})


#: Per exception class, what the client is told. A request is never answered 2xx unless its
#: writes were committed, so a client retries what was refused: nothing accepted is lost.
RULES: Final[dict[type[Exception], Callable[[Any], Answer]]] = {
    ApiProblem: _problem,
    CrossSiteForm: _ours(403),
    InputError: _ours(422),
    NotConfigured: _ours(503),
    TooManyTries: _too_many_tries,
    LimitUnavailable: _limit(503),
    DatabaseUnavailable: _unavailable,
    DatabaseError: _database,
    BodyTooLarge: _too_large,
    HTTPException: _http,
    RequestValidationError: _validation,
}

#: The answer to a bug: an exception without a rule.
BUG: Final = Answer(500, "internal_error", "Something went wrong on our side")


def answer(exc: Exception) -> Answer:
    """What the client is told of `exc`: by the rule of its nearest class, else `BUG`."""
    for kind in type(exc).__mro__:
        rule = RULES.get(kind)
        if rule is not None:
            return rule(exc)
    return BUG


def _wants_page(request: Request) -> bool:
    """A browser on a page: it accepts HTML, and the path is not one of the API's."""
    path = request.url.path
    api = path.startswith("/api/") or path == "/healthz"
    return not api and "text/html" in request.headers.get("accept", "")


def _respond(request: Request, found: Answer) -> Response:
    if _wants_page(request):
        # The wait the page says is the one `Retry-After` asks, in the viewer's words.
        seconds = found.headers.get("Retry-After", "")
        said = wait(int(seconds), i18n.negotiate(request)) if seconds.isdigit() else None
        context = {"code": found.status, "wait": said, **found.page}
        page = render(request, "error.html", found.status, **context)
        page.headers.update(found.headers)
        return page
    headers = dict(found.headers) or None
    return problem(
        found.status, found.code, found.title, found.detail, headers=headers, **found.members
    )


async def _handle(request: Request, exc: Exception) -> Response:
    return _respond(request, answer(exc))


def answer_of_rule(request: Request, exc: Exception) -> Response | None:
    """The answer to `exc` where it has a rule, as the installed handler gives it; None for a
    bug, which is left to the server's outermost handler and its log. For a route answered
    outside the router (`web.api.lane`), where the app's handlers are not in the way."""
    found = answer(exc)
    return None if found is BUG else _respond(request, found)


def install(app: FastAPI) -> None:
    """Answer the exceptions of `RULES` by the table, and any other as a bug.

    Starlette answers `Exception` from its outermost middleware and then raises it again, so
    that the server logs a bug with its traceback; the others are answered inside the app.
    """
    for kind in (*RULES, Exception):
        app.add_exception_handler(kind, _handle)
