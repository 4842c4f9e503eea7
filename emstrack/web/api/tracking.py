"""`GET /api/v1/tracking/{number}` and `POST /api/v1/tracking/batch`: lookups as JSON."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from emstrack.domain.lang import lang_of
from emstrack.domain.tracking_number import Scope
from emstrack.lookup import Outcome, Tracker
from emstrack.web import caching
from emstrack.web.api.language import localise_problems
from emstrack.web.api.openapi import (
    BAD_REQUEST,
    RATE_LIMITED,
    TOO_LARGE,
    TRACKING_RESULT_SCHEMA,
    UNAUTHORIZED,
    openapi_extra,
)
from emstrack.web.deps import Caller, CallerDep, allowance, charge, lookups
from emstrack.web.errors import ApiProblem
from emstrack.web.responses import JSONResponse, ProblemResponse, problem

router = APIRouter(prefix="/api/v1", tags=["tracking"])

#: Most numbers in one batch request.
MAX_BATCH = 50

_ERRORS: dict[Outcome, tuple[int, str]] = {
    Outcome.INVALID: (422, "This is not a valid tracking number"),
    Outcome.NOT_FOUND_YET: (404, "No scan of this item yet"),
    Outcome.UNKNOWN: (404, "No record of this number"),
}

_PRIVATE = (
    " With a key of scope `read_private` or `admin` the answer also holds the personal fields "
    "(`signatory` and `description` of events, the item's `destination_postcode`), whether "
    "that postcode came with a newly stored scan (`destination_postcode_verified`; only then "
    "does it unlock the details on the item page), and `conflicts`: values of the destination "
    "postcode or countries sent later that disagreed with the kept ones (field, value, source, "
    "first_seen_at)."
)


def _with_conflicts(tracker: Tracker, body: dict[str, Any]) -> None:
    """Add the item's recorded conflicts to a private answer of a found item."""
    item = body.get("item")
    if item is not None:
        item["conflicts"] = tracker.conflicts(item["number"], item["generation"])


ScopeQuery = Annotated[
    Scope, Query(description="`international` (S10), `domestic` (13 digits) or `any`.")
]
LangQuery = Annotated[
    str, Query(pattern="^(en|zh)", max_length=16, description="Language of labels: en or zh.")
]


@router.get(
    # `:path`: a number typed with a slash in it ("0/", "EE…CN/") is answered as what it is,
    # an invalid number, rather than redirected; so is the path without a number.
    "/tracking/{number:path}",
    summary="Track one item",
    description="Answer one tracking number, in any spelling a person might type it." + _PRIVATE,
    response_class=JSONResponse,
    openapi_extra=openapi_extra(TRACKING_RESULT_SCHEMA),
    responses={
        200: {"description": "The item, its current status and its events, newest first."},
        404: {
            "description": "A valid number with no scan yet (`not_found_yet`) or one we cannot "
            "place (`unknown`): a problem document with the same fields as a found item.",
            "content": {"application/problem+json": {}},
        },
        422: {
            "description": "Not a valid tracking number (`invalid`): a problem document listing "
            "what is wrong (`problems`) and what was probably meant (`suggestions`); or a bad "
            "query parameter (`bad_request`).",
            "content": {"application/problem+json": {}},
        },
        **UNAUTHORIZED,
        **RATE_LIMITED,
    },
)
async def track(
    request: Request,
    number: str,
    caller: CallerDep,
    scope: ScopeQuery = Scope.ANY,
    lang: LangQuery = "en",
) -> Response:
    return await answer_one(request, number, caller, scope, lang)


async def answer_one(
    request: Request, number: str, caller: Caller, scope: Scope, lang: str
) -> Response:
    """The answer of `GET /api/v1/tracking/{number}`: `track`'s, and the one the lane gives a
    public caller's plain request without the router (`web.api.lane`)."""
    # The tracker straight from `lookups`, not as a dependency: each one FastAPI resolves costs
    # a noticeable share of this, the busiest route. A public caller's reads go to a replica.
    tracker = lookups(request, caller)
    charge(request, caller)
    private = caller.private
    language = lang_of(lang)
    settings = request.app.state.settings
    deploy: str = request.app.state.deploy_tag
    keyed = "key" if caller.key is not None else ""

    def tag_of(version: str) -> str:
        # Everything a found item's public answer depends on (`web.caching`).
        return caching.etag(deploy, "api", number, version, language, scope.value, keyed)

    # A conditional request for the same version: answered without building the body.
    def unchanged(version: str) -> bool:
        return caching.matches(request, tag_of(version))

    held = None if private else unchanged
    answer = partial(
        tracker.answer,
        number,
        scope,
        language,
        private=private,
        allowance=allowance(request, caller),
        unchanged=held,
    )
    # PostgreSQL: a valid number's read on the event loop (`Tracker.answer_async`, the async
    # pool). A lookup in a local SQLite file is a fraction of a millisecond of CPU and never
    # waits for a writer (WAL): a hand-off to a thread would cost as much as the lookup.
    result = await tracker.answer_async(number, scope, language, private=private, unchanged=held)
    if result is None:
        result = answer() if tracker.local_reads else await run_in_threadpool(answer)
    body = result.built  # (empty when kept: sent as it is below)
    if result.outcome == Outcome.FOUND:
        if private:
            localise_problems(body, result.number.problems, language)
            await run_in_threadpool(_with_conflicts, tracker, body)
            return caching.mark(JSONResponse(body), None, caching.PRIVATE, caching.API_VARY)
        cache_control = caching.public(settings, found=True)
        tag = tag_of(result.version or "")
        if result.unchanged:
            return caching.not_modified(tag, cache_control, caching.API_VARY)
        if result.kept is not None:  # the answer as the writer kept it: the same bytes
            kept = Response(result.kept, media_type=JSONResponse.media_type)
            return caching.mark(kept, tag, cache_control, caching.API_VARY)
        localise_problems(body, result.number.problems, language)
        return caching.mark(JSONResponse(body), tag, cache_control, caching.API_VARY)
    localise_problems(body, result.number.problems, language)
    status, title = _ERRORS[result.outcome]
    diagnosis = result.diagnosis
    detail = diagnosis.message if diagnosis else None
    # RFC 9457 owns `status` (the HTTP status) in a problem document; an item that was not
    # found has no tracking status, events or item to lose.
    keep = ("number", "formatted", "outcome", "diagnosis", "problems", "suggestions")
    response: ProblemResponse = problem(
        status, result.outcome.value, title, detail, **{k: body[k] for k in keep}
    )
    if private:
        return caching.mark(response, None, caching.PRIVATE, caching.API_VARY)
    # Briefly cacheable: a first scan may come any minute. Tagged by its bytes.
    tag = caching.body_etag(bytes(response.body))
    cache_control = caching.public(settings, found=False)
    if caching.matches(request, tag):
        return caching.not_modified(tag, cache_control, caching.API_VARY)
    return caching.mark(response, tag, cache_control, caching.API_VARY)


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    numbers: list[Annotated[str, Field(max_length=1024)]] = Field(
        min_length=1,
        description=f"1 to {MAX_BATCH} tracking numbers, in any spelling.",
        examples=[["EE123456785CN", "RR473124829GB"]],
    )
    scope: Scope = Field(Scope.ANY, description="`international`, `domestic` or `any`.")
    lang: str = Field("en", pattern="^(en|zh)", max_length=16, description="en or zh.")


@router.post(
    "/tracking/batch",
    summary="Track up to 50 items",
    description="One result per number, in the order given; each has the shape of the single "
    "lookup's `200` answer with its own `outcome` (`found`, `not_found_yet`, `invalid`, "
    "`unknown`). The request is always `200` when the body is valid: look at each `outcome`. "
    "Counts against the rate limit as one lookup per number." + _PRIVATE,
    response_class=JSONResponse,
    openapi_extra=openapi_extra(
        {
            "type": "object",
            "required": ["results"],
            "properties": {"results": {"type": "array", "items": TRACKING_RESULT_SCHEMA}},
        }
    ),
    responses={
        200: {"description": '`{"results": [...]}`, one per number, in order.'},
        **UNAUTHORIZED,
        **TOO_LARGE,
        422: {
            "description": "`too_many_numbers` (more than 50) or `bad_request`.",
            "content": BAD_REQUEST[422]["content"],
        },
        **RATE_LIMITED,
    },
)
async def track_batch(request: Request, body: BatchRequest, caller: CallerDep) -> Any:
    tracker = lookups(request, caller)
    count = len(body.numbers)
    if count > MAX_BATCH:
        raise ApiProblem(
            422,
            "too_many_numbers",
            "Too many numbers",
            f"A batch takes at most {MAX_BATCH} numbers, this one has {count}.",
            limit=MAX_BATCH,
        )
    charge(request, caller, count)
    language = lang_of(body.lang)
    answer = partial(
        tracker.answer_many,
        body.numbers,
        body.scope,
        language,
        private=caller.private,
        allowance=allowance(request, caller),
    )
    results = await tracker.answer_many_async(
        body.numbers, body.scope, language, private=caller.private
    )
    if results is None:
        results = answer() if tracker.local_reads else await run_in_threadpool(answer)
    # `{"results": [...]}` as orjson writes it, each kept answer put in as it is.
    parts = []
    for result in results:
        if result.kept is not None:
            parts.append(result.kept.encode())
            continue
        doc = result.built
        localise_problems(doc, result.number.problems, language)
        if caller.private and result.outcome == Outcome.FOUND:
            await run_in_threadpool(_with_conflicts, tracker, doc)
        parts.append(orjson.dumps(doc))
    content = b'{"results":[' + b",".join(parts) + b"]}"
    # A POST: no cache may keep it (the single lookups are the cacheable ones).
    response = Response(content, media_type=JSONResponse.media_type)
    return caching.mark(response, None, caching.NO_STORE, caching.API_VARY)
