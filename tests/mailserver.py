"""A real SMTP server on loopback (aiosmtpd) for the tests that send mail: what it accepted."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def wait(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The first `count` messages, waiting for them to come in (sent in the background)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.messages) >= count, f"{len(self.messages)} mails, not {count}"
        return self.messages[:count]


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    """A plain SMTP server on a free loopback port: its mailbox and its port."""
    with socket.socket() as sock:  # aiosmtpd connects to its own port: it cannot take port 0
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, server_hostname="localhost")
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def parts(message: EmailMessage) -> dict[str, str]:
    """A message's parts by content type, decoded."""
    return {part.get_content_type(): str(part.get_content()) for part in message.iter_parts()}
