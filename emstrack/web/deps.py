"""Dependencies of the handlers, as `Annotated` aliases so handlers read like prose."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from emstrack import keys
from emstrack.config import Settings
from emstrack.keys import KeyScope
from emstrack.lookup import Allowance, Tracker
from emstrack.store.database import Database
from emstrack.store.keys import KeyRow
from emstrack.web.clients import limit_key
from emstrack.web.errors import ApiProblem
from emstrack.web.ratelimit import Limiter

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="An operator's key from `emstrack keys create`, as `Authorization: Bearer KEY`.",
)


async def _database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


DatabaseDep = Annotated[Database, Depends(_database)]


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: a client address, and the operator's key when one was sent."""

    address: str
    key: KeyRow | None = None

    def may(self, scope: KeyScope) -> bool:
        return self.key is not None and KeyScope(self.key.scope).allows(scope)

    @property
    def private(self) -> bool:
        """May see the personal fields of a lookup."""
        return self.may(KeyScope.READ_PRIVATE)


def client_address(request: Request) -> str:
    """The client's bucket for per-address limits: its IPv4 address or its IPv6 network."""
    settings: Settings = request.app.state.settings
    host = request.client.host if request.client else "unknown"
    return limit_key(host, settings.rate_limit_ipv6_prefix)


def _invalid_key(address: str, request: Request) -> ApiProblem:
    # A wrong key still costs the address a hit, so keys cannot be tried for free.
    charge(request, Caller(address))
    return ApiProblem(
        401,
        "invalid_key",
        "The API key is missing, unknown or revoked",
        "Send an operator's key as `Authorization: Bearer KEY`.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


async def _caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    address = client_address(request)
    if credentials is None:
        if "authorization" in request.headers:  # present, but not a Bearer token
            raise _invalid_key(address, request)
        return Caller(address)
    db: Database = request.app.state.db
    # In a thread even on SQLite: noting `last_used_at` is a write, which may wait for the lock.
    key = await run_in_threadpool(keys.authenticate, db, credentials.credentials)
    if key is None:
        raise _invalid_key(address, request)
    return Caller(address, key)


CallerDep = Annotated[Caller, Depends(_caller)]


def public_tracker(state: Any) -> Tracker:
    """The tracker of lookups anyone may make (a page, the public API, a chat): on a read
    replica where there are any (`Database.read(replica_ok=True)`), else the app's own."""
    tracker: Tracker = state.tracker
    if not tracker.db.has_replicas:
        return tracker
    public: Tracker | None = getattr(state, "public_tracker", None)
    if public is None or public.db is not tracker.db:
        public = state.public_tracker = tracker.reading(tracker.db, replica_ok=True)
    return public


def lookups(request: Request, caller: Caller) -> Tracker:
    """The tracker for `caller`'s requests: where read replicas are configured, a public
    caller's lookups read from one; a key's lookups too, unless the key wrote lately (within
    the replicas' allowed lag and one check interval: read-your-writes), and what it writes
    through this tracker's database is noted for that. Everything else reads the primary."""
    tracker: Tracker = request.app.state.tracker
    db = tracker.db
    if not db.has_replicas:
        return tracker
    if caller.key is None:
        return public_tracker(request.app.state)
    writer = f"key:{caller.key.id}"
    return tracker.reading(db.written_by(writer), replica_ok=not db.wrote_lately(writer))


# The dependencies are `async def` although they never wait: FastAPI runs a plain `def` one
# in a worker thread, and that hand-off costs more than a whole lookup.
async def _tracker(request: Request, caller: CallerDep) -> Tracker:
    return lookups(request, caller)


TrackerDep = Annotated[Tracker, Depends(_tracker)]


def require(caller: Caller, scope: KeyScope) -> None:
    """Refuse a caller without a key (401) or whose key lacks `scope` (403)."""
    if caller.key is None:
        raise ApiProblem(
            401,
            "invalid_key",
            "An API key is needed",
            "Send an operator's key as `Authorization: Bearer KEY`.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not caller.may(scope):
        raise ApiProblem(
            403,
            "insufficient_scope",
            "The API key does not allow this",
            f"This needs a key with the scope `{scope.value}` or `admin`.",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
        )


def _bucket(settings: Settings, caller: Caller) -> tuple[str, str]:
    """The caller's counter and its limit: per key, else per address."""
    if caller.key is not None:
        return f"key:{caller.key.id}", settings.rate_limit_key
    return f"addr:{caller.address}", settings.rate_limit


def charge(request: Request, caller: Caller, cost: int = 1) -> None:
    """Count `cost` requests against the caller's limit: per key, else per address.

    A key's limit fails closed (`LimitUnavailable`, a 503) when the counters cannot be reached:
    a key reaches private details and writes. An address's lets lookups through.
    """
    settings: Settings = request.app.state.settings
    limiter: Limiter = request.app.state.limiter
    key, limit = _bucket(settings, caller)
    state = limiter.check(key, limit, cost, strict=caller.key is not None)
    request.state.ratelimit = state
    if not state.allowed:
        raise ApiProblem(
            429,
            "rate_limited",
            "Too many requests",
            f"Please try again in {state.reset} seconds.",
            headers={"Retry-After": str(state.reset), **state.headers()},
        )


def allowance(request: Request, caller: Caller) -> Allowance:
    """How many "did you mean" checks the caller's limit still covers, taken as they are made.

    Each candidate checked against the records tells whether that number exists, so it costs
    one like a lookup; a request is never refused for them: the candidates past what is left
    are simply not checked (and not shown).
    """
    settings: Settings = request.app.state.settings
    limiter: Limiter = request.app.state.limiter
    key, limit = _bucket(settings, caller)
    return partial(limiter.take, key, limit)
