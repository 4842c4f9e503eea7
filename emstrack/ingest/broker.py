"""`emstrack consume`: scan events from a message broker, NATS JetStream or RabbitMQ.

The one loop (`consume`) takes messages from a `Transport`, has `ingest.messages.handle` check
and store each one in one transaction, publishes its dead letter (and waits for the broker to
confirm it) when it has one, and only then acknowledges the message. So a consumer killed at
any moment loses nothing (an unacknowledged message is delivered again) and doubles nothing (a
message stored but not acknowledged comes back, and its events are duplicates). Several
consumers share the work: a durable JetStream consumer, or one RabbitMQ queue.

The database down (`DatabaseUnavailable`): the message, and the rest of the batch fetched with
it, are handed back to the broker for a later delivery (JetStream: a negative acknowledgement
with a delay; RabbitMQ: requeued), and the loop waits before it fetches again, longer each time
(up to `MAX_BACKOFF`). Such a message is never dead-lettered.

Only this module imports the brokers' clients (`nats`, `aio_pika`): a contract in
pyproject.toml says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiormq
import nats
import nats.errors
import nats.js.errors
from aio_pika.abc import AbstractIncomingMessage
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, RetentionPolicy, StorageType
from pamqp.common import FieldTable

from emstrack.config import Settings
from emstrack.errors import DatabaseUnavailable, InputError
from emstrack.ingest.messages import Handled, dead_letter, handle
from emstrack.ingest.profiles import Profile
from emstrack.store.database import Database

log = logging.getLogger(__name__)

DEFAULT_SUBJECT = "emstrack.events.>"
DEFAULT_STREAM = "EMSTRACK_EVENTS"
DEFAULT_DURABLE = "emstrack-consume"
DEFAULT_NATS_DEAD_LETTER = "emstrack.deadletter.events"
DEFAULT_QUEUE = "emstrack.events"
#: Seconds the loop waits after the database refused a message, doubled each time up to this.
FIRST_BACKOFF = 1.0
MAX_BACKOFF = 30.0
#: The `source` column's width: a subject or queue name longer than this is cut.
_SOURCE_WIDTH = 100
#: The dead letter's `kind` for a message the consumer itself failed on (a bug).
FAILED = "failed"
#: Header of a dead letter saying why (short; the letter's JSON has the details).
REASON_HEADER = "Emstrack-Reason"


class BrokerError(InputError):
    """The broker cannot be reached or set up as asked: the message says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__("broker", message)


class Delivery(Protocol):
    """One message as a transport hands it over."""

    @property
    def body(self) -> bytes: ...

    @property
    def source(self) -> str:
        """The events' default `source`: the broker and the subject or queue."""
        ...

    async def ack(self) -> None:
        """Done with: the broker forgets it (waits for the broker where it can)."""

    async def retry(self, delay: float) -> None:
        """Not done: the broker delivers it again, after `delay` seconds where it can."""


class Transport(Protocol):
    async def fetch(self, batch: int, timeout: float) -> Sequence[Delivery]:
        """Up to `batch` messages; none when nothing came within `timeout` seconds."""

    async def dead_letter(self, letter: bytes, reason: str) -> None:
        """Publish a dead letter; returns once the broker has it (confirmed)."""

    async def close(self) -> None: ...


@dataclass(slots=True)
class Counts:
    """What a consumer did so far: messages and events."""

    messages: int = 0
    stored: int = 0
    duplicate: int = 0
    rejected: int = 0
    dead_lettered: int = 0
    retried: int = 0
    last_problem: str | None = field(default=None, repr=False)

    def line(self) -> str:
        return (
            f"{self.messages:,} messages: {self.stored:,} events stored, "
            f"{self.duplicate:,} duplicate, {self.rejected:,} rejected; "
            f"{self.dead_lettered:,} dead-lettered, {self.retried:,} handed back"
        )


Handler = Callable[[bytes, str], Handled]


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


async def consume(
    transport: Transport,
    handler: Handler,
    *,
    stop: asyncio.Event,
    batch: int = 10,
    fetch_timeout: float = 1.0,
    on_change: Callable[[Counts], None] | None = None,
    first_backoff: float = FIRST_BACKOFF,
) -> Counts:
    """Take, store and settle messages until `stop` is set; the counts.

    `handler(body, source)` is `ingest.messages.handle` bound to a database (it runs in a
    thread: the writer is synchronous). When `stop` is set the message being stored is finished,
    its dead letter published and it is acknowledged; messages fetched but not begun are handed
    back to the broker at once."""
    counts = Counts()
    backoff = first_backoff
    while not stop.is_set():
        deliveries = await transport.fetch(batch, fetch_timeout)
        for position, delivery in enumerate(deliveries):
            if stop.is_set():
                await _hand_back(deliveries[position:], 0.0, counts)
                break
            try:
                handled = await asyncio.to_thread(handler, delivery.body, delivery.source)
            except DatabaseUnavailable as exc:
                counts.last_problem = str(exc)
                log.warning("database unavailable, messages handed back: %s", exc)
                await _hand_back(deliveries[position:], backoff, counts)
                if on_change is not None:
                    on_change(counts)
                await _sleep_unless(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                break
            except Exception as exc:  # a bug: keep the message in the dead letters, go on
                log.exception("a message could not be stored")
                reason = f"the consumer failed on it: {type(exc).__name__}: {exc}"
                now = datetime.now(UTC)
                letter = dead_letter(
                    FAILED, reason, delivery.body, source=delivery.source, received=now
                )
                handled = Handled(dead_letter=letter, reason=reason)
            backoff = first_backoff
            if handled.dead_letter is not None:
                await transport.dead_letter(handled.dead_letter, handled.reason or "")
                counts.dead_lettered += 1
                counts.last_problem = handled.reason
            await delivery.ack()
            counts.messages += 1
            counts.stored += handled.stored
            counts.duplicate += handled.duplicate
            counts.rejected += handled.rejected
            if on_change is not None:
                on_change(counts)
    return counts


async def _hand_back(deliveries: Sequence[Delivery], delay: float, counts: Counts) -> None:
    for delivery in deliveries:
        await delivery.retry(delay)
        counts.retried += 1


def message_handler(db: Database, settings: Settings, profile: Profile | None) -> Handler:
    """`ingest.messages.handle` on `db`, for `consume`."""

    def run(body: bytes, source: str) -> Handled:
        return handle(db, body, source=source, settings=settings, profile=profile)

    return run


def _redacted(url: str) -> str:
    """A broker URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


# --- NATS JetStream -----------------------------------------------------------------------


class _NatsDelivery:
    __slots__ = ("_msg", "body", "source")

    def __init__(self, msg: Msg) -> None:
        self._msg = msg
        self.body: bytes = msg.data
        self.source = f"nats:{msg.subject}"[:_SOURCE_WIDTH]

    async def ack(self) -> None:
        await self._msg.ack_sync()

    async def retry(self, delay: float) -> None:
        await self._msg.nak(delay=delay or None)


@dataclass(frozen=True, slots=True)
class NatsOptions:
    url: str
    subject: str = DEFAULT_SUBJECT
    stream: str = DEFAULT_STREAM
    durable: str = DEFAULT_DURABLE
    dead_letter: str = DEFAULT_NATS_DEAD_LETTER
    #: Seconds JetStream waits for an acknowledgement before it delivers a message again.
    ack_wait: float = 60.0
    #: Deliveries of one message at most; -1: no limit (see docs/import.md).
    max_deliver: int = -1
    #: Messages delivered and not yet acknowledged, across the consumer's processes.
    max_ack_pending: int = 1000


class NatsTransport:
    """A durable pull consumer of a JetStream stream; dead letters to a subject of a stream.

    The stream (`options.stream`, taking `options.subject`) and a stream for the dead-letter
    subject (`options.stream` + `_DEADLETTER`) are created when missing; existing ones are used
    as they are. The consumer (`options.durable`) is created when missing, with explicit acks,
    `ack_wait` and `max_deliver`; every process started with the same durable name shares it."""

    def __init__(self, client: NATS, subscription: Any, options: NatsOptions) -> None:
        self._client = client
        self._js = client.jetstream()
        self._sub = subscription
        self.options = options

    @classmethod
    async def open(cls, options: NatsOptions) -> NatsTransport:
        try:
            client = await nats.connect(
                options.url,
                name="emstrack consume",
                connect_timeout=5,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
            )
        except (OSError, nats.errors.Error, TimeoutError) as exc:
            raise BrokerError(
                f"cannot connect to NATS at {_redacted(options.url)}: {exc or type(exc).__name__}"
            ) from None
        try:
            js = client.jetstream()
            await _ensure_stream(js, options.stream, options.subject, RetentionPolicy.WORK_QUEUE)
            await _ensure_stream(
                js, f"{options.stream}_DEADLETTER", options.dead_letter, RetentionPolicy.LIMITS
            )
            config = ConsumerConfig(
                durable_name=options.durable,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=options.ack_wait,
                max_deliver=options.max_deliver,
                max_ack_pending=options.max_ack_pending,
            )
            subscription = await js.pull_subscribe(
                options.subject, durable=options.durable, stream=options.stream, config=config
            )
        except nats.js.errors.APIError as exc:
            await client.close()
            raise BrokerError(f"NATS JetStream refused the set-up: {exc.description}") from None
        except BaseException:
            await client.close()
            raise
        return cls(client, subscription, options)

    async def fetch(self, batch: int, timeout: float) -> Sequence[Delivery]:
        try:
            msgs = await self._sub.fetch(batch, timeout=timeout)
        except (nats.errors.TimeoutError, TimeoutError):
            return []
        return [_NatsDelivery(msg) for msg in msgs]

    async def dead_letter(self, letter: bytes, reason: str) -> None:
        await self._js.publish(
            self.options.dead_letter,
            letter,
            headers={REASON_HEADER: _header(reason), "Content-Type": "application/json"},
        )

    async def close(self) -> None:
        await self._client.close()


async def _ensure_stream(js: Any, name: str, subject: str, retention: RetentionPolicy) -> None:
    try:
        await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        try:
            await js.add_stream(
                name=name, subjects=[subject], retention=retention, storage=StorageType.FILE
            )
        except nats.js.errors.BadRequestError as exc:
            # Two consumers starting at once: the other one made it first.
            try:
                await js.stream_info(name)
            except nats.js.errors.NotFoundError:
                raise BrokerError(
                    f"cannot create the JetStream stream {name} for {subject}: {exc.description}"
                ) from None


def _header(reason: str) -> str:
    """A reason as one header line (no line breaks, at most 200 characters)."""
    return " ".join(reason.split())[:200]


# --- RabbitMQ ------------------------------------------------------------------------------


class _AmqpDelivery:
    __slots__ = ("_message", "body", "source")

    def __init__(self, message: AbstractIncomingMessage, source: str) -> None:
        self._message = message
        self.body: bytes = message.body
        self.source = source

    async def ack(self) -> None:
        await self._message.ack()

    async def retry(self, delay: float) -> None:
        # RabbitMQ has no delayed requeue: the loop waits before it takes the next message.
        await self._message.nack(requeue=True)


@dataclass(frozen=True, slots=True)
class AmqpOptions:
    url: str
    queue: str = DEFAULT_QUEUE
    #: The dead-letter queue; empty: the queue's name + ".deadletter".
    dead_letter: str = ""
    #: Messages RabbitMQ hands this consumer before it acknowledges them (basic.qos).
    prefetch: int = 10

    @property
    def dead_letter_queue(self) -> str:
        return self.dead_letter or f"{self.queue}.deadletter"


class AmqpTransport:
    """A durable RabbitMQ queue, acknowledged by hand; dead letters to a durable queue.

    Both queues are declared (durable) when missing; a missing events queue is declared with
    the dead-letter queue as its dead-letter exchange's route, so that what RabbitMQ itself
    rejects (a TTL, a length limit) lands there too. Dead letters are published with publisher
    confirms, persistent, and `mandatory` (an unroutable one is an error, never dropped)."""

    def __init__(
        self,
        connection: aio_pika.abc.AbstractRobustConnection,
        channel: aio_pika.abc.AbstractChannel,
        queue: aio_pika.abc.AbstractQueue,
        options: AmqpOptions,
    ) -> None:
        self._connection = connection
        self._channel = channel
        self._queue = queue
        self.options = options
        self._inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        self._tag: str | None = None
        self._source = f"amqp:{options.queue}"[:_SOURCE_WIDTH]

    @classmethod
    async def open(cls, options: AmqpOptions) -> AmqpTransport:
        try:
            connection = await aio_pika.connect_robust(options.url, timeout=5)
        except (OSError, aiormq.exceptions.AMQPError, TimeoutError) as exc:
            raise BrokerError(
                f"cannot connect to RabbitMQ at {_redacted(options.url)}: "
                f"{exc or type(exc).__name__}"
            ) from None
        try:
            channel = await connection.channel(publisher_confirms=True)
            await channel.set_qos(prefetch_count=options.prefetch)
            dlq = options.dead_letter_queue
            await channel.declare_queue(dlq, durable=True)
            queue = await _declare_events_queue(connection, channel, options.queue, dlq)
            transport = cls(connection, channel, queue, options)
            transport._tag = await queue.consume(transport._inbox.put, no_ack=False)
        except aiormq.exceptions.AMQPError as exc:
            await connection.close()
            raise BrokerError(f"RabbitMQ refused the set-up: {exc}") from None
        except BaseException:
            await connection.close()
            raise
        return transport

    async def fetch(self, batch: int, timeout: float) -> Sequence[Delivery]:
        try:
            first = await asyncio.wait_for(self._inbox.get(), timeout)
        except TimeoutError:
            return []
        got = [first]
        while len(got) < batch and not self._inbox.empty():
            got.append(self._inbox.get_nowait())
        return [_AmqpDelivery(message, self._source) for message in got]

    async def dead_letter(self, letter: bytes, reason: str) -> None:
        message = aio_pika.Message(
            letter,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={REASON_HEADER: _header(reason)},
        )
        # With publisher confirms, this returns once RabbitMQ has the message (raises if not).
        await self._channel.default_exchange.publish(
            message, routing_key=self.options.dead_letter_queue, mandatory=True
        )

    async def close(self) -> None:
        if self._tag is not None:
            await self._queue.cancel(self._tag)
        # Messages received but not begun go back to the queue when the channel closes.
        await self._connection.close()


async def _declare_events_queue(
    connection: aio_pika.abc.AbstractRobustConnection,
    channel: aio_pika.abc.AbstractChannel,
    name: str,
    dead_letter_queue: str,
) -> aio_pika.abc.AbstractQueue:
    """The events queue as it is, or declared durable with its dead-letter route."""
    probe = await connection.channel()
    try:
        await probe.declare_queue(name, passive=True)
        exists = True
    except aiormq.exceptions.ChannelNotFoundEntity:
        exists = False
    finally:
        if not probe.is_closed:
            await probe.close()
    if exists:
        return await channel.declare_queue(name, passive=True)
    arguments: FieldTable = {
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_letter_queue,
    }
    return await channel.declare_queue(name, durable=True, arguments=arguments)


# --- choosing ------------------------------------------------------------------------------


def scheme(url: str) -> str:
    """`nats` or `amqp` for a broker URL, or `BrokerError`."""
    found = urlsplit(url).scheme.lower()
    if found in ("nats", "tls"):
        return "nats"
    if found in ("amqp", "amqps"):
        return "amqp"
    raise BrokerError(
        f"{_redacted(url)}: a broker URL starts with nats:// (NATS JetStream) or amqp:// (RabbitMQ)"
    )
