"""The pages of e-mail subscriptions: subscribe from an item's page, confirm, unsubscribe.

A link in a mail only ever shows a page with a button: mail scanners fetch links before their
reader does, and a GET that confirmed or unsubscribed would act for them. The buttons are CSRF
forms like the others, except RFC 8058's one-click unsubscribe, which a mail client POSTs on
its own (`List-Unsubscribe=One-Click`, the token in the URL). Whether an address already
followed an item is never shown: the answer to a subscription is the same either way.
"""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.errors import InputError
from emstrack.notify import subscriptions, tokens
from emstrack.web import i18n
from emstrack.web.api.subscriptions import EMAIL_COST, mask
from emstrack.web.deps import Caller, charge, client_address
from emstrack.web.html import render, require_same_site

router = APIRouter(include_in_schema=False)

TokenQuery = Annotated[str, Query(max_length=500)]
TokenForm = Annotated[str, Form(max_length=500)]


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _page(request: Request, step: str, status: int = 200, **context: Any) -> Response:
    """The subscription page at `step`; never cached, and its URL (a token) never referred."""
    response = render(request, "subscription.html", status, step=step, **context)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _formatted(number: str) -> str:
    return s10.parse(number).formatted or number


def _unavailable(request: Request) -> Response | None:
    """The 503 page when subscriptions are not set up here, else None."""
    if _settings(request).secret_key.get_secret_value():
        return None
    return _page(request, "unavailable", 503)


def _bad_token(request: Request, exc: InputError) -> Response:
    return _page(request, "bad_token", 400, code=exc.code)


def _known_zone(name: str) -> bool:
    try:
        return bool(name) and ZoneInfo(name) is not None
    except (ZoneInfoNotFoundError, ValueError):
        return False


@router.post("/track/{number}/subscribe", response_class=HTMLResponse)
async def subscribe(
    request: Request,
    number: str,
    email: Annotated[str, Form(max_length=254)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    if refused := _unavailable(request):
        return refused
    require_same_site(request)
    charge(request, Caller(client_address(request)), EMAIL_COST)
    settings = _settings(request)
    try:
        made = await run_in_threadpool(
            subscriptions.subscribe,
            request.app.state.db,
            settings,
            number=number[:200],
            channel="email",
            target=email,
            lang=i18n.negotiate(request),
            # The browser's zone (static/timezone.js), for quiet hours; a zone we do not know
            # is not the reader's fault: the default serves then.
            timezone=timezone if _known_zone(timezone) else None,
        )
    except InputError as exc:
        if exc.code != "too_many_subscriptions":
            # An address with controls or invisible characters is not given back to retype.
            again = email.strip() if email.isprintable() else ""
            return _page(request, "refused", 422, code=exc.code, number=number[:200], email=again)
        # The same page as for a new subscription: nothing tells what an address follows.
        shown = s10.parse(number[:200]).number
        return _page(request, "sent", number=shown, formatted=_formatted(shown), masked=mask(email))
    return _page(
        request,
        "sent",
        number=made.row.number,
        formatted=_formatted(made.row.number),
        masked=mask(made.row.target),
    )


@router.get("/subscriptions/confirm", response_class=HTMLResponse)
async def confirm_form(request: Request, token: TokenQuery = "") -> Response:
    if refused := _unavailable(request):
        return refused
    try:
        number, _ = tokens.read(
            _settings(request).secret_key.get_secret_value(),
            tokens.CONFIRM,
            token,
            max_age=tokens.CONFIRM_MAX_AGE,
        )
    except tokens.TokenError as exc:
        return _bad_token(request, exc)
    return _page(request, "confirm", token=token, number=number, formatted=_formatted(number))


@router.post("/subscriptions/confirm", response_class=HTMLResponse)
async def confirm(request: Request, token: TokenForm = "") -> Response:
    if refused := _unavailable(request):
        return refused
    require_same_site(request)
    try:
        row = await run_in_threadpool(
            subscriptions.confirm, request.app.state.db, _settings(request), token
        )
    except tokens.TokenError as exc:
        return _bad_token(request, exc)
    formatted = _formatted(row.number)
    if row.state != "active":  # ended before it was confirmed: nothing left to confirm
        return _page(request, "ended", 400, number=row.number, formatted=formatted)
    return _page(request, "confirmed", number=row.number, formatted=formatted)


@router.get("/subscriptions/unsubscribe", response_class=HTMLResponse)
async def unsubscribe_form(request: Request, token: TokenQuery = "") -> Response:
    if refused := _unavailable(request):
        return refused
    try:
        number, _ = tokens.read(
            _settings(request).secret_key.get_secret_value(), tokens.UNSUBSCRIBE, token
        )
    except tokens.TokenError as exc:
        return _bad_token(request, exc)
    return _page(request, "unsubscribe", token=token, number=number, formatted=_formatted(number))


@router.post("/subscriptions/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(
    request: Request,
    token: TokenQuery = "",
    form_token: Annotated[str, Form(alias="token", max_length=500)] = "",
    one_click: Annotated[str, Form(alias="List-Unsubscribe", max_length=32)] = "",
) -> Response:
    if refused := _unavailable(request):
        return refused
    # RFC 8058: a mail client's one-click POST comes from no page of ours; the signed token in
    # the URL is its proof, as the link itself would be.
    if not (one_click == "One-Click" and token):
        require_same_site(request)
    try:
        row = await run_in_threadpool(
            subscriptions.unsubscribe,
            request.app.state.db,
            _settings(request),
            form_token or token,
        )
    except tokens.TokenError as exc:
        return _bad_token(request, exc)
    except InputError as exc:  # the subscription is gone altogether
        return _bad_token(request, exc)
    return _page(request, "unsubscribed", number=row.number, formatted=_formatted(row.number))
