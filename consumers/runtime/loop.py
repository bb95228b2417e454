"""Consumes one consumer's queue: decode, apply in the store, then ack, retry or dead-letter.

Deliveries at hand are applied together, in one store transaction on the consumer's store
thread (`batching`); a batch that fails is rolled back, the delivery whose handler raised gets
its own outcome and the others are handled again one by one, each in a thread of its own with
the handler's time limit, so a poison message is retried or dead-lettered alone. Tracing, log
context and metrics stay per delivery.

Every outcome ends in an ack of the original only after its consequence is durable: the effect
committed, or a copy confirmed by the broker in a retry queue or the dead-letter queue. A crash
in between redelivers the original; the store's processed marker absorbs the duplicate.
"""

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import aio_pika
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from adapters.rabbitmq import publish
from adapters.sql import Abandon, Transaction
from consumers.runtime import headers as h
from consumers.runtime import metrics
from consumers.runtime.batching import Batcher, Progress, Unbatched
from consumers.runtime.breaker import GAUGE_VALUE, Breaker, State
from consumers.runtime.decoding import check_identity, decode
from consumers.runtime.definition import Consumer, Handler
from consumers.runtime.middleware import MIDDLEWARES, Handling, Outcome, wrap
from consumers.runtime.options import RuntimeOptions
from consumers.runtime.outcomes import DeadLetter, HandlerTimedOut, Kind, classify
from consumers.runtime.reporting import StateReporter
from consumers.runtime.store import Change, Store
from consumers.runtime.threads import in_daemon_thread
from consumers.runtime.topology import declare_consumer_queue

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _Delivery:
    message: AbstractIncomingMessage
    routing_key: str
    context: contextvars.Context  # its log context and trace span, for its handler's thread


class ConsumerLoop:
    def __init__(self, consumer: Consumer, options: RuntimeOptions) -> None:
        self.consumer = consumer
        self.options = options
        # Opened on first use, in the handler's thread: never SQLite on the event loop.
        self.store = Store(options.store_location(consumer.name), consumer.schema)
        self._batcher = Batcher(
            consumer.name,
            self._apply_batch,
            max_size=options.prefetch,
            linger=options.batch_linger,
            time_limit=min(options.batch_time_limit, options.handler_timeout),
        )
        self.breaker = Breaker(options.breaker, self._breaker_moved)
        self._slots = asyncio.Semaphore(options.concurrency)
        self._inflight: set[asyncio.Task[None]] = set()
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._direct: AbstractExchange | None = None
        self._tag: str | None = None
        self._stopping = asyncio.Event()
        self._prober: asyncio.Task[None] | None = None
        self._reports = StateReporter(options.data_dir, consumer.name, self.breaker)
        self._log = log.bind(consumer=consumer.name)
        self._handle = wrap(MIDDLEWARES, self._process)

    async def start(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await channel.set_qos(prefetch_count=self.options.prefetch)
        self._queue, self._direct = await declare_consumer_queue(
            channel, self.consumer, self.options.topology
        )
        self._channel = channel
        metrics.BREAKER_STATE.labels(self.consumer.name).set(0)
        self._reports.changed()
        await self._consume()
        self._log.info("consumer started", queue=self._queue.name)

    async def stop(self) -> None:
        """Stop taking messages, let the ones in flight finish, then close the channel."""
        self._stopping.set()
        await self._cancel_consume()
        if self._prober is not None:  # sleeping: ends at once; probing: finishes its message
            await asyncio.wait({self._prober}, timeout=self.options.shutdown_timeout)
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=self.options.shutdown_timeout)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        await self._batcher.close()
        if self.consumer.close is not None:
            await asyncio.to_thread(self.consumer.close)
        # A handler still running past the wait (abandoned at exit) finds its database closed.
        await asyncio.to_thread(self.store.close)
        await self._reports.close()
        self._log.info("consumer stopped")

    async def _consume(self) -> None:
        assert self._queue is not None
        self._tag = await self._queue.consume(self._on_message)

    async def _cancel_consume(self) -> None:
        if self._queue is not None and self._tag is not None:
            tag, self._tag = self._tag, None
            try:
                await asyncio.wait_for(self._queue.cancel(tag), 5)
            except Exception as err:  # the channel may already be gone; in-flight still matter
                self._log.warning("consumer cancel failed", error=str(err))

    def _breaker_moved(self, state: State) -> None:
        metrics.BREAKER_STATE.labels(self.consumer.name).set(GAUGE_VALUE[state])
        self._reports.changed()
        if state is State.OPEN:
            self._log.warning("breaker open: consumption paused", pause_s=self.breaker.pause)
            if self._prober is None or self._prober.done():
                metrics.BREAKER_OPENED.labels(self.consumer.name).inc()
                # A context of its own: not the tripping message's log context or trace span.
                self._prober = asyncio.create_task(
                    self._pause_and_probe(), context=contextvars.Context()
                )
        else:
            self._log.info(f"breaker {state}")

    async def _pause_and_probe(self) -> None:
        """Stop consuming; after each pause, try one message; consume again once one passes
        (or when the queue has none to try: the next result then decides)."""
        while self.breaker.is_open and not self._stopping.is_set():
            await self._cancel_consume()
            while self.breaker.is_open:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.breaker.pause)
                if self._stopping.is_set():
                    return
                await self._probe()
            try:
                await self._consume()  # it may have opened again meanwhile: then round again
            except Exception as err:  # the channel is down: keep probing until it is back
                self._log.warning("consuming again failed", error=str(err))
                self.breaker.failed(conclusive=True)

    async def _probe(self) -> None:
        self.breaker.probing()
        assert self._queue is not None
        try:
            probe = await self._queue.get(no_ack=False, fail=False, timeout=5)
        except Exception as err:  # the channel is down: wait for the next pause
            self._log.warning("breaker probe could not fetch a message", error=str(err))
            self.breaker.failed()
            return
        if probe is not None:
            await self._on_message(probe)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._inflight.add(task)
        try:
            async with message.process(requeue=True, ignore_processed=True):
                await self._handle(Handling(self.consumer.name, message))
        except Exception as err:
            # The ack or republish failed (broker gone): the broker redelivers the original.
            self._log.warning("message left unacked", message_id=message.message_id, error=str(err))
        finally:
            self._inflight.discard(task)

    async def _process(self, handling: Handling) -> None:
        message = handling.message
        delays = self.options.topology.retry_delays_ms
        attempt = h.attempt_of(message, len(delays))
        routing_key = h.original_routing_key(message)
        bound = self._log.bind(message_id=message.message_id, attempt=attempt)
        if self.breaker.is_open:  # delivered before the pause took effect: not tried at all
            await self._park(handling, attempt, routing_key)
            await message.ack()
            return
        try:
            applied = await self._apply(message, routing_key)
        except Exception as error:
            await self._failed(handling, attempt, routing_key, error, bound)
        else:
            self.breaker.succeeded()
            handling.decided(Outcome.PROCESSED if applied else Outcome.DUPLICATE)
            handling.durable = True
        await message.ack()

    async def _apply(self, message: AbstractIncomingMessage, routing_key: str) -> bool:
        size, limit = len(message.body), self.options.max_body_bytes
        if size > limit:
            raise DeadLetter(f"body of {size} bytes is over the limit of {limit} bytes")
        delivery = _Delivery(message, routing_key, contextvars.copy_context())
        try:
            event, applied = await self._batcher.submit(delivery)
        except Unbatched:
            event, applied = await self._apply_alone(message, routing_key)
        if self.consumer.after_commit is not None:
            async with self._time_limit() as limit:
                await self.consumer.after_commit(event, self.store)
        return bool(applied)

    def _apply_batch(
        self, deliveries: Sequence[_Delivery], abandon: Abandon, progress: Progress
    ) -> list[Any]:
        """In the store thread: each delivery's (event, applied), or the error it alone raised
        decoding; a handler's error rolls back the batch and is raised."""
        results: list[Any] = []
        changes = []
        for index, delivery in enumerate(deliveries):
            progress.at = index
            try:
                event = delivery.context.run(self._decode, delivery.message)
            except Exception as err:  # refused on its own, not the batch's failure
                results.append(err)
                continue
            results.append(event)
            handle = partial(
                _in_context, progress, index, delivery.context, self.consumer.handle, event
            )
            changes.append(Change(event.event_id, delivery.routing_key, handle))
        progress.at = None
        applied = iter(self.store.apply_batch(changes, abandon) if changes else [])
        return [r if isinstance(r, Exception) else (r, next(applied)) for r in results]

    async def _apply_alone(
        self, message: AbstractIncomingMessage, routing_key: str
    ) -> tuple[Any, bool]:
        # The time limit frees the slot and sends the message down the retry ladder. The
        # handler's thread cannot be stopped: its transaction is rolled back instead (so the
        # store is free for the next message), and should it have committed just before,
        # the retry finds the event marked processed and acks it without a second effect.
        abandon = Abandon()
        async with self._slots, self._time_limit(abandon):
            # Decoding (JSON, then the schema) costs time in the body's size: never on the loop.
            return await in_daemon_thread(
                partial(self._decode_and_apply, message, routing_key, abandon)
            )

    @contextlib.asynccontextmanager
    async def _time_limit(self, abandon: Abandon | None = None) -> Any:
        limit = asyncio.timeout(self.options.handler_timeout)
        try:
            async with limit:
                yield limit
        except TimeoutError:
            if not limit.expired():  # a dependency's own timeout: the handler's error
                raise
            if abandon is not None:
                threading.Thread(target=abandon.abandon, daemon=True).start()
            raise HandlerTimedOut(
                f"over its time limit of {self.options.handler_timeout}s"
            ) from None

    def _decode(self, message: AbstractIncomingMessage) -> Any:
        event = decode(message.body, self.consumer)
        check_identity(message.message_id, event.event_id)
        return event

    def _decode_and_apply(
        self, message: AbstractIncomingMessage, routing_key: str, abandon: Abandon
    ) -> tuple[Any, bool]:
        event = self._decode(message)
        handle = partial(self.consumer.handle, event)
        return event, self.store.apply(event.event_id, routing_key, handle, abandon)

    async def _failed(
        self,
        handling: Handling,
        attempt: int,
        routing_key: str,
        err: Exception,
        log: Any,
    ) -> None:
        kind = classify(err)
        reason = str(err) if isinstance(err, DeadLetter) else f"{type(err).__name__}: {err}"
        if kind is Kind.PERMANENT:
            log.warning("dead-lettering", reason=reason)
            await self._dead_letter(handling, attempt, routing_key, reason)
            return
        delays = self.options.topology.retry_delays_ms
        exhausted = attempt >= len(delays)
        if kind is Kind.UNAVAILABLE and self.breaker.failed(conclusive=exhausted):
            # An outage, not this message's fault: back in the queue as it was, no rung used.
            log.warning("dependency unavailable, message kept for later", error=reason)
            await self._park(handling, attempt, routing_key)
            return
        if not exhausted:  # the event's own line (middleware) says so, with the error
            await self._retry(handling, attempt + 1, routing_key, reason)
        else:
            log.warning("retries exhausted, dead-lettering", error=reason)
            reason = f"retries exhausted: {reason}"
            await self._dead_letter(handling, attempt, routing_key, reason)

    async def _park(self, handling: Handling, attempt: int, routing_key: str) -> None:
        # A confirmed copy at the tail of the main queue, then the ack: unlike a requeue this
        # does not count toward the queue's delivery limit, however long the outage lasts.
        handling.decided(Outcome.PARKED)
        copy = h.copy_message(handling.message, {h.ATTEMPT: attempt, h.ROUTING_KEY: routing_key})
        await self._publish(copy, self.options.topology.queue(self.consumer.name))
        handling.durable = True

    async def _retry(self, handling: Handling, attempt: int, routing_key: str, error: str) -> None:
        handling.decided(Outcome.RETRIED, error)
        queue = self.options.topology.retry_queue(self.consumer.name, attempt)
        copy = h.copy_message(
            handling.message,
            {h.ATTEMPT: attempt, h.ROUTING_KEY: routing_key, h.LAST_ERROR: error},
        )
        await self._publish(copy, queue)
        handling.durable = True

    async def _dead_letter(
        self, handling: Handling, attempt: int, routing_key: str, reason: str
    ) -> None:
        handling.decided(Outcome.DEAD_LETTERED, reason)
        copy = h.copy_message(
            handling.message,
            {
                h.ATTEMPT: attempt,
                h.ROUTING_KEY: routing_key,
                h.CONSUMER: self.consumer.name,
                h.REASON: reason,
                h.DEAD_LETTERED_AT: h.now(),
            },
        )
        await self._publish(copy, self.options.topology.dead_letter_queue(self.consumer.name))
        handling.durable = True

    async def _publish(self, message: aio_pika.Message, queue: str) -> None:
        assert self._direct is not None
        # Confirmed and mandatory: the original is acked only once the copy is safe.
        await publish(self._direct, message, queue, self.options.publish_timeout)


def _in_context(
    progress: Progress,
    index: int,
    context: contextvars.Context,
    handle: Handler,
    event: Any,
    tx: Transaction,
) -> None:
    progress.at = index
    context.run(handle, event, tx)
    progress.at = None  # left set when it raised: the batch failed at this delivery
