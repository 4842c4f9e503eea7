"""`GET /api/v1/numbers/{number}`: what a number is and what is wrong with it; no lookup."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from emstrack.domain.lang import lang_of
from emstrack.domain.tracking_number import Scope
from emstrack.web.api.language import localise_problems
from emstrack.web.api.openapi import RATE_LIMITED, UNAUTHORIZED, openapi_extra
from emstrack.web.api.tracking import LangQuery, ScopeQuery
from emstrack.web.deps import CallerDep, TrackerDep, charge
from emstrack.web.responses import JSONResponse, problem

router = APIRouter(prefix="/api/v1", tags=["numbers"])


@router.get(
    "/numbers/{number}",
    summary="Check and explain a tracking number",
    description="Parse the number as a person typed it and explain it: kind, service, issuing "
    "country, check digit. Nothing is looked up, so `suggestions` holds only the corrections "
    "that need no record (the check digit, a transposition, a missing part).",
    response_class=JSONResponse,
    openapi_extra=openapi_extra(
        {
            "type": "object",
            "required": ["number", "valid", "kind", "explanation", "problems", "suggestions"],
            "additionalProperties": True,
        }
    ),
    responses={
        200: {"description": "A valid number, explained."},
        422: {
            "description": "`invalid`: the same fields, with `valid: false`, what is wrong "
            "(`problems`) and what was probably meant (`suggestions`); or `bad_request`.",
            "content": {"application/problem+json": {}},
        },
        **UNAUTHORIZED,
        **RATE_LIMITED,
    },
)
async def explain(
    request: Request,
    number: str,
    tracker: TrackerDep,
    caller: CallerDep,
    scope: ScopeQuery = Scope.ANY,
    lang: LangQuery = "en",
) -> Any:
    charge(request, caller)
    tn = tracker.parse(number, scope)
    language = lang_of(lang)
    body = tn.to_dict(language)
    localise_problems(body, tn.problems, language)
    if tn.valid:
        return JSONResponse(body)
    errors = [p["message"] for p in body["problems"] if p.get("severity") == "error"]
    return problem(422, "invalid", "This is not a valid tracking number", " ".join(errors), **body)
