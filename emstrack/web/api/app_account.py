"""`/api/v1/app/…`: the app's optional sign-in by e-mail link, and "my items" on the server.

These are the app's own endpoints, for pages of this site: a session is a cookie (`COOKIE`:
HttpOnly, SameSite=Lax, Secure over HTTPS), so they are left out of the OpenAPI document,
which describes what other programs may call. Every write is refused unless its body is JSON
(a form on another site cannot send that without asking first, and we never say yes) and its
`Origin` (else `Referer`) is this site; answers are `Cache-Control: private, no-store`.

Asking for a link answers the same whatever the address: no one learns whether an address has
a list. See `emstrack.notify.accounts` for what is kept (a digest of the address, never it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from emstrack.config import Settings
from emstrack.domain.lang import lang_of
from emstrack.errors import InputError
from emstrack.notify import accounts
from emstrack.store.accounts import ItemRow
from emstrack.web.api.subscriptions import EMAIL_COST
from emstrack.web.clients import is_https
from emstrack.web.deps import Caller, charge, client_address
from emstrack.web.errors import ApiProblem
from emstrack.web.responses import JSONResponse

router = APIRouter(prefix="/api/v1/app", tags=["app"], include_in_schema=False)

#: The session cookie: a signed token of the account and the instant it was issued.
COOKIE = "emstrack_app"
#: Every answer of these endpoints: personal, never kept by a cache.
NO_STORE = {"Cache-Control": "private, no-store"}

#: What asking for a link answers, whatever the address.
SENT = (
    "If this is an address we can write to, a sign-in link is on its way to it. The link works "
    "for {minutes} minutes, once."
)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def now(request: Request) -> datetime:
    """The current instant: `app.state.clock()` where one is set (tests move it), else the
    real clock."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return (clock() if clock else datetime.now(UTC)).astimezone(UTC)


def _answer(content: Any, status: int = 200, background: BackgroundTask | None = None) -> Response:
    return JSONResponse(content, status_code=status, headers=NO_STORE, background=background)


@contextmanager
def refusing() -> Iterator[None]:
    """An `InputError` as its problem (422; 401 for a list deleted meanwhile), not kept by a
    cache either."""
    try:
        yield
    except InputError as exc:
        status = 401 if exc.code == "not_signed_in" else 422
        raise ApiProblem(status, exc.code, exc.message, exc.hint, headers=NO_STORE) from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def same_site(request: Request) -> None:
    """Refuse a request whose `Origin` (else `Referer`) is another site (403 `cross_site`).

    Browsers send `Origin` with every POST and DELETE made by a page; a request with neither
    header comes from a program, which holds no one's cookie but its own.
    """
    sent = request.headers.get("origin")
    if sent is None and (referer := request.headers.get("referer")):
        sent = _origin(referer) or "null"
    if sent is None:
        return
    ours = {_origin(str(request.base_url)), _origin(settings_of(request).public_url)}
    if sent.lower().rstrip("/") not in ours:
        raise ApiProblem(
            403,
            "cross_site",
            "This request came from another site",
            "Use the app on this site.",
            headers=NO_STORE,
        )


async def _from_this_site(request: Request) -> None:
    same_site(request)


async def _json_from_this_site(request: Request) -> None:
    """From this site, with a JSON body: checked before the body is read."""
    same_site(request)
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind != "application/json":
        raise ApiProblem(
            415,
            "unsupported_media_type",
            "The body must be JSON",
            "Send `Content-Type: application/json`.",
            headers=NO_STORE,
        )


#: The checks of a write, as a route's dependencies: they run before its body is parsed.
JSON_WRITE = [Depends(_json_from_this_site)]
WRITE = [Depends(_from_this_site)]


def secure(request: Request) -> bool:
    """Whether the cookie must only travel over HTTPS."""
    return is_https(request) or settings_of(request).public_url.lower().startswith("https:")


def set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=settings_of(request).app_session_days * 86400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure(request))


async def account(request: Request) -> str | None:
    """The account the request's session cookie signs in, or None."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    return await run_in_threadpool(
        accounts.session, request.app.state.db, settings_of(request), cookie, now=now(request)
    )


async def signed_in(request: Request) -> str:
    """The account, or 401 `not_signed_in`."""
    found = await account(request)
    if found is None:
        raise ApiProblem(
            401,
            "not_signed_in",
            "You are not signed in",
            "Ask for a sign-in link with POST /api/v1/app/sign-in.",
            headers=NO_STORE,
        )
    return found


def _charge(request: Request, cost: int = 1) -> None:
    # Per client address, as the pages are: a session is not an operator's key.
    charge(request, Caller(client_address(request)), cost)


def ask_for_link(request: Request, email: str, lang: str) -> BackgroundTask | None:
    """Make the sign-in mail for `email` and the task that sends it once the answer is out
    (so that how long the mail server takes tells nothing either); None when no mail goes."""
    settings = settings_of(request)
    mail = accounts.request_link(
        request.app.state.db, settings, email, lang_of(lang), now=now(request)
    )
    return BackgroundTask(accounts.send, settings, mail) if mail is not None else None


class SignInRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=254)
    lang: str = Field("en", max_length=16, description="en or zh (zh-Hans, zh-CN…)")


@router.post("/sign-in", status_code=202, dependencies=JSON_WRITE)
async def sign_in(request: Request, body: SignInRequest) -> Response:
    _charge(request, EMAIL_COST)
    with refusing():
        task = await run_in_threadpool(ask_for_link, request, body.email, body.lang)
    minutes = settings_of(request).app_sign_in_link_minutes
    answer = {"detail": SENT.format(minutes=minutes), "expires_in": minutes * 60}
    return _answer(answer, 202, background=task)


def _item(row: ItemRow) -> dict[str, Any]:
    return {"number": row.number, "label": row.label, "added_at": row.added_at.isoformat()}


@router.get("/me")
async def me(request: Request) -> Response:
    _charge(request)
    found = await account(request)
    if found is None:
        response = _answer({"signed_in": False, "items": 0})
        if COOKIE in request.cookies:  # void: forget it
            clear_session(request, response)
        return response
    rows = await run_in_threadpool(accounts.items, request.app.state.db, found)
    return _answer({"signed_in": True, "items": len(rows)})


@router.get("/items")
async def list_items(request: Request) -> Response:
    _charge(request)
    found = await signed_in(request)
    rows = await run_in_threadpool(accounts.items, request.app.state.db, found)
    return _answer({"items": [_item(row) for row in rows]})


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(min_length=1, max_length=200)
    label: str | None = Field(None, max_length=1000)


class ItemsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ItemIn] = Field(max_length=1000)


@router.post("/items", dependencies=JSON_WRITE)
async def add_items(request: Request, body: ItemsRequest) -> Response:
    _charge(request)
    found = await signed_in(request)
    wanted = [accounts.Wanted(item.number, item.label) for item in body.items]
    with refusing():
        merged = await run_in_threadpool(
            accounts.merge,
            request.app.state.db,
            settings_of(request),
            found,
            wanted,
            now=now(request),
        )
    refused = [{"number": r.number, "code": r.code, "detail": r.message} for r in merged.refused]
    if refused and len(refused) == len(body.items):
        raise ApiProblem(
            422,
            "invalid_number",
            "No valid tracking number was given",
            "; ".join(r["detail"] for r in refused),
            headers=NO_STORE,
            refused=refused,
        )
    answer: dict[str, Any] = {"items": [_item(row) for row in merged.items]}
    if refused:
        answer["refused"] = refused
    return _answer(answer)


NumberPath = Annotated[str, Path(max_length=200)]


@router.delete("/items/{number}", dependencies=WRITE)
async def remove_item(request: Request, number: NumberPath) -> Response:
    _charge(request)
    found = await signed_in(request)
    with refusing():
        rows = await run_in_threadpool(
            accounts.remove, request.app.state.db, settings_of(request), found, number
        )
    return _answer({"items": [_item(row) for row in rows]})


class SignOutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    everywhere: bool = False


@router.post("/sign-out", dependencies=JSON_WRITE)
async def sign_out(request: Request, body: SignOutRequest) -> Response:
    _charge(request)
    if body.everywhere:
        found = await signed_in(request)
        await run_in_threadpool(
            accounts.sign_out_everywhere, request.app.state.db, found, now=now(request)
        )
    response = _answer({"signed_in": False})
    clear_session(request, response)
    return response


@router.delete("/account", dependencies=WRITE)
async def delete_account(request: Request) -> Response:
    _charge(request)
    found = await signed_in(request)
    removed = await run_in_threadpool(accounts.delete, request.app.state.db, found)
    response = _answer({"signed_in": False, "deleted_items": removed})
    clear_session(request, response)
    return response
