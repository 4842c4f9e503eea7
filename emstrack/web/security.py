"""Pure ASGI middleware: security headers on every response, and a cap on request bodies.

The policy allows nothing from other sites: every asset ships in the package. No inline script
or style either, so an injected `<script>` cannot run. (FastAPI's `/docs` and `/redoc` load
their viewers from a CDN, so the app does not serve them; `/openapi.json` is the API's document.)
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from emstrack.web.responses import ProblemResponse, problem

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)

HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_RAW = [(name.encode(), value.encode()) for name, value in HEADERS.items()]


def add_missing_headers(message: Message, pairs: Iterable[tuple[bytes, bytes]]) -> None:
    """Add `pairs` to a response-start message, except the headers the response set itself."""
    headers = list(message.get("headers", []))
    present = {name.lower() for name, _ in headers}
    headers.extend(pair for pair in pairs if pair[0].lower() not in present)
    message["headers"] = headers


class SecurityHeaders:
    """Adds `HEADERS` to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_missing_headers(message, _RAW)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyTooLarge(HTTPException):
    """A request body passed the configured size: a `413` problem, `body_too_large`.

    Starlette's `HTTPException` rather than one of `emstrack.errors`: FastAPI lets only that
    through its own body parsing unchanged. Raised while a handler reads the body, it is
    answered by `emstrack.web.errors`; refused by its `Content-Length`, before any handler,
    by `response()`.
    """

    code = "body_too_large"
    title = "The request body is too large"

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than {limit} bytes.")
        self.limit = limit
        self.hint = f"The limit is {limit} bytes."

    def response(self) -> ProblemResponse:
        return problem(413, self.code, self.title, self.hint)


class BodyLimit:
    """Refuses request bodies over `limit` bytes, declared (`Content-Length`) or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                # Refused before the handler: the body is never read.
                await BodyTooLarge(self.limit).response()(scope, receive, send)
                return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counting_receive, send)
