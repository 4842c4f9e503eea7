"""`/api/v1/push`: the app's push notifications (the `webpush` channel, `notify.webpush`).

The app asks for the server's public key, has the browser subscribe with it, and sends the
browser's push subscription with the numbers to follow. No key and no account: the browser's
permission prompt is the consent, and whoever holds the endpoint (a capability URL only the
browser and its push service know) may change what it follows.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from emstrack.config import Settings
from emstrack.notify import webpush
from emstrack.notify.subscriptions import MAX_PER_TARGET
from emstrack.web.api.openapi import PROBLEM_SCHEMA, RATE_LIMITED, TOO_LARGE
from emstrack.web.deps import CallerDep, DatabaseDep, SettingsDep, charge
from emstrack.web.errors import ApiProblem
from emstrack.web.responses import JSONResponse

router = APIRouter(prefix="/api/v1/push", tags=["push"])

Number = Annotated[str, Field(min_length=1, max_length=200)]


class BrowserKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: str = Field(
        min_length=1, max_length=200, description="The browser's P-256 public key, base64url."
    )
    auth: str = Field(
        min_length=1, max_length=100, description="The subscription's 16-byte secret, base64url."
    )


class BrowserSubscription(BaseModel):
    """`PushSubscription.toJSON()` as the browser gives it (`expirationTime` is ignored)."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(
        min_length=1, max_length=2000, description="The push service's https:// URL."
    )
    keys: BrowserKeys


class PushSubscribeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscription: BrowserSubscription
    numbers: list[Number] = Field(
        min_length=1,
        max_length=MAX_PER_TARGET,
        description="Tracking numbers to follow, in any spelling; the ones followed already "
        "and not named stay followed.",
        examples=[["EE123456785CN"]],
    )
    lang: str = Field(
        "en", max_length=35, description="Language of the notices: `en` or `zh-Hans`."
    )
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA time zone of the device, for quiet hours.",
        examples=["Europe/Paris"],
    )


class PushUnsubscribeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(min_length=1, max_length=2000)
    numbers: list[Number] | None = Field(
        None,
        max_length=MAX_PER_TARGET,
        description="The numbers to stop following; left out: every number of the endpoint.",
    )


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_UNAVAILABLE = _problem(
    "`webpush_unavailable`: the operator has not set up push notifications (the app then "
    "hides its push switch)."
)
KEY_SCHEMA: dict[str, Any] = {
    "title": "PushKey",
    "type": "object",
    "required": ["public_key"],
    "properties": {
        "public_key": {
            "type": "string",
            "description": "The VAPID application server key: base64url of the uncompressed "
            "P-256 point, for `pushManager.subscribe({applicationServerKey})`.",
        }
    },
}
SUBSCRIBED_SCHEMA: dict[str, Any] = {
    "title": "PushSubscribed",
    "type": "object",
    "required": ["endpoint_id", "subscriptions"],
    "properties": {
        "endpoint_id": {"type": "string"},
        "subscriptions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["number", "id", "state"],
                "properties": {
                    "number": {"type": "string"},
                    "id": {"type": "string"},
                    "state": {"enum": ["active"]},
                },
            },
        },
    },
}
ENDED_SCHEMA: dict[str, Any] = {
    "title": "PushEnded",
    "type": "object",
    "required": ["ended"],
    "properties": {"ended": {"type": "integer", "minimum": 0}},
}


def _available(settings: Settings) -> None:
    if not settings.webpush_enabled:
        raise ApiProblem(
            404,
            "webpush_unavailable",
            "Push notifications are not available on this server",
            "The operator has not set the web push keys.",
        )


@router.get(
    "/key",
    summary="The server's key for push subscriptions",
    response_class=JSONResponse,
    openapi_extra={"security": [{}]},
    responses={
        200: _json(KEY_SCHEMA, "The public key."),
        404: _UNAVAILABLE,
    },
)
async def key(settings: SettingsDep) -> Any:
    _available(settings)
    return JSONResponse({"public_key": settings.webpush_public_key})


@router.post(
    "/subscriptions",
    summary="Follow numbers with push notifications on this browser",
    description="Stores the browser's push subscription and follows each number on it, at once "
    "(no confirmation: the browser's permission prompt was the consent). `201` when a number "
    "was not followed yet, `200` when all were; the same request again changes nothing. "
    "Counts one request per number against the rate limit.",
    response_class=JSONResponse,
    status_code=201,
    openapi_extra={"security": [{}]},
    responses={
        200: _json(SUBSCRIBED_SCHEMA, "Every number was followed already."),
        201: _json(SUBSCRIBED_SCHEMA, "At least one number is newly followed."),
        404: _UNAVAILABLE,
        **TOO_LARGE,
        422: _problem(
            "`bad_endpoint` (not an https:// URL of a public host), `bad_keys` (p256dh not a "
            "65-byte P-256 point, auth not 16 bytes), `invalid_number`, `bad_timezone`, "
            "`too_many_subscriptions` or `bad_request`."
        ),
        **RATE_LIMITED,
    },
)
async def subscribe(
    request: Request,
    body: PushSubscribeRequest,
    db: DatabaseDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> Any:
    _available(settings)
    charge(request, caller, len(body.numbers))
    sub = body.subscription
    browser = webpush.check_browser(sub.endpoint, sub.keys.p256dh, sub.keys.auth, settings)
    done = await run_in_threadpool(
        webpush.subscribe,
        db,
        settings,
        browser,
        body.numbers,
        lang=body.lang,
        timezone=body.timezone,
    )
    doc = {
        "endpoint_id": done.endpoint_id,
        "subscriptions": [
            {"number": row.number, "id": row.id, "state": row.state} for row, _ in done.rows
        ],
    }
    created = any(new for _, new in done.rows)
    return JSONResponse(doc, status_code=201 if created else 200)


@router.delete(
    "/subscriptions",
    summary="Stop push notifications on this browser",
    description="Ends the browser's subscriptions to the numbers given, or to every number when "
    "`numbers` is left out. Ending what has ended changes nothing (`ended` counts only those "
    "this request ended).",
    response_class=JSONResponse,
    openapi_extra={"security": [{}]},
    responses={
        200: _json(ENDED_SCHEMA, "How many subscriptions this request ended."),
        **TOO_LARGE,
        422: _problem("`invalid_number` or `bad_request`."),
        **RATE_LIMITED,
    },
)
async def unsubscribe(
    request: Request,
    body: PushUnsubscribeRequest,
    db: DatabaseDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> Any:
    charge(request, caller)
    ended = await run_in_threadpool(webpush.unsubscribe, db, settings, body.endpoint, body.numbers)
    return JSONResponse({"ended": ended})
