"""HTTP caching of public answers and pages: strong `ETag`s, `Cache-Control`, `Vary`, `304`.

A found item's public answer (`GET /api/v1/tracking/{n}`) and page (`GET /track/{n}`) carry a
strong `ETag` made from everything their bytes depend on:

- the item's rows: the read model's validator (`store.answers`: the number's version, bumped at
  every write of its items or events, and when that row was written);
- the request's choices: the language, the scope, the kind of caller (with or without a key);
- the deploy (`deploy_tag`): the package's version, its templates, static files, catalogues and
  data files (operators, contacts, the brand), the brand file in use, and the settings (secrets
  only as set or not): another release, brand or configuration is another tag;
- a page only: the minute its relative times ("3 hours ago", "Last scan …", the stale notice)
  are reckoned to (`page_clock`: now, rounded up to the next whole minute).

So a tag names exactly one body, and `If-None-Match` with it is answered `304` (on the API
before the answer is even built). They are `Cache-Control: public, max-age=EMSTRACK_CACHE_MAX_AGE,
stale-while-revalidate=EMSTRACK_CACHE_STALE_WHILE_REVALIDATE` with `Vary: Authorization` (the
API's language is in its URL) or `Vary: Accept-Language, Cookie` (a page's language comes from
the URL, the language cookie, then `Accept-Language`). Answers that found no item (not found
yet, unknown, invalid) are cacheable briefly (`EMSTRACK_CACHE_NOT_FOUND_MAX_AGE`): a first scan
may come any minute; their tag is a hash of their bytes. Private answers (a `read_private` key,
a proven postcode) are `private, no-store`, without a tag; so is the batch `POST`.

A page is the same bytes for every browser, its forms included (they carry no token: a form
sent from another site is refused by the browser's own headers, `web.csrf`), so a shared cache
may keep it; only the answer that sets the language cookie (`?lang=`) is `private, no-store`.

Every request, a `304` included, is counted by the rate limiter before it is answered: a
conditional request still tells whether the number is on record, so it pays like any other.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import Response

import emstrack
from emstrack.config import Settings

API_VARY: Final = "Authorization"
PAGE_VARY: Final = "Accept-Language, Cookie"
PRIVATE: Final = "private, no-store"
#: The batch lookup and other answers no cache may keep.
NO_STORE: Final = "no-store"

#: What a page's bytes are made of besides the item: where the package keeps them.
_PACKAGE_PARTS = ("web/templates", "web/static", "locale", "data")


def deploy_tag(settings: Settings) -> str:
    """A short hash of what every answer's bytes depend on besides the item and the request."""
    digest = hashlib.blake2b(digest_size=12)
    digest.update(emstrack.__version__.encode())
    digest.update(settings.model_dump_json().encode())  # secrets dump as '**********'
    root = Path(str(resources.files("emstrack")))
    for part in _PACKAGE_PARTS:
        for path in sorted((root / part).rglob("*")):
            if path.is_file() and path.suffix != ".pyc":
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    if settings.brand_file:
        brand = Path(settings.brand_file)
        for path in (brand, *sorted(brand.parent.glob("*"))) if brand.is_file() else ():
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


def etag(*parts: str) -> str:
    """A strong entity tag of `parts`."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()
    return f'"{digest}"'


def body_etag(body: bytes) -> str:
    """A strong entity tag of a body's bytes."""
    return f'"{hashlib.blake2b(body, digest_size=12).hexdigest()}"'


def matches(request: Request, tag: str) -> bool:
    """`If-None-Match` names `tag` (or is `*`): the client holds that body (RFC 9110 §13.1.2,
    weak comparison)."""
    header = request.headers.get("if-none-match")
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == tag:
            return True
    return False


def public(settings: Settings, *, found: bool) -> str:
    """`Cache-Control` of a public answer: a found item's, or briefly one that found none."""
    if not found:
        return f"public, max-age={settings.cache_not_found_max_age}"
    return (
        f"public, max-age={settings.cache_max_age}, "
        f"stale-while-revalidate={settings.cache_stale_while_revalidate}"
    )


def mark(response: Response, tag: str | None, cache_control: str, vary: str) -> Response:
    """Put the caching headers on `response`."""
    if tag is not None:
        response.headers["ETag"] = tag
    response.headers["Cache-Control"] = cache_control
    response.headers["Vary"] = vary
    return response


def not_modified(tag: str, cache_control: str, vary: str) -> Response:
    """`304 Not Modified` for `tag`, with the headers the full answer would have had."""
    return Response(
        status_code=304, headers={"ETag": tag, "Cache-Control": cache_control, "Vary": vary}
    )


def page_clock(now: datetime | None = None) -> datetime:
    """The instant a page's relative times are reckoned from: now, rounded up to the next whole
    minute, so that a page's bytes stay the same for a minute (and its tag names them)."""
    now = now or datetime.now(UTC)
    whole = now.replace(second=0, microsecond=0)
    return whole if whole == now else whole + timedelta(minutes=1)
