"""One sender per channel, behind one small `Sender` protocol: all the worker knows.

A sender never raises for the far side's faults: it returns a `Result` saying whether the notice
went out, and if not, whether trying again later may help. Foreign errors are mapped at that
boundary, by each sender.

The webhook, e-mail and web push senders are here. The chat bots' senders (WeChat, Telegram)
live with their clients in `emstrack.channels` and are handed to the worker by whoever composes
it (the `emstrack worker` command), so that this package never imports the channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from emstrack.config import Settings
from emstrack.domain.lang import Lang
from emstrack.notify import messages, tokens, webpush
from emstrack.notify.mail import ConsoleBackend, MailBackend, MailError, SmtpBackend
from emstrack.notify.webhook import WebhookPoster
from emstrack.store.database import Database
from emstrack.store.outbox import OutboxRow
from emstrack.store.push import endpoint_row


@dataclass(frozen=True, slots=True)
class Result:
    """The outcome of one attempt; `retry_after` is the far side's own wait, in seconds."""

    ok: bool
    retryable: bool = False
    error: str | None = None
    retry_after: float | None = None


SENT = Result(ok=True)


class Sender(Protocol):
    """Delivers one notice, in `lang` (the subscription's) where it has words for people; never
    raises for a failure of the far side."""

    def send(self, row: OutboxRow, *, lang: Lang = "en") -> Result: ...

    def close(self) -> None:
        """Let go of connections."""


class WebhookSender:
    """Signed JSON POSTs; the secret is derived from the subscription, the event id is the row's."""

    def __init__(self, settings: Settings, poster: WebhookPoster | None = None) -> None:
        self._settings = settings
        self._owns = poster is None
        self._poster = poster or WebhookPoster(
            timeout=settings.notify_webhook_timeout_seconds,
            allow_private=settings.notify_allow_private_urls,
        )

    def send(self, row: OutboxRow, *, lang: Lang = "en") -> Result:
        secret = tokens.webhook_secret(
            self._settings.secret_key.get_secret_value(), row.subscription_id
        )
        body = messages.webhook_body(row, self._settings)
        delivery = self._poster.send(row.target, secret, row.id, body)
        return Result(delivery.ok, delivery.retryable, delivery.error, delivery.retry_after)

    def close(self) -> None:
        if self._owns:
            self._poster.close()


class EmailSender:
    """Multipart e-mails through `backend`: SMTP when `smtp_host` is set, else the console."""

    def __init__(self, settings: Settings, backend: MailBackend | None = None) -> None:
        self._settings = settings
        self._backend = backend or mail_backend(settings)

    def send(self, row: OutboxRow, *, lang: Lang = "en") -> Result:
        try:
            self._backend.send(messages.mail(row, self._settings, lang))
        except MailError as exc:
            return Result(False, exc.retryable, exc.message)
        except ValueError as exc:
            # build_message refused the mail (an address it cannot write to): final.
            return Result(False, False, str(exc))
        return SENT

    def close(self) -> None:
        pass  # SmtpBackend connects per mail


# Settings checks the value against this list.
_SECURITY: dict[str, Literal["none", "starttls", "tls"]] = {
    "none": "none",
    "starttls": "starttls",
    "tls": "tls",
}


def mail_backend(settings: Settings, *, timeout: float = 10.0) -> MailBackend:
    """The configured way to send mail: the SMTP server (each attempt bounded by `timeout`
    seconds), else the console."""
    if not settings.smtp_host:
        return ConsoleBackend(sender=settings.mail_from)
    return SmtpBackend(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        security=_SECURITY[settings.smtp_security],
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value(),
        timeout=timeout,
    )


class WebPushSender:
    """Sealed, VAPID-signed pushes to a browser's push service (`notify.webpush`); the endpoint
    and its keys are read from `push_endpoints` at each send. A push service that says the
    endpoint is gone (404, 410) ends it and every subscription on it."""

    def __init__(
        self, settings: Settings, db: Database, poster: WebhookPoster | None = None
    ) -> None:
        self._settings = settings
        self._db = db
        self._owns = poster is None
        self._poster = poster or WebhookPoster(
            timeout=settings.notify_webhook_timeout_seconds,
            allow_private=settings.notify_allow_private_urls,
            user_agent="emstrack-webpush/1",
        )
        self._signed = webpush.Signatures()

    def send(self, row: OutboxRow, *, lang: Lang = "en") -> Result:
        with self._db.read() as unit:
            endpoint = endpoint_row(unit, row.target)
        if endpoint is None or endpoint.ended_at is not None:
            return Result(False, False, "the browser's push subscription is gone")
        body = webpush.seal(messages.push_payload(row, lang), endpoint.p256dh, endpoint.auth)
        headers = webpush.headers(endpoint.endpoint, row.number, self._settings, self._signed)
        delivery = self._poster.post(endpoint.endpoint, headers, body)
        if delivery.status in (404, 410):
            ended = webpush.end_gone(self._db, endpoint.id)
            return Result(
                False,
                False,
                f"HTTP {delivery.status}: the browser's push subscription is gone; "
                f"{ended} subscription{'s' if ended != 1 else ''} on it ended",
            )
        return Result(delivery.ok, delivery.retryable, delivery.error, delivery.retry_after)

    def close(self) -> None:
        if self._owns:
            self._poster.close()


def senders_for(settings: Settings, db: Database | None = None) -> dict[str, Sender]:
    """The senders of this package's channels (webhook, e-mail, and web push when it is
    configured and a database to read the browsers' keys from is given), from `settings`."""
    made: dict[str, Sender] = {"webhook": WebhookSender(settings), "email": EmailSender(settings)}
    if settings.webpush_enabled and db is not None:
        made["webpush"] = WebPushSender(settings, db)
    return made
