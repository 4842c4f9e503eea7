"""The API's problem documents as the OpenAPI document describes them: their schema, and the
refusals a route may answer (`UNAUTHORIZED`, `RATE_LIMITED`, ...). The answers themselves are
made by `emstrack.web.errors`."""

from __future__ import annotations

from typing import Any

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; `code` is stable, one per kind of error.",
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
    },
    "additionalProperties": True,
}


def openapi_extra(ok_schema: dict[str, Any], *, optional_key: bool = True) -> dict[str, Any]:
    """What FastAPI cannot infer for a route that returns a `Response` itself.

    The schema of its `200` JSON body (applied last, over FastAPI's guess of a string), and,
    where `optional_key`, that the key may be left out: FastAPI's `[{"apiKey": []}]` gains `{}`.
    """
    extra: dict[str, Any] = {
        "responses": {"200": {"content": {"application/json": {"schema": ok_schema}}}}
    }
    if optional_key:
        extra["security"] = [{}]
    return extra


#: A lookup's answer (`TrackingResult.to_dict`), as far as a client needs to rely on it.
TRACKING_RESULT_SCHEMA: dict[str, Any] = {
    "title": "TrackingResult",
    "type": "object",
    "required": ["number", "formatted", "outcome", "events", "problems", "suggestions"],
    "properties": {
        "number": {"type": "string"},
        "formatted": {"type": "string"},
        "outcome": {"enum": ["found", "not_found_yet", "invalid", "unknown"]},
        "status": {
            "description": "docs/api.md: the coarse status; `returning` and `returned` for a "
            "return to the sender",
            "type": ["string", "null"],
        },
        "status_detail": {"type": ["string", "null"]},
        "status_label": {"type": ["string", "null"]},
        "headline": {
            "description": "Where the item is, in one or two sentences in the answer's language: "
            "the latest event with its place and local time, and what follows (found items)",
            "type": ["string", "null"],
        },
        "destination_operator": {
            "description": "The destination country's designated operator, from the first event "
            "in that country on (null before): its `country`, `name` (in the answer's "
            "language), official `url` and `tracking_url` with the number filled in (null where "
            "the operator offers no such link)",
            "type": ["object", "null"],
            "properties": {
                "country": {"type": "string"},
                "name": {"type": "string"},
                "url": {"type": "string"},
                "tracking_url": {"type": ["string", "null"]},
            },
        },
        "diagnosis": {"type": ["object", "null"]},
        "item": {"type": ["object", "null"]},
        "events": {"type": "array", "items": {"type": "object"}},
        "problems": {"type": "array", "items": {"type": "object"}},
        "suggestions": {"type": "array", "items": {"type": "object"}},
        "earlier_items": {"type": "array", "items": {"type": "object"}},
    },
    "additionalProperties": True,
}

_RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (
        ("Retry-After", "Seconds to wait before trying again."),
        ("RateLimit-Limit", "Requests (lookups) allowed per window."),
        ("RateLimit-Remaining", "What is left of them in this window."),
        ("RateLimit-Reset", "Seconds until the window resets."),
    )
}


def _problem(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        **extra,
    }


Responses = dict[int | str, dict[str, Any]]

UNAUTHORIZED: Responses = {
    401: _problem(
        "`invalid_key`: the `Authorization: Bearer` key is missing where one is needed, "
        "unknown or revoked.",
        headers={"WWW-Authenticate": {"schema": {"type": "string"}}},
    )
}
FORBIDDEN: Responses = {403: _problem("`insufficient_scope`: the key's scope does not allow this.")}
TOO_LARGE: Responses = {413: _problem("`body_too_large`: the request body passes the size limit.")}
BAD_REQUEST: Responses = {422: _problem("`bad_request`: a parameter or the body is not valid.")}
RATE_LIMITED: Responses = {
    429: _problem(
        "`rate_limited`: too many requests from this address or key; retry after "
        "`Retry-After` seconds.",
        headers=_RATE_HEADERS,
    )
}
