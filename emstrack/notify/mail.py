"""E-mail: one message (plain text and HTML), and the backends that send it.

`SmtpBackend` talks to a real server; `ConsoleBackend` prints instead, for development. Both
satisfy `MailBackend`, which is all the worker knows. Failures come out as `MailError`, whose
`retryable` says whether the same message may go through later (a busy server, a 4xx reply, a
network fault) or never will (a 5xx reply: an unknown recipient, a refused login).
"""

from __future__ import annotations

import re
import smtplib
import ssl
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr
from typing import Literal, Protocol, TextIO

from emstrack.errors import ChannelError

# Headers that build_message writes itself; a second copy from `Mail.headers` would be either
# ignored or believed, depending on the reader.
_OWN_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-language",
    }
)
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII without the colon (RFC 5322)
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_REPLY_LENGTH = 200
# Bodies in base64 or quoted-printable rather than raw UTF-8, so that no relay on the way needs
# 8BITMIME; smtplib writes the CRLF line ends itself.
_POLICY = policy.default.clone(cte_type="7bit")


@dataclass(frozen=True)
class Mail:
    """One e-mail to one person, in one language, as text and as HTML."""

    to: str
    subject: str
    text: str
    html: str
    lang: str
    headers: Mapping[str, str] = field(default_factory=dict)


class MailBackend(Protocol):
    """Something that sends a `Mail`, or raises `MailError`."""

    def send(self, mail: Mail) -> None: ...


class MailError(ChannelError):
    """The mail was not sent; `retryable` says whether sending it again later may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__("mail_not_sent", message)
        self.retryable = retryable


def build_message(mail: Mail, *, sender: str) -> EmailMessage:
    """The MIME message for `mail`: multipart/alternative, UTF-8, dated, with a Message-ID."""
    _check_header("From", sender)
    _check_header("To", mail.to)
    _check_header("Subject", mail.subject)
    addresses = getaddresses([mail.to])
    if len(addresses) != 1 or "@" not in addresses[0][1]:
        raise ValueError("To must be exactly one e-mail address.")
    if not _LANGUAGE_TAG.fullmatch(mail.lang):
        raise ValueError(f"{mail.lang!r} is not a language tag such as en or zh.")
    for name, value in mail.headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a header name.")
        if name.lower() in _OWN_HEADERS:
            raise ValueError(f"The {name} header is set by build_message, not by the caller.")
        _check_header(name, value)

    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    # The sender's domain rather than make_msgid's default, which asks DNS for our own name.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "emstrack.invalid"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(mail.text, charset="utf-8")
    message.add_alternative(mail.html, subtype="html", charset="utf-8")
    # After the content: set_content() drops every Content-* header already there.
    message["Content-Language"] = mail.lang
    for name, value in mail.headers.items():
        message[name] = value
    return message


class ConsoleBackend:
    """Prints each mail (headers, then every part decoded) instead of sending it."""

    def __init__(self, *, sender: str = "emstrack@localhost", stream: TextIO | None = None) -> None:
        self._sender = sender
        self._stream = stream

    def send(self, mail: Mail) -> None:
        message = build_message(mail, sender=self._sender)
        # Looked up at send time, so that a test's or a CLI's replaced stdout is honoured.
        stream = self._stream or sys.stdout
        lines = [f"{name}: {value}" for name, value in message.items()]
        for part in message.iter_parts():
            lines += ["", f"--- {part.get_content_type()} ---", str(part.get_content()).rstrip()]
        stream.write("\n".join(lines) + "\n" + "=" * 72 + "\n")
        stream.flush()


class SmtpBackend:
    """Sends through an SMTP server: plain, STARTTLS or implicit TLS, with optional login."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        security: Literal["none", "starttls", "tls"] = "starttls",
        username: str = "",
        password: str = "",
        timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"security must be none, starttls or tls, not {security!r}.")
        if username and security == "none":
            raise ValueError(
                "A password would cross the network in the clear: "
                "use security starttls or tls with a username."
            )
        _check_header("From", sender)
        self.host = host
        self.port = port
        self.sender = sender
        self.security = security
        self.username = username
        self._password = password
        self.timeout = timeout
        self._ssl_context = ssl_context

    def __repr__(self) -> str:
        return (
            f"SmtpBackend(host={self.host!r}, port={self.port}, sender={self.sender!r}, "
            f"security={self.security!r}, username={self.username!r}, "
            f"password={'***' if self._password else ''!r})"
        )

    def send(self, mail: Mail) -> None:
        message = build_message(mail, sender=self.sender)
        context = self._ssl_context or ssl.create_default_context()
        try:
            smtp = (
                smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
                if self.security == "tls"
                else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            )
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self._password)
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            # One recipient only, so its reply is the reply.
            code, reply = next(iter(exc.recipients.values()))
            raise self._reply_error(code, reply) from None
        except smtplib.SMTPResponseException as exc:
            raise self._reply_error(exc.smtp_code, exc.smtp_error) from None
        except smtplib.SMTPServerDisconnected as exc:
            raise MailError(f"The SMTP server hung up: {exc}", retryable=True) from exc
        except smtplib.SMTPException as exc:
            # What is left is about what the server offers (no STARTTLS, no AUTH method we
            # know): a setting to fix, not a moment to wait for.
            raise MailError(self._scrub(f"SMTP: {exc}"), retryable=False) from None
        except OSError as exc:
            # Refused, unreachable, timed out, TLS failed: most often passing, and if not, the
            # operator sees the same error on every attempt.
            raise MailError(
                f"Cannot reach the SMTP server {self.host}:{self.port}: {exc}", retryable=True
            ) from exc

    def _reply_error(self, code: int, reply: bytes | str) -> MailError:
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
        text = " ".join(text.split())[:_REPLY_LENGTH]
        return MailError(self._scrub(f"SMTP {code}: {text}"), retryable=400 <= code < 500)

    def _scrub(self, text: str) -> str:
        # A server may echo what it was sent: neither the password nor a recipient's address
        # may reach a log or the outbox's `last_error` through us.
        if self._password:
            text = text.replace(self._password, "***")
        return _ADDRESS.sub(lambda m: m[1][:1] + "***@" + m[2], text)


_ADDRESS = re.compile(r"([^\s<>@\"']+)@([A-Za-z0-9.-]+)")


def _check_header(name: str, value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError(f"The {name} header must be one line: it contains a line break.")
