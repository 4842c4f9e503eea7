"""`POST /api/v1/check-message`: is a message that claims to come from the post genuine?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from emstrack import scamcheck
from emstrack.domain import s10
from emstrack.domain.lang import lang_of
from emstrack.lookup import Tracker
from emstrack.scamcheck import numbers, reports
from emstrack.web.api.openapi import (
    BAD_REQUEST,
    RATE_LIMITED,
    TOO_LARGE,
    UNAUTHORIZED,
    openapi_extra,
)
from emstrack.web.deps import CallerDep, DatabaseDep, TrackerDep, charge
from emstrack.web.responses import JSONResponse

router = APIRouter(prefix="/api/v1", tags=["safety"])


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(
        min_length=1,
        max_length=scamcheck.MAX_TEXT,
        description=f"The message as received (SMS, e-mail, a link): at most {scamcheck.MAX_TEXT} "
        "characters.",
        examples=["USPS: your parcel is held, pay a small fee at https://usps-redelivery.com"],
    )
    sender: str | None = Field(
        None, max_length=200, description="Who sent it: a phone number or an e-mail address."
    )
    lang: str = Field("en", pattern="^(en|zh)", max_length=16, description="en or zh.")
    report: bool = Field(
        False, description="Keep the message (text, sender, verdict, time) for the operator."
    )


_REASON = {
    "type": "object",
    "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
}
CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "verdict",
        "headline",
        "summary",
        "reasons",
        "advice",
        "tracking_numbers",
        "reported",
    ],
    "properties": {
        "verdict": {"type": "string", "enum": [v.value for v in scamcheck.Verdict]},
        "headline": {"type": "string", "description": "The verdict as a title, in `lang`."},
        "summary": {
            "type": "string",
            "description": "What to do, in one sentence; for `no_red_flags` it says that finding "
            "no sign proves nothing.",
        },
        "reasons": {"type": "array", "items": _REASON},
        "advice": {"type": "array", "items": {"type": "string"}},
        "tracking_numbers": {"type": "array", "items": {"type": "object"}},
        "reported": {"type": "boolean"},
    },
}


def run_check(tracker: Tracker, text: str, sender: str | None) -> scamcheck.CheckResult:
    """The check against this service's records, its official domains and its hotlines."""
    return scamcheck.check(
        text,
        sender,
        lookup=tracker.lookup_many,
        official_domains=tracker.settings.official_domain_list,
        hotlines=tracker.settings.brand.hotline_numbers,
        names=tracker.settings.brand.names,
    )


def lookup_cost(text: str) -> int:
    """What checking `text` costs against a rate limit: one per tracking number it looks up.

    At least one: a message without numbers is still a request. Counted before the check, the
    way `scamcheck.check` finds them: only valid numbers are looked up.
    """
    found = numbers.candidates(text[: scamcheck.MAX_TEXT])
    return max(1, sum(1 for raw in found if s10.parse(raw).valid))


@router.post(
    "/check-message",
    summary="Check whether a message claiming to be from the post is genuine",
    description="Judges the message by what it asks the reader to do (pay, give details, follow "
    "a link to rearrange or release the delivery, call a number about customs, the police or "
    "compensation), and weighs the links, its urgency, the tracking numbers "
    "it quotes (against our records) and the sender into a `verdict`: `likely_scam`, "
    "`suspicious` or `no_red_flags`, with `reasons` (a stable `code` and a sentence each) and "
    "`advice`. Nothing is stored unless `report` is true. Counts against the rate limit as one "
    f"lookup per tracking number the message quotes (at most {numbers.MAX_NUMBERS}), and at least "
    "one.",
    response_class=JSONResponse,
    openapi_extra=openapi_extra(CHECK_SCHEMA),
    responses={
        200: {"description": "The verdict, its reasons and advice."},
        **UNAUTHORIZED,
        **TOO_LARGE,
        **BAD_REQUEST,
        **RATE_LIMITED,
    },
)
async def check_message(
    request: Request, body: CheckRequest, tracker: TrackerDep, db: DatabaseDep, caller: CallerDep
) -> Any:
    charge(request, caller, lookup_cost(body.text))
    result = await run_in_threadpool(run_check, tracker, body.text, body.sender)
    if body.report:
        await run_in_threadpool(reports.keep, db, body.text, body.sender, result)
    lang = lang_of(body.lang)
    hotline = tracker.settings.brand.hotline_words(lang)
    return JSONResponse({**result.to_dict(lang, hotline), "reported": body.report})
