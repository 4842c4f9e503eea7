"""`GET /api/v1/tracking/{number}`: the lookup as JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from emstrack.domain.s10 import Scope
from emstrack.lookup import Outcome
from emstrack.web.deps import TrackerDep
from emstrack.web.responses import JSONResponse, ProblemResponse, problem

router = APIRouter(prefix="/api/v1", tags=["tracking"])

_ERRORS: dict[Outcome, tuple[int, str]] = {
    Outcome.INVALID: (422, "This is not a valid tracking number"),
    Outcome.NOT_FOUND_YET: (404, "No scan of this item yet"),
    Outcome.UNKNOWN: (404, "No record of this number"),
}


@router.get(
    "/tracking/{number}",
    summary="Track one item",
    response_class=JSONResponse,
    responses={
        200: {"description": "The item, its current status and its events, newest first."},
        404: {
            "description": "A valid number with no scan yet (`not_found_yet`) or one we cannot "
            "place (`unknown`): a problem document with the same fields as a found item.",
            "content": {"application/problem+json": {}},
        },
        422: {
            "description": "Not a valid tracking number: a problem document listing what is "
            "wrong (`problems`) and what was probably meant (`suggestions`).",
            "content": {"application/problem+json": {}},
        },
    },
)
async def track(
    number: str,
    tracker: TrackerDep,
    scope: Annotated[
        Scope, Query(description="`international` (S10), `domestic` (13 digits) or `any`.")
    ] = Scope.ANY,
    lang: Annotated[str, Query(pattern="^(en|zh)", max_length=16)] = "en",
) -> Any:
    """Answer one tracking number, in any spelling a person might type it."""
    if tracker.local_reads:
        # A lookup in a local SQLite file is a fraction of a millisecond of CPU and never
        # waits for a writer (WAL): a hand-off to a thread would cost as much as the lookup.
        result = tracker.lookup(number, scope)
    else:
        result = await run_in_threadpool(tracker.lookup, number, scope)
    body = result.to_dict(lang)
    if result.outcome == Outcome.FOUND:
        return JSONResponse(body)
    status, title = _ERRORS[result.outcome]
    diagnosis = result.diagnosis
    detail = diagnosis.message if diagnosis else None
    # RFC 9457 owns `status` (the HTTP status) in a problem document; an item that was not
    # found has no tracking status, events or item to lose.
    keep = ("number", "formatted", "outcome", "diagnosis", "problems", "suggestions")
    response: ProblemResponse = problem(
        status, result.outcome.value, title, detail, **{k: body[k] for k in keep}
    )
    return response
