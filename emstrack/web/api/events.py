"""`POST /api/v1/events`: operators push scan events, checked and stored like the file import.

The body is read and checked by `emstrack.ingest.records.parse_record` itself rather than by a
pydantic model, so that the API and the import accept exactly the same records and give the
same reasons. The accepted events of one request are stored in one transaction; a rejected event
never stops the others. The answer is `200` with an outcome per event (not `207`: the request
itself succeeded, and every event says what happened to it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from emstrack.ingest import profiles
from emstrack.ingest.messages import check_records, settle
from emstrack.ingest.records import FIELDS, REQUIRED
from emstrack.ingest.writer import record
from emstrack.keys import KeyScope
from emstrack.web.api.openapi import (
    FORBIDDEN,
    PROBLEM_SCHEMA,
    RATE_LIMITED,
    TOO_LARGE,
    UNAUTHORIZED,
    openapi_extra,
)
from emstrack.web.deps import CallerDep, SettingsDep, TrackerDep, charge, require
from emstrack.web.errors import ApiProblem
from emstrack.web.responses import JSONResponse

router = APIRouter(prefix="/api/v1", tags=["operators"])

REJECTED = "rejected"

_EVENT_SCHEMA: dict[str, Any] = {
    "title": "Event",
    "description": "A scan event with the field names of the file import (see docs/import.md). "
    "Other fields are kept in the event's raw payload.",
    "type": "object",
    "required": list(REQUIRED),
    "properties": {
        **{name: {"type": "string"} for name in FIELDS},
        "source": {
            "type": "string",
            "description": "Set by the server to `api:` and the name of the key that pushed the "
            "event: a value sent here is ignored (kept only in the event's raw payload), so no "
            "key can pass its events off as another feed's.",
        },
    },
    "additionalProperties": True,
    "example": {
        "tracking_number": "EE123456785CN",
        "event_code": "EMA",
        "event_time": "2026-11-24T09:30",
        "office_code": "CNBJSD",
        "country": "CN",
    },
}
_BODY_SCHEMA: dict[str, Any] = {
    "oneOf": [
        _EVENT_SCHEMA,
        {
            "title": "Events",
            "type": "object",
            "required": ["events"],
            "properties": {"events": {"type": "array", "items": _EVENT_SCHEMA}},
        },
    ]
}
_RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["results", "stored", "duplicate", "rejected"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["index", "outcome", "reasons"],
                "properties": {
                    "index": {"type": "integer"},
                    "outcome": {"enum": ["stored", "duplicate", REJECTED]},
                    "reasons": {"type": "array", "items": {"type": "string"}},
                },
            },
        },
        "stored": {"type": "integer"},
        "duplicate": {"type": "integer"},
        "rejected": {"type": "integer"},
    },
}


def _bad_body(detail: str) -> ApiProblem:
    return ApiProblem(422, "bad_request", "The request body is not valid", detail)


def _records(body: bytes, limit: int) -> list[Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise _bad_body("The body must be a JSON object (UTF-8).") from None
    if not isinstance(data, dict):
        raise _bad_body('Send one event object, or {"events": [...]}.')
    if "events" not in data:
        return [data]
    events = data["events"]
    if not isinstance(events, list) or not events:
        raise _bad_body("`events` must be a list of one or more event objects.")
    if len(events) > limit:
        raise ApiProblem(
            422,
            "too_many_events",
            "Too many events",
            f"One request takes at most {limit} events, this one has {len(events)}.",
            limit=limit,
        )
    return events


@router.post(
    "/events",
    summary="Push scan events (operators)",
    description='One event object, or `{"events": [...]}`. Needs a key of scope `ingest` or '
    "`admin`. Each event is checked as in the file import and is `stored`, a `duplicate` (already "
    "there; any extra detail was merged in) or `rejected` with every reason. Sending the same "
    "events again is harmless: they come back as duplicates.",
    response_class=JSONResponse,
    openapi_extra={
        **openapi_extra(_RESULT_SCHEMA, optional_key=False),
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA}},
        },
    },
    responses={
        200: {"description": "An outcome per event, in order, and the counts."},
        **UNAUTHORIZED,
        **FORBIDDEN,
        **TOO_LARGE,
        422: {
            "description": "`bad_request` (not JSON, not an object, empty `events`) or "
            "`too_many_events`.",
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        },
        **RATE_LIMITED,
    },
)
async def push_events(
    request: Request,
    tracker: TrackerDep,
    caller: CallerDep,
    settings: SettingsDep,
    profile: Annotated[
        str,
        Query(
            description="The source profile that reads the events (docs/import.md): `upu` "
            "(each event with its `event_code`), `chinapost`, `usps`, `upu-names`. With a "
            "profile other than `upu` an event needs `tracking_number`, `event_time` and "
            "`description`."
        ),
    ] = profiles.DEFAULT,
) -> Any:
    require(caller, KeyScope.INGEST)
    charge(request, caller)
    chosen = profiles.builtin(profile)
    records = _records(await request.body(), settings.ingest_max_events)
    assert caller.key is not None
    source = f"api:{caller.key.name}"
    # The key says who sent the event; a `source` in the body is only the client's claim.
    checked = check_records(
        records,
        source=source,
        settings=settings,
        now=datetime.now(UTC),
        profile=chosen,
        force_source=True,
    )
    reuse = timedelta(days=settings.reuse_after_days)
    # Writes always go to a thread: on SQLite they may wait for the write lock.
    outcome = await run_in_threadpool(record, tracker.db, checked.accepted, reuse_after=reuse)
    counts = settle(checked, outcome.outcomes)
    return JSONResponse({"results": checked.results, **counts})
