"""`/app/sign-in`: where an e-mailed sign-in link leads, and the form that asks for one.

Following a good link sets the session cookie and goes on to the app (`303` to
`/app?signed_in=1`); a link that is not valid, has expired, was used or was cancelled shows a
page saying which, with the form to ask for a new one. The form works without JavaScript; its
answer is the same whatever the address (`emstrack.web.api.app_account`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from emstrack.domain.lang import match
from emstrack.errors import InputError
from emstrack.notify import accounts, tokens
from emstrack.web import i18n
from emstrack.web.api.app_account import (
    ask_for_link,
    now,
    set_session,
    settings_of,
)
from emstrack.web.api.subscriptions import EMAIL_COST
from emstrack.web.deps import Caller, charge, client_address
from emstrack.web.html import render, require_same_site

router = APIRouter(include_in_schema=False)


def _page(request: Request, step: str, status: int = 200, **context: Any) -> Response:
    """The sign-in page at `step`; never cached, and its URL (a token) never referred."""
    minutes = settings_of(request).app_sign_in_link_minutes
    response = render(request, "app_signin.html", status, step=step, minutes=minutes, **context)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _available(request: Request) -> bool:
    return bool(settings_of(request).secret_key.get_secret_value())


@router.get("/app/sign-in", response_class=HTMLResponse)
async def follow_link(
    request: Request, token: Annotated[str, Query(max_length=500)] = ""
) -> Response:
    if not _available(request):
        return _page(request, "unavailable", 503)
    if not token:
        return _page(request, "ask")
    try:
        session = await run_in_threadpool(
            accounts.use_link,
            request.app.state.db,
            settings_of(request),
            token,
            now=now(request),
        )
    except tokens.TokenError as exc:
        return _page(request, "refused", 400, code=exc.code)
    response = RedirectResponse("/app?signed_in=1", status_code=303)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    set_session(request, response, session)
    if found := match(request.query_params.get("lang")):
        i18n.remember(request, response, found)
    return response


@router.post("/app/sign-in", response_class=HTMLResponse)
async def ask(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    if not _available(request):
        return _page(request, "unavailable", 503)
    require_same_site(request)
    charge(request, Caller(client_address(request)), EMAIL_COST)
    try:
        task = await run_in_threadpool(ask_for_link, request, email, i18n.negotiate(request))
    except InputError as exc:
        # An address with controls or invisible characters is not given back to retype.
        again = email.strip() if email.isprintable() else ""
        return _page(request, "refused", 422, code=exc.code, email=again)
    response = _page(request, "sent")
    response.background = task
    return response
