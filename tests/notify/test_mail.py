"""E-mail through a real SMTP server on loopback (aiosmtpd): plain, STARTTLS, TLS, login."""

from __future__ import annotations

import io
import socket
import ssl
from collections.abc import Iterator
from dataclasses import replace
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from emstrack.notify.mail import (
    ConsoleBackend,
    Mail,
    MailBackend,
    MailError,
    SmtpBackend,
    build_message,
)

SENDER = "Emstrack <track@emstrack.test>"
USERNAME = "emstrack"
PASSWORD = "s3cret-Pa55word"

NOTICE = Mail(
    to="李雷 <li.lei@example.cn>",
    subject="您的邮件 EE123456785CN 已妥投",
    text="您好，\n\n您的邮件 EE123456785CN 已于 11 月 7 日 11:45 在柏林妥投。\n",
    html="<p>您好，</p><p>您的邮件 <b>EE123456785CN</b> 已于 11 月 7 日 11:45 在柏林妥投。</p>",
    lang="zh",
    headers={"List-Unsubscribe": "<https://track.example.org/unsubscribe/k7Qx>"},
)

_PLAIN = Mail(to="a@example.cn", subject="Hello", text="Hello", html="<p>Hello</p>", lang="en")


class Mailbox:
    """An aiosmtpd handler that keeps what it accepts, and refuses two kinds of recipient."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.startswith("busy@"):
            return "451 4.2.1 Mailbox busy, try again later"
        if address.startswith("nobody@"):
            # Servers often name the address they refuse.
            return f"550 5.1.1 <{address}>: No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == LoginPassword(
        USERNAME.encode(), PASSWORD.encode()
    )
    # handled=False: aiosmtpd then answers 235 or 535 itself.
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    # aiosmtpd's Controller connects to its own port once started, so it cannot take port 0.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


Mode = Literal["plain", "starttls", "tls", "auth"]


class Server:
    def __init__(self, mailbox: Mailbox, port: int) -> None:
        self.mailbox = mailbox
        self.port = port


def _start(mode: Mode, server_context: ssl.SSLContext) -> Iterator[Server]:
    mailbox = Mailbox()
    options: dict[str, Any] = {}
    if mode in ("starttls", "auth"):
        options.update(tls_context=server_context, require_starttls=True)
    if mode == "tls":
        options.update(ssl_context=server_context)
    if mode == "auth":
        options.update(authenticator=_authenticate, auth_required=True)
    port = _free_port()
    # server_hostname: otherwise aiosmtpd asks DNS for this machine's name.
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, server_hostname="mail.test", **options
    )
    controller.start()
    try:
        yield Server(mailbox, port)
    finally:
        controller.stop()


@pytest.fixture
def plain(server_context: ssl.SSLContext) -> Iterator[Server]:
    yield from _start("plain", server_context)


@pytest.fixture
def starttls(server_context: ssl.SSLContext) -> Iterator[Server]:
    yield from _start("starttls", server_context)


@pytest.fixture
def tls(server_context: ssl.SSLContext) -> Iterator[Server]:
    yield from _start("tls", server_context)


@pytest.fixture
def auth(server_context: ssl.SSLContext) -> Iterator[Server]:
    yield from _start("auth", server_context)


def _backend(server: Server, **options: Any) -> SmtpBackend:
    options.setdefault("security", "none")
    return SmtpBackend(host="127.0.0.1", port=server.port, sender=SENDER, timeout=5, **options)


def test_the_backends_satisfy_the_protocol(plain: Server) -> None:
    # The one thing the worker asks of a backend: `send` delivers the mail, each in its way.
    printed = io.StringIO()
    backends: list[MailBackend] = [ConsoleBackend(stream=printed), _backend(plain)]
    for backend in backends:
        backend.send(NOTICE)

    assert f"Subject: {NOTICE.subject}" in printed.getvalue()
    [(recipients, message)] = plain.mailbox.messages
    assert recipients == ["li.lei@example.cn"]
    assert message["Subject"] == NOTICE.subject


def test_a_mail_arrives_as_text_and_html_in_utf8(plain: Server) -> None:
    _backend(plain).send(NOTICE)

    [(recipients, message)] = plain.mailbox.messages
    assert recipients == ["li.lei@example.cn"]
    assert message["Subject"] == NOTICE.subject
    assert message["To"] == NOTICE.to
    assert message["From"] == SENDER
    assert message["Content-Language"] == "zh"
    assert message["List-Unsubscribe"] == "<https://track.example.org/unsubscribe/k7Qx>"
    assert message["Message-ID"].endswith("@emstrack.test>")
    assert message["Date"].datetime.tzinfo is not None
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.iter_parts()
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    assert (text.get_content_type(), text.get_content_charset()) == ("text/plain", "utf-8")
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    assert text.get_content() == NOTICE.text
    assert html.get_content() == NOTICE.html + "\n"


def test_the_body_is_7bit_clean_so_no_relay_needs_8bitmime() -> None:
    raw = build_message(NOTICE, sender=SENDER).as_bytes()

    assert raw.isascii()


def test_starttls_with_a_trusted_certificate(
    starttls: Server, client_context: ssl.SSLContext
) -> None:
    _backend(starttls, security="starttls", ssl_context=client_context).send(NOTICE)

    assert len(starttls.mailbox.messages) == 1


def test_starttls_refuses_a_certificate_it_does_not_trust(starttls: Server) -> None:
    with pytest.raises(MailError) as failed:
        _backend(starttls, security="starttls").send(NOTICE)

    assert failed.value.retryable
    assert "CERTIFICATE_VERIFY_FAILED" in str(failed.value)
    assert starttls.mailbox.messages == []


def test_starttls_is_not_silently_dropped_when_the_server_lacks_it(
    plain: Server, client_context: ssl.SSLContext
) -> None:
    with pytest.raises(MailError) as failed:
        _backend(plain, security="starttls", ssl_context=client_context).send(NOTICE)

    assert not failed.value.retryable
    assert "STARTTLS" in str(failed.value)
    assert plain.mailbox.messages == []


def test_implicit_tls(tls: Server, client_context: ssl.SSLContext) -> None:
    _backend(tls, security="tls", ssl_context=client_context).send(NOTICE)

    assert len(tls.mailbox.messages) == 1


def test_login_over_starttls(auth: Server, client_context: ssl.SSLContext) -> None:
    backend = _backend(
        auth,
        security="starttls",
        ssl_context=client_context,
        username=USERNAME,
        password=PASSWORD,
    )
    backend.send(NOTICE)

    assert len(auth.mailbox.messages) == 1
    assert PASSWORD not in repr(backend)


def test_a_wrong_password_is_final_and_never_shown(
    auth: Server, client_context: ssl.SSLContext
) -> None:
    backend = _backend(
        auth,
        security="starttls",
        ssl_context=client_context,
        username=USERNAME,
        password=PASSWORD + "-old",
    )
    with pytest.raises(MailError) as failed:
        backend.send(NOTICE)

    assert not failed.value.retryable
    assert str(failed.value).startswith("SMTP 535")
    for shown in (str(failed.value), repr(failed.value), repr(backend)):
        assert PASSWORD not in shown
    assert failed.value.__cause__ is None
    assert failed.value.__suppress_context__


def test_without_login_the_server_refuses(auth: Server, client_context: ssl.SSLContext) -> None:
    with pytest.raises(MailError) as failed:
        _backend(auth, security="starttls", ssl_context=client_context).send(NOTICE)

    assert not failed.value.retryable
    assert str(failed.value).startswith("SMTP 530")


def test_a_password_is_never_sent_in_the_clear() -> None:
    with pytest.raises(ValueError, match="in the clear"):
        SmtpBackend(
            host="127.0.0.1", port=25, sender=SENDER, security="none", username="u", password="p"
        )


@pytest.mark.parametrize(
    ("to", "code", "retryable"),
    [("busy@example.cn", 451, True), ("nobody@example.cn", 550, False)],
)
def test_refused_recipients(plain: Server, to: str, code: int, retryable: bool) -> None:
    mail = replace(_PLAIN, to=to)
    with pytest.raises(MailError) as failed:
        _backend(plain).send(mail)

    assert failed.value.retryable is retryable
    assert str(failed.value).startswith(f"SMTP {code}")
    # The error goes to logs and to the outbox: never the recipient's whole address.
    assert to not in str(failed.value)
    assert plain.mailbox.messages == []


def test_nothing_listening_is_retryable() -> None:
    backend = SmtpBackend(host="127.0.0.1", port=_free_port(), sender=SENDER, security="none")
    with pytest.raises(MailError) as failed:
        backend.send(NOTICE)

    assert failed.value.retryable
    assert "Cannot reach the SMTP server" in str(failed.value)


def test_the_console_backend_prints_the_whole_mail_readably() -> None:
    out = io.StringIO()
    ConsoleBackend(sender=SENDER, stream=out).send(NOTICE)

    printed = out.getvalue()
    assert f"Subject: {NOTICE.subject}" in printed
    assert f"To: {NOTICE.to}" in printed
    assert "Content-Language: zh" in printed
    assert "List-Unsubscribe: <https://track.example.org/unsubscribe/k7Qx>" in printed
    assert "--- text/plain ---" in printed
    assert "在柏林妥投" in printed
    assert "--- text/html ---\n<p>您好，</p>" in printed


def test_the_console_backend_writes_to_stdout_by_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    ConsoleBackend().send(NOTICE)

    assert "在柏林妥投" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"to": "a@example.cn\r\nBcc: victim@example.com"}, "must be one line"),
        ({"subject": "Hi\nBcc: victim@example.com"}, "must be one line"),
        ({"headers": {"List-Unsubscribe": "<https://x>\r\nBcc: v@example.com"}}, "one line"),
        ({"lang": "en\nBcc: victim@example.com"}, "not a language tag"),
        ({"headers": {"Bcc": "victim@example.com"}}, "set by build_message"),
        ({"headers": {"Subject": "Other"}}, "set by build_message"),
        ({"headers": {"X-A: b": "c"}}, "not a header name"),
        ({"to": "a@example.cn, b@example.cn"}, "exactly one e-mail address"),
        ({"to": "not an address"}, "exactly one e-mail address"),
    ],
)
def test_header_injection_and_extra_recipients_are_refused(
    changes: dict[str, Any], reason: str
) -> None:
    mail = replace(_PLAIN, **changes)
    with pytest.raises(ValueError, match=reason):
        build_message(mail, sender=SENDER)
    with pytest.raises(ValueError, match=reason):
        ConsoleBackend(stream=io.StringIO()).send(mail)
