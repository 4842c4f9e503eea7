"""`emstrack consume`: scan events from NATS JetStream or RabbitMQ (`emstrack.ingest.broker`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Annotated

import typer
from rich.markup import escape

from emstrack.cli import _common
from emstrack.errors import EmstrackError
from emstrack.ingest import broker, profiles
from emstrack.ingest.broker import (
    AmqpOptions,
    AmqpTransport,
    Counts,
    NatsOptions,
    NatsTransport,
    Transport,
)

#: Seconds between two lines of counts while messages keep coming.
_REPORT_EVERY = 10.0


def consume(
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            envvar="EMSTRACK_CONSUME_FROM",
            help="The broker: nats://HOST:4222 (NATS JetStream) or amqp://USER:PASSWORD@HOST/ "
            "(RabbitMQ).",
        ),
    ],
    subject: Annotated[
        str,
        typer.Option(envvar="EMSTRACK_CONSUME_SUBJECT", help="NATS: the subjects of events."),
    ] = broker.DEFAULT_SUBJECT,
    stream: Annotated[
        str,
        typer.Option(
            envvar="EMSTRACK_CONSUME_STREAM",
            help="NATS: the JetStream stream (created for --subject when missing).",
        ),
    ] = broker.DEFAULT_STREAM,
    durable: Annotated[
        str,
        typer.Option(
            envvar="EMSTRACK_CONSUME_DURABLE",
            help="NATS: the durable consumer's name, shared by every process that consumes.",
        ),
    ] = broker.DEFAULT_DURABLE,
    queue: Annotated[
        str, typer.Option(envvar="EMSTRACK_CONSUME_QUEUE", help="RabbitMQ: the events queue.")
    ] = broker.DEFAULT_QUEUE,
    dead_letter: Annotated[
        str | None,
        typer.Option(
            envvar="EMSTRACK_CONSUME_DEAD_LETTER",
            help="Where bad messages go: a NATS subject (default emstrack.deadletter.events) or "
            "a RabbitMQ queue (default QUEUE.deadletter).",
        ),
    ] = None,
    profile: Annotated[
        str,
        typer.Option(
            envvar="EMSTRACK_CONSUME_PROFILE",
            help="Source profile of events that name none: a built-in name or a .toml file.",
        ),
    ] = profiles.DEFAULT,
    batch: Annotated[
        int,
        typer.Option(
            min=1,
            max=1000,
            envvar="EMSTRACK_CONSUME_BATCH",
            help="Messages fetched at once (NATS) or RabbitMQ's prefetch.",
        ),
    ] = 10,
    ack_wait: Annotated[
        float,
        typer.Option(
            min=1,
            envvar="EMSTRACK_CONSUME_ACK_WAIT",
            help="NATS: seconds before a message not acknowledged is delivered again "
            "(when the consumer is created).",
        ),
    ] = 60.0,
    max_deliver: Annotated[
        int,
        typer.Option(
            min=-1,
            envvar="EMSTRACK_CONSUME_MAX_DELIVER",
            help="NATS: deliveries of one message at most, -1 without limit (when the consumer "
            "is created).",
        ),
    ] = -1,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only problems.")] = False,
) -> None:
    """Store scan events from a message broker until stopped (SIGTERM or Ctrl-C: the message
    being stored is finished and acknowledged, then exit 0).

    Each message is one event object or a JSON array of them, in the import's fields. A
    message is acknowledged only once its events are committed; a bad one goes to the dead
    letters with its reason; when the database is down, messages go back to the broker."""
    try:
        kind = broker.scheme(from_)
        chosen = profiles.load(profile)
    except EmstrackError as exc:
        _common.fail(str(exc))
    if kind == "nats":
        options = NatsOptions(
            url=from_,
            subject=subject,
            stream=stream,
            durable=durable,
            dead_letter=dead_letter or broker.DEFAULT_NATS_DEAD_LETTER,
            ack_wait=ack_wait,
            max_deliver=max_deliver,
        )
        where = f"NATS subject {subject} (stream {stream}, consumer {durable})"
    else:
        amqp = AmqpOptions(url=from_, queue=queue, dead_letter=dead_letter or "", prefetch=batch)
        where = f"RabbitMQ queue {queue}"
    settings = _common.settings()
    logging.basicConfig(level=logging.ERROR)
    reporter = _Reporter(quiet)
    with _common.database(settings) as db:
        handler = broker.message_handler(db, settings, chosen)

        async def main() -> Counts:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, stop.set)
            transport: Transport
            if kind == "nats":
                transport = await NatsTransport.open(options)
            else:
                transport = await AmqpTransport.open(amqp)
            if not quiet:
                _common.err.print(f"Consuming {where}.", highlight=False)
            try:
                return await broker.consume(
                    transport, handler, stop=stop, batch=batch, on_change=reporter
                )
            finally:
                await transport.close()

        with _common.one_line():
            counts = asyncio.run(main())
    reporter.final(counts)


class _Reporter:
    """Each problem on a line; a line of counts every `_REPORT_EVERY` seconds while messages
    come."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.last = 0.0
        self.problems = 0

    def __call__(self, counts: Counts) -> None:
        problems = counts.dead_lettered + counts.retried
        if problems != self.problems and counts.last_problem is not None:
            self.problems = problems
            _common.err.print(
                f"[yellow]{escape(counts.last_problem)}[/yellow]", highlight=False, soft_wrap=True
            )
        now = time.monotonic()
        if not self.quiet and now - self.last >= _REPORT_EVERY:
            self.last = now
            _common.err.print(counts.line(), highlight=False, soft_wrap=True)

    def final(self, counts: Counts) -> None:
        if not self.quiet:
            _common.err.print(f"Stopped: {counts.line()}.", highlight=False, soft_wrap=True)
