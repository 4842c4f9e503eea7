"""`GET /healthz`: is the service up, and does its database answer?"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

import emstrack
from emstrack.errors import DatabaseUnavailable
from emstrack.web.api.openapi import openapi_extra
from emstrack.web.deps import DatabaseDep
from emstrack.web.errors import RETRY_AFTER, ApiProblem

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Health of the service and its database",
    openapi_extra=openapi_extra(
        {"type": "object", "required": ["status", "database", "version"]}, optional_key=False
    ),
    responses={503: {"description": "`database_unavailable`: a problem document."}},
)
async def healthz(db: DatabaseDep) -> Any:
    try:
        await run_in_threadpool(db.ping)
    except DatabaseUnavailable as exc:
        # The health report names what is down (`database`), for the monitor that asked.
        raise ApiProblem(
            503,
            exc.code,
            "The database is not answering",
            exc.message,
            headers={"Retry-After": RETRY_AFTER},
            database="unavailable",
        ) from exc
    return {"status": "ok", "database": "ok", "version": emstrack.__version__}
