"""Consumes one consumer's queue: decode, apply in the store, then ack, retry or dead-letter.

Every outcome ends in an ack of the original only after its consequence is durable: the effect
committed, or a copy confirmed by the broker in a retry queue or the dead-letter queue. A crash
in between redelivers the original; the store's processed marker absorbs the duplicate.
"""

import asyncio
from functools import partial

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from consumers import headers as h
from consumers import metrics, tracing
from consumers.decoding import decode
from consumers.definition import Consumer
from consumers.options import RuntimeOptions
from consumers.outcomes import DeadLetter
from consumers.store import Store
from consumers.topology import topology_for

log = structlog.get_logger(__name__)


class ConsumerWorker:
    def __init__(self, consumer: Consumer, options: RuntimeOptions) -> None:
        self.consumer = consumer
        self.options = options
        self.store = Store(options.store_path(consumer.name), consumer.schema)
        self._slots = asyncio.Semaphore(options.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._direct: AbstractExchange | None = None
        self._tag: str | None = None
        self._log = log.bind(consumer=consumer.name)

    async def start(self, connection: AbstractRobustConnection) -> None:
        topo = self.options.topology
        main = topology_for([self.consumer], topo).queues[0]
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=self.options.prefetch)
        self._direct = await channel.declare_exchange(
            topo.direct_exchange, aio_pika.ExchangeType.DIRECT, durable=True
        )
        self._queue = await channel.declare_queue(main.name, durable=True, arguments=main.arguments)
        self._channel = channel
        self._tag = await self._queue.consume(self._on_message)
        self._log.info("consumer started", queue=main.name)

    async def stop(self) -> None:
        """Stop taking messages, let the ones in flight finish, then close the channel."""
        if self._queue is not None and self._tag is not None:
            try:
                await asyncio.wait_for(self._queue.cancel(self._tag), 5)
            except Exception as err:  # the channel may already be gone; in-flight still matter
                self._log.warning("consumer cancel failed", error=str(err))
            self._tag = None
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=self.options.shutdown_timeout)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._log.info("consumer stopped")

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        try:
            async with self._slots, message.process(requeue=True, ignore_processed=True):
                with tracing.consuming(self.consumer.name, message):
                    await self._handle(message)
        except Exception as err:
            # The ack or republish failed (broker gone): the broker redelivers the original.
            self._log.warning("message left unacked", message_id=message.message_id, error=str(err))
        finally:
            self._inflight.discard(task)

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        # Context variables reach the handler's thread too: asyncio.to_thread copies them.
        context = {"consumer": self.consumer.name, "event_id": message.message_id}
        if message.correlation_id:
            context["order_id"] = message.correlation_id  # set by the publisher
        with structlog.contextvars.bound_contextvars(**context), metrics.timed(self.consumer.name):
            await self._process(message)

    async def _process(self, message: AbstractIncomingMessage) -> None:
        attempt = h.attempt_of(message)
        routing_key = h.original_routing_key(message)
        bound = self._log.bind(message_id=message.message_id, attempt=attempt)
        try:
            event = decode(message.body, self.consumer)
            applied = await asyncio.to_thread(
                self.store.apply,
                event.event_id,
                routing_key,
                partial(self.consumer.handle, event),
            )
            if self.consumer.after_commit is not None:
                await self.consumer.after_commit(event, self.store)
        except DeadLetter as err:
            bound.warning("dead-lettering", reason=str(err))
            await self._dead_letter(message, attempt, routing_key, str(err))
        except Exception as err:
            reason = f"{type(err).__name__}: {err}"
            delays = self.options.topology.retry_delays_ms
            if attempt < len(delays):
                bound.info("retrying later", error=reason, delay_ms=delays[attempt])
                await self._retry(message, attempt + 1, routing_key, reason)
            else:
                bound.warning("retries exhausted, dead-lettering", error=reason)
                await self._dead_letter(
                    message, attempt, routing_key, f"retries exhausted: {reason}"
                )
        else:
            bound.debug("processed" if applied else "duplicate ignored")
            (metrics.PROCESSED if applied else metrics.DUPLICATES).labels(self.consumer.name).inc()
        await message.ack()

    async def _retry(
        self, message: AbstractIncomingMessage, attempt: int, routing_key: str, error: str
    ) -> None:
        tracing.retried(error)
        queue = self.options.topology.retry_queue(self.consumer.name, attempt)
        copy = h.copy_message(
            message,
            {h.ATTEMPT: attempt, h.ROUTING_KEY: routing_key, h.LAST_ERROR: error},
        )
        await self._publish(copy, queue)
        metrics.RETRIED.labels(self.consumer.name).inc()

    async def _dead_letter(
        self, message: AbstractIncomingMessage, attempt: int, routing_key: str, reason: str
    ) -> None:
        tracing.dead_lettered(reason)
        copy = h.copy_message(
            message,
            {
                h.ATTEMPT: attempt,
                h.ROUTING_KEY: routing_key,
                h.CONSUMER: self.consumer.name,
                h.REASON: reason,
                h.DEAD_LETTERED_AT: h.now(),
            },
        )
        await self._publish(copy, self.options.topology.dead_letter_queue(self.consumer.name))
        metrics.DEAD_LETTERED.labels(self.consumer.name).inc()

    async def _publish(self, message: aio_pika.Message, queue: str) -> None:
        assert self._direct is not None
        # Confirmed and mandatory: the original is acked only once the copy is safe.
        await asyncio.wait_for(
            self._direct.publish(message, routing_key=queue, mandatory=True),
            timeout=self.options.publish_timeout,
        )
