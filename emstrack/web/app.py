"""The application factory: `create_app(settings)` builds a FastAPI app on one database."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from fastapi import FastAPI

import emstrack
from emstrack.config import Settings, get_settings
from emstrack.lookup import Tracker
from emstrack.store.database import Database
from emstrack.web import (
    accesslog,
    bots,
    branding,
    caching,
    checkpage,
    errors,
    keptpages,
    pages,
    pwa,
    subscribepages,
)
from emstrack.web.api import check, events, health, numbers, push, subscriptions, tracking
from emstrack.web.api.app_account import router as app_account_router
from emstrack.web.api.lane import TrackingLane
from emstrack.web.apppages import router as app_sign_in_router
from emstrack.web.clients import ProxyHeaders
from emstrack.web.ratelimit import Limiter, RateLimitHeaders
from emstrack.web.responses import JSONResponse
from emstrack.web.security import BodyLimit, SecurityHeaders


@contextmanager
def _frozen_heap() -> Iterator[None]:
    """What the app made before its first request lives as long as it does: moved out of the
    garbage collector's way (`gc.freeze`) while it serves. Otherwise every full collection walks
    it all with the event loop stopped: 96-119 ms each, a few times a minute under load (the
    lookup's p99 on PostgreSQL 82 ms; 9 ms frozen, `bench/http_load.py`). Unfrozen at shutdown,
    so that a process that makes many apps (the tests) collects them as before."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """A ready app. The database is opened from the settings unless one is handed in (tests)."""
    settings = settings or get_settings()
    owns_database = database is None
    if database is None:
        database = Database.open(settings)
    else:
        database.ensure_schema(settings.auto_migrate)
    db = database
    accesslog.install()

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        # The chat bots' thread pool and API clients, made here rather than at import.
        # PostgreSQL: the public lookup's async pool, on this event loop (`store.aio`).
        await db.open_async_reads()
        try:
            with (
                bots.running(settings) as app_.state.bots,
                keptpages.misses_running(misses),
                _frozen_heap(),
            ):
                yield
        finally:
            await db.close_async_reads()
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
    app.state.tracker = Tracker(db, settings)
    #: The kept item pages' renderer: its stamp names the pages this app sends (`web.keptpages`).
    app.state.kept_pages = keptpages.install(app.state.tracker, settings)
    #: The pages drawn for want of a kept one, marked due for the page keeper (`keptpages`).
    misses = keptpages.Misses(db) if app.state.kept_pages is not None else None
    app.state.page_misses = misses
    app.state.limiter = Limiter(settings.redis_url)
    #: What every answer's bytes depend on besides the item (`web.caching`).
    app.state.deploy_tag = caching.deploy_tag(settings)
    app.include_router(tracking.router)
    app.include_router(pages.item_router)  # the busiest page, matched second (`web.pages`)
    app.include_router(numbers.router)
    app.include_router(events.router)
    app.include_router(check.router)
    app.include_router(subscriptions.router)
    app.include_router(push.router)
    app.include_router(bots.router)
    # The last added is the outermost: security headers go on every response, 413s included.
    # Innermost: a public caller's plain JSON lookup, answered without the router (`lane`).
    app.add_middleware(TrackingLane)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(SecurityHeaders)
    # Outermost: everything after sees the client a trusted proxy named, not the proxy.
    app.add_middleware(ProxyHeaders, trusted=settings.trusted_proxy_networks)
    errors.install(app)
    app.include_router(branding.router)
    app.include_router(checkpage.router)
    app.include_router(subscribepages.router)
    # The app's optional sign-in and server-side list (issue 16).
    app.include_router(app_account_router)
    app.include_router(app_sign_in_router)
    app.include_router(pwa.router)  # the app: /app, the manifest, the worker, the icons
    pages.install(app)
    app.include_router(health.router)
    return app
