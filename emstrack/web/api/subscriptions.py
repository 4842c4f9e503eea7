"""`/api/v1/subscriptions`: be told when an item moves, by webhook or by e-mail.

A webhook needs an operator's key of scope `webhooks` (or `admin`); its answer holds the signing
secret, once. An e-mail subscription needs no key: the address is sent a confirmation link and
nothing else until it is followed. Without a key the answer is the same whether the address
followed the item already or not, and holds neither the subscription's id nor its unsubscribe
link, so that nobody can learn of, or end, someone else's subscription by naming an address.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from emstrack.config import Settings
from emstrack.domain import s10
from emstrack.domain.lang import Lang
from emstrack.errors import InputError
from emstrack.keys import KeyScope
from emstrack.lookup import Tracker
from emstrack.notify import subscriptions
from emstrack.store.subscriptions import SubscriptionRow
from emstrack.web.api.openapi import (
    BAD_REQUEST,
    FORBIDDEN,
    PROBLEM_SCHEMA,
    RATE_LIMITED,
    TOO_LARGE,
    UNAUTHORIZED,
    Responses,
)
from emstrack.web.deps import Caller, CallerDep, SettingsDep, TrackerDep, charge, require
from emstrack.web.errors import ApiProblem
from emstrack.web.responses import JSONResponse

router = APIRouter(prefix="/api/v1", tags=["subscriptions"])

#: What an e-mail subscription costs against the rate limit: each one may send a mail.
EMAIL_COST = 5

SIGNATURE = {
    "header": "X-Emstrack-Signature",
    "timestamp_header": "X-Emstrack-Timestamp",
    "event_id_header": "X-Emstrack-Event-Id",
    "scheme": "HMAC-SHA256 over `{timestamp}.{body}`",
}


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: str = Field(
        min_length=1, max_length=200, description="A tracking number, in any spelling."
    )
    channel: Literal["webhook", "email"] = Field(
        description="`webhook` (needs a key of scope `webhooks` or `admin`) or `email`."
    )
    url: str | None = Field(
        None,
        max_length=500,
        description="The webhook's HTTPS URL: required for `webhook`, refused otherwise.",
        examples=["https://shop.example.com/hooks/emstrack"],
    )
    email: str | None = Field(
        None,
        max_length=254,
        description="The address to write to: required for `email`, refused otherwise.",
        examples=["alice@example.com"],
    )
    lang: Lang = Field("en", description="Language of the notices: en or zh.")
    timezone: str | None = Field(
        None,
        max_length=64,
        description="IANA time zone of the recipient, for the times in notices and quiet hours.",
        examples=["Europe/Berlin"],
    )

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        wanted, other = ("url", "email") if self.channel == "webhook" else ("email", "url")
        if getattr(self, wanted) is None:
            raise ValueError(f"A `{self.channel}` subscription needs `{wanted}`.")
        if getattr(self, other) is not None:
            raise ValueError(f"A `{self.channel}` subscription takes no `{other}`.")
        return self

    @property
    def target(self) -> str:
        return (self.url if self.channel == "webhook" else self.email) or ""


_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
SUBSCRIPTION_SCHEMA: dict[str, Any] = {
    "title": "Subscription",
    "type": "object",
    "required": ["id", "number", "channel", "state", "created_at", "unsubscribe_url"],
    "properties": {
        "id": {"type": "string"},
        "number": {"type": "string"},
        "channel": {"enum": list(subscriptions.CHANNELS)},
        "state": {"enum": ["pending", "active", "ended"]},
        "created_at": {"type": "string", "format": "date-time"},
        "confirmed_at": _NULLABLE_TIME,
        "ended_at": _NULLABLE_TIME,
        "ended_reason": {"type": ["string", "null"]},
        "unsubscribe_url": {"type": "string"},
        "url": {"type": "string", "description": "A webhook's URL."},
        "email": {"type": "string", "description": "An e-mail address, masked: a***@example.com."},
        "secret": {
            "type": "string",
            "description": "A webhook's signing secret: only in the `201` answer, never again.",
        },
        "signature": {
            "type": "object",
            "description": "How a webhook's notices are signed.",
            "required": list(SIGNATURE),
            "properties": {name: {"type": "string"} for name in SIGNATURE},
        },
    },
}
EMAIL_ACCEPTED_SCHEMA: dict[str, Any] = {
    "title": "EmailAccepted",
    "type": "object",
    "required": ["number", "channel", "email", "detail"],
    "properties": {
        "number": {"type": "string"},
        "channel": {"const": "email"},
        "email": {"type": "string", "description": "The address, masked: a***@example.com."},
        "detail": {"type": "string"},
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
    }


_UNAVAILABLE: Responses = {
    503: _problem("`subscriptions_unavailable`: the operator has not set a secret key.")
}
_NOT_FOUND: Responses = {
    404: _problem("`not_found`: no such subscription, or not one this key may see.")
}


def mask(address: str) -> str:
    """An address as shown back: its first character and its domain (a***@example.com)."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


def _document(settings: Settings, row: SubscriptionRow, unsubscribe_url: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": row.id,
        "number": row.number,
        "channel": row.channel,
        "state": row.state,
        "created_at": row.created_at.isoformat(),
        "confirmed_at": row.confirmed_at.isoformat() if row.confirmed_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "ended_reason": row.ended_reason,
        "unsubscribe_url": unsubscribe_url,
    }
    if row.channel == "webhook":
        doc["url"] = row.target
        doc["signature"] = SIGNATURE
    elif row.channel == "email":
        doc["email"] = mask(row.target)
    return doc


@router.post(
    "/subscriptions",
    summary="Subscribe to an item's changes of status",
    description="`webhook`: needs a key of scope `webhooks` or `admin`; the answer is `201` with "
    "the signing `secret` (shown this once) when the subscription is new, `200` without it when "
    "the same URL already followed the item. `email`: no key needed; the address gets a "
    "confirmation link and nothing else until it is followed. Without a key the answer is "
    "`202` and the same whether or not the address already followed the item; with a key of "
    "scope `webhooks` or `admin` it is the subscription, as for a webhook (the address masked). "
    "An e-mail subscription counts as 5 requests against the rate limit.",
    response_class=JSONResponse,
    status_code=201,
    openapi_extra={"security": [{}]},
    responses={
        200: _json(SUBSCRIPTION_SCHEMA, "The same subscription existed: it, without secret."),
        201: _json(SUBSCRIPTION_SCHEMA, "A new subscription (a webhook's with its secret)."),
        202: _json(EMAIL_ACCEPTED_SCHEMA, "An e-mail subscription asked for without a key."),
        **UNAUTHORIZED,
        **FORBIDDEN,
        **TOO_LARGE,
        422: _problem(
            "`invalid_number`, `bad_url`, `bad_email`, `bad_timezone`, "
            "`too_many_subscriptions` or `bad_request`."
        ),
        **RATE_LIMITED,
        **_UNAVAILABLE,
    },
)
async def create(
    request: Request,
    body: SubscriptionRequest,
    tracker: TrackerDep,
    settings: SettingsDep,
    caller: CallerDep,
) -> Any:
    if body.channel == "webhook":
        require(caller, KeyScope.WEBHOOKS)
        charge(request, caller)
    else:
        charge(request, caller, EMAIL_COST)
    trusted = caller.may(KeyScope.WEBHOOKS)
    try:
        made = await run_in_threadpool(
            subscriptions.subscribe,
            tracker.db,
            settings,
            number=body.number,
            channel=body.channel,
            target=body.target,
            lang=body.lang,
            timezone=body.timezone,
            key_id=caller.key.id if trusted and caller.key else None,
        )
    except InputError as exc:
        if trusted or exc.code != "too_many_subscriptions":
            raise
        # Full or not, a stranger gets the same answer: no oracle of what an address follows.
        made = None
    if not trusted:
        accepted = {
            "number": made.row.number if made else s10.parse(body.number).number,
            "channel": "email",
            "email": mask(made.row.target if made else body.target),
            "detail": "If this address did not follow the item yet, a confirmation link was "
            "sent to it. Nothing else is sent until it is followed.",
        }
        return JSONResponse(accepted, status_code=202)
    assert made is not None
    doc = _document(settings, made.row, made.unsubscribe_url)
    if made.secret:
        doc["secret"] = made.secret
    return JSONResponse(doc, status_code=201 if made.created else 200)


IdPath = Annotated[str, Path(max_length=64, description="The subscription's `id`.")]


async def _own(tracker: Tracker, caller: Caller, sub_id: str) -> SubscriptionRow:
    """The subscription `sub_id` if the caller's key may see it: its own, or any for `admin`."""
    require(caller, KeyScope.WEBHOOKS)
    row = await run_in_threadpool(subscriptions.by_id, tracker.db, sub_id)
    assert caller.key is not None  # require() let it through
    if row is None or (caller.key.scope != KeyScope.ADMIN and row.key_id != caller.key.id):
        raise ApiProblem(404, "not_found", "There is no such subscription")
    return row


@router.get(
    "/subscriptions/{sub_id}",
    summary="Show a subscription",
    description="Needs a key of scope `webhooks` (its own subscriptions) or `admin` (any).",
    response_class=JSONResponse,
    responses={
        200: _json(SUBSCRIPTION_SCHEMA, "The subscription (never its secret)."),
        **UNAUTHORIZED,
        **FORBIDDEN,
        **_NOT_FOUND,
        422: BAD_REQUEST[422],
        **RATE_LIMITED,
        **_UNAVAILABLE,
    },
)
async def show(
    request: Request, sub_id: IdPath, tracker: TrackerDep, settings: SettingsDep, caller: CallerDep
) -> Any:
    charge(request, caller)
    row = await _own(tracker, caller, sub_id)
    unsubscribe_url = subscriptions.links(settings, row)["unsubscribe"]
    return JSONResponse(_document(settings, row, unsubscribe_url))


@router.delete(
    "/subscriptions/{sub_id}",
    summary="End a subscription",
    description="Needs a key of scope `webhooks` (its own subscriptions) or `admin` (any). "
    "Ending an ended subscription again changes nothing.",
    status_code=204,
    response_class=Response,
    response_model=None,
    responses={
        204: {"description": "Ended; no body."},
        **UNAUTHORIZED,
        **FORBIDDEN,
        **_NOT_FOUND,
        422: BAD_REQUEST[422],
        **RATE_LIMITED,
    },
)
async def end(request: Request, sub_id: IdPath, tracker: TrackerDep, caller: CallerDep) -> Any:
    charge(request, caller)
    row = await _own(tracker, caller, sub_id)
    await run_in_threadpool(subscriptions.end, tracker.db, row.number, row.id, "ended_by_api")
    return Response(status_code=204)
