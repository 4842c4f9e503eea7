"""The application factory: `create_app(settings)` builds a FastAPI app on one database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import Response

import emstrack
from emstrack.config import Settings, get_settings
from emstrack.errors import DatabaseError, DatabaseUnavailable
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.store.errors import DRIVER_ERRORS, database_error
from emstrack.web import accesslog, channels, checkpage, pages, subscribepages
from emstrack.web.api import check, events, numbers, problems, subscriptions, tracking
from emstrack.web.api.problems import openapi_extra
from emstrack.web.clients import ProxyHeaders
from emstrack.web.ratelimit import Limiter, RateLimitHeaders
from emstrack.web.responses import JSONResponse, problem
from emstrack.web.security import BodyLimit, SecurityHeaders


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """A ready app. The database is opened from the settings unless one is handed in (tests)."""
    settings = settings or get_settings()
    owns_database = database is None
    if database is None:
        database = Database.open(settings)
    else:
        database.ensure_schema(settings.auto_migrate)
    db = database
    engine = db.engine
    accesslog.install()

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        yield
        wechat_api = getattr(app_.state, "wechat_api", None)  # made by a late WeChat answer
        if wechat_api is not None:
            wechat_api.close()
        if owns_database:
            db.close()

    app = FastAPI(
        title="emstrack",
        version=emstrack.__version__,
        summary="Track & trace for EMS and every UPU S10 postal item.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
        # Swagger UI and ReDoc load their code from a CDN, which the security policy forbids:
        # the API is described by /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.engine = engine
    app.state.tracker = Tracker(engine, settings)
    app.state.limiter = Limiter(settings.redis_url)
    app.include_router(tracking.router)
    app.include_router(numbers.router)
    app.include_router(events.router)
    app.include_router(check.router)
    app.include_router(subscriptions.router)
    app.include_router(channels.router)
    problems.install(app)
    # The last added is the outermost: security headers go on every response, 413s included.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(SecurityHeaders)
    # Outermost: everything after sees the client a trusted proxy named, not the proxy.
    app.add_middleware(ProxyHeaders, trusted=settings.trusted_proxy_networks)
    _install_error_handlers(app)
    app.include_router(checkpage.router)
    app.include_router(subscribepages.router)
    pages.install(app)  # after the JSON handlers: it wraps them with HTML error pages

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Health of the service and its database",
        openapi_extra=openapi_extra(
            {"type": "object", "required": ["status", "database", "version"]}, optional_key=False
        ),
        responses={503: {"description": "`database_unavailable`: a problem document."}},
    )
    async def healthz() -> Any:
        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except DRIVER_ERRORS as exc:
            error = database_error(exc)
            if error is None:
                raise
            return problem(
                503,
                error.code,
                "The database is not answering",
                error.message,
                headers={"Retry-After": RETRY_AFTER},
                database="unavailable",
            )
        return {"status": "ok", "database": "ok", "version": emstrack.__version__}

    return app


def _install_error_handlers(app: FastAPI) -> None:
    """One place that turns an exception into a problem document."""

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Any:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return problem(422, "bad_request", "The request is not valid", errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(_request: Request, exc: HTTPException) -> Any:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers) if exc.headers else None
        return problem(exc.status_code, code, str(exc.detail), headers=headers)

    async def _database(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DatabaseError)
        headers = {"Retry-After": RETRY_AFTER}
        if pages._wants_html(request):
            page = pages.render(request, "error.html", 503, code=503)
            page.headers.update(headers)
            return page
        if isinstance(exc, DatabaseUnavailable):
            # Why, not the hint: that speaks to the server's operator, not to its clients.
            title = "The database is not answering; please try again shortly."
            return problem(503, exc.code, title, exc.message, headers=headers)
        return problem(503, exc.code, exc.message, headers=headers)

    async def _driver(request: Request, exc: Exception) -> Response:
        # A driver's error that no unit of work mapped: SQLAlchemy's, or the driver's own from
        # a raw cursor. Never echo its message: it can carry the URL, paths, SQL or values.
        error = database_error(exc)
        if error is None:
            raise exc  # a bug, not an outage: the 500 handler answers it
        return await _database(request, error)

    # A request is never answered 2xx unless its writes were committed, so a client retries
    # what was not: nothing accepted is lost.
    app.add_exception_handler(DatabaseError, _database)
    for kind in DRIVER_ERRORS:
        app.add_exception_handler(kind, _driver)


#: Seconds a client is asked to wait when the database is unavailable.
RETRY_AFTER = "5"
