"""The error tree of emstrack: every exception the project raises on purpose.

    EmstrackError               a stable `code`, a `message` for people, a `hint`   the web answers
    ├── InputError              what we were given cannot be used                              422
    │   ├── RecordError         ingest.records: an event record, with every reason
    │   ├── TimeParseError      domain.times: a time or a UTC offset we cannot read
    │   ├── TokenError          notify.tokens: a link's token, malformed, forged or too old
    │   ├── UnsafeURL           notify.webhook: a webhook URL we will not call
    │   └── CrossSiteForm       web.csrf: a page's form sent from another site                 403
    ├── NotConfigured           the operator has not set up what this needs                    503
    ├── DatabaseError           the database cannot serve us, or needs an operator first       503
    │   └── DatabaseUnavailable   not now: gone, locked, read-only, disk full     503, Retry-After
    ├── LimitError              a limit refuses the request for `retry_after` seconds
    │   ├── TooManyTries        web.unlock: a number's postcode tries are used up 429, Retry-After
    │   └── LimitUnavailable    web.ratelimit: a strict limit cannot be counted   503, Retry-After
    ├── ChannelError            a mail or chat service; `retryable`: may the same call succeed later
    │   ├── MailError           notify.mail: a mail that was not sent
    │   ├── TelegramError       channels.telegram: a Bot API call failed, an update we cannot read
    │   ├── WeChatAPIError      channels.wechat: a WeChat API call refused or not reaching it
    │   └── WeChatError         channels.wechat: a callback we refuse (signature, XML, key)
    └── ApiProblem              web.errors: a route's own refusal             its status, headers

Each error carries what is needed to say it three ways: `emstrack.web.errors` answers it by one
table (problem+json for API clients, the error page for browsers), the CLI prints `str(error)`
(message and hint) on one line, the bots answer with its message. A `ChannelError` is handled
where it happens (the bots answer WeChat or Telegram in their own protocol, the outbox retries
or gives up); one that reached the web would be a bug, answered 500.

Foreign exceptions are mapped onto these at the boundary where they happen, so the layers above
see only these: the database drivers' in `emstrack.store.errors`, the HTTP clients' in the
channels' clients, a parser's where a file, a message or a time is read.

Outside the tree on purpose: `web.security.BodyTooLarge` (413 `body_too_large`) is Starlette's
`HTTPException`, the only kind FastAPI lets through its parsing of a request body. Python's own
`ValueError`, `TypeError` and `RuntimeError` mean that a caller broke a function's contract, or
that a state which cannot happen came about (a naive `now` for the demo, a Telegram text limit
too small to split at, a demo generator that stopped): bugs to fix, not answers to give.
Pydantic's `ValidationError` says that settings or a request body are not valid (our validators
raise `ValueError` inside it, as pydantic asks): the web answers a request's as 422
`bad_request`, the CLI a bad setting as one line and exit status 2. And two that are no errors:
the `SystemExit` of `store/migrations/env.py` run by hand, and `_Refused` of
`channels.wechat.replay`, which only rolls a unit of work back and never leaves its module.
"""

from __future__ import annotations


class EmstrackError(Exception):
    """Base of our errors: a stable `code`, a sentence for people, an optional hint."""

    def __init__(self, code: str, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InputError(EmstrackError):
    """The input cannot be used as it is."""


class NotConfigured(EmstrackError):
    """This needs a setting the operator has not made (a secret key, a channel's credentials)."""


class DatabaseError(EmstrackError):
    """The database cannot serve us right now, or needs an operator's action first."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot serve us now: the message says why, the hint what an operator can do.

    Made from the driver's error by `emstrack.store.errors`; never carries the driver's text,
    which can hold the URL, paths, SQL or the statement's values.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__("database_unavailable", message, hint)


class LimitError(EmstrackError):
    """A limit refuses the request; it may be tried again after `retry_after` seconds."""

    def __init__(self, code: str, message: str, retry_after: int, hint: str | None = None) -> None:
        super().__init__(code, message, hint)
        self.retry_after = retry_after


class ChannelError(EmstrackError):
    """A mail or chat service failed us or sent what we refuse; `retryable` says whether the
    same call may succeed later."""

    retryable: bool = False
