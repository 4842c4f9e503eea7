"""The real brokers for the `emstrack consume` tests: NATS JetStream and RabbitMQ on loopback.

A `TestBroker` names a stream, consumer and queues of its own (unique per test), publishes
messages, reads the dead letters, says how many messages are still unsettled, and deletes what
it made. Where a server does not answer, the tests that need it are skipped with the reason.
`.ci/run` starts both where they are installed but stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import aio_pika
import nats
import nats.js.errors
import orjson
import pytest

from emstrack.ingest.broker import (
    AmqpOptions,
    AmqpTransport,
    NatsOptions,
    NatsTransport,
    Transport,
)

NATS_URL = os.environ.get("EMSTRACK_TEST_NATS_URL", "nats://127.0.0.1:4222")
AMQP_URL = os.environ.get("EMSTRACK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _run(coro: Any) -> Any:
    return asyncio.run(coro)


class TestBroker:
    """One broker, with names of its own for one test."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, kind: str) -> None:
        self.kind = kind
        tag = uuid.uuid4().hex[:10]
        self.tag = tag
        if kind == "nats":
            self.url = NATS_URL
            self.subject = f"t{tag}.events.>"
            self.stream = f"T{tag}"
            self.durable = f"c{tag}"
            self.dead_letter = f"t{tag}.deadletter"
        else:
            self.url = AMQP_URL
            self.queue = f"t{tag}.events"
            self.dead_letter = f"t{tag}.events.deadletter"

    # The consumer's side.

    def nats_options(self, ack_wait: float = 2.0) -> NatsOptions:
        return NatsOptions(
            url=self.url,
            subject=self.subject,
            stream=self.stream,
            durable=self.durable,
            dead_letter=self.dead_letter,
            ack_wait=ack_wait,
        )

    async def open(self, ack_wait: float = 2.0, batch: int = 10) -> Transport:
        if self.kind == "nats":
            return await NatsTransport.open(self.nats_options(ack_wait))
        options = AmqpOptions(
            url=self.url, queue=self.queue, dead_letter=self.dead_letter, prefetch=batch
        )
        return await AmqpTransport.open(options)

    async def prepare(self) -> None:
        """Make the stream, consumer and queues as a consumer does, so that messages published
        before any consumer runs wait for it."""
        transport = await self.open()
        await transport.close()

    def cli_args(self, ack_wait: float = 2.0) -> list[str]:
        """The options of `emstrack consume` for this broker's names."""
        if self.kind == "nats":
            return [
                "--from",
                self.url,
                "--subject",
                self.subject,
                "--stream",
                self.stream,
                "--durable",
                self.durable,
                "--dead-letter",
                self.dead_letter,
                "--ack-wait",
                str(ack_wait),
            ]
        return ["--from", self.url, "--queue", self.queue, "--dead-letter", self.dead_letter]

    # The producer's side and the checks.

    async def publish(self, *bodies: bytes | Any) -> None:
        """Publish each body (bytes as they are, anything else as JSON), persistent."""
        payloads = [b if isinstance(b, bytes) else orjson.dumps(b) for b in bodies]
        if self.kind == "nats":
            client = await nats.connect(self.url)
            try:
                js = client.jetstream()
                for payload in payloads:
                    await js.publish(f"t{self.tag}.events.test", payload)
            finally:
                await client.close()
            return
        connection = await aio_pika.connect(self.url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            for payload in payloads:
                await channel.default_exchange.publish(
                    aio_pika.Message(payload, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                    routing_key=self.queue,
                    mandatory=True,
                )
        finally:
            await connection.close()

    async def dead_letters(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Every dead letter so far, (headers, JSON body), oldest first; left in place."""
        found: list[tuple[dict[str, Any], dict[str, Any]]] = []
        if self.kind == "nats":
            client = await nats.connect(self.url)
            try:
                js = client.jetstream()
                try:
                    info = await js.stream_info(f"{self.stream}_DEADLETTER")
                except nats.js.errors.NotFoundError:
                    return []
                for seq in range(info.state.first_seq, info.state.last_seq + 1):
                    if info.state.messages == 0:
                        break
                    msg = await js.get_msg(f"{self.stream}_DEADLETTER", seq)
                    found.append((dict(msg.headers or {}), orjson.loads(msg.data or b"")))
            finally:
                await client.close()
            return found
        connection = await aio_pika.connect(self.url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(self.dead_letter, durable=True)
            got = []
            while (message := await queue.get(fail=False)) is not None:
                got.append(message)
                found.append((dict(message.headers), orjson.loads(message.body)))
            for message in got:
                await message.nack(requeue=True)  # left in place
        finally:
            await connection.close()
        return found

    async def unsettled(self) -> int:
        """Messages of the events subject or queue not acknowledged yet (waiting or taken)."""
        if self.kind == "nats":
            client = await nats.connect(self.url)
            try:
                info = await client.jetstream().stream_info(self.stream)
                return int(info.state.messages)  # a work queue: acknowledged ones are removed
            finally:
                await client.close()
        connection = await aio_pika.connect(self.url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(self.queue, passive=True)
            # Ready messages only: ask once every consumer has stopped, when RabbitMQ has
            # taken back whatever they held without acknowledging it.
            return int(queue.declaration_result.message_count or 0)
        finally:
            await connection.close()

    async def delete(self) -> None:
        if self.kind == "nats":
            client = await nats.connect(self.url)
            try:
                js = client.jetstream()
                for name in (self.stream, f"{self.stream}_DEADLETTER"):
                    with contextlib.suppress(nats.js.errors.NotFoundError):
                        await js.delete_stream(name)
            finally:
                await client.close()
            return
        connection = await aio_pika.connect(self.url)
        try:
            channel = await connection.channel()
            for name in (self.queue, self.dead_letter):
                await channel.queue_delete(name)
        finally:
            await connection.close()


def available(kind: str) -> str | None:
    """Why the broker of `kind` cannot be used, or None."""

    async def probe() -> None:
        if kind == "nats":
            client = await nats.connect(NATS_URL, connect_timeout=2, max_reconnect_attempts=0)
            try:
                await client.jetstream().account_info()
            finally:
                await client.close()
        else:
            connection = await aio_pika.connect(AMQP_URL, timeout=2)
            await connection.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        where = NATS_URL if kind == "nats" else AMQP_URL
        return f"no {kind} broker at {where}: {type(exc).__name__}: {exc}"
    return None


_AVAILABLE: dict[str, str | None] = {}


@pytest.fixture(params=["nats", "amqp"])
def broker(request: pytest.FixtureRequest) -> Iterator[TestBroker]:
    """A real broker, once NATS JetStream and once RabbitMQ, with names of this test's own."""
    kind: str = request.param
    if kind not in _AVAILABLE:
        _AVAILABLE[kind] = available(kind)
    reason = _AVAILABLE[kind]
    if reason is not None:
        pytest.skip(reason)
    made = TestBroker(kind)
    try:
        yield made
    finally:
        _run(made.delete())
