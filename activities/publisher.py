"""Publishes order events to RabbitMQ with the guarantees the saga relies on.

aio-pika's defaults are not enough here: messages must be persistent and the broker must confirm
each one. An event no queue is bound for goes to the exchange's alternate exchange (declared here
too, see `adapters.rabbitmq`), so publishing never waits for consumers to be deployed; the publish
stays mandatory, so should even that be missing the publish fails and is retried.
"""

import asyncio
import contextvars
import ssl

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractRobustConnection,
    HeadersType,
)
from opentelemetry import propagate, trace

from adapters.rabbitmq import connect, declare_event_exchange, publish
from contracts.events import OrderCompletedV1, OrderFailedV1

tracer = trace.get_tracer(__name__)


class EventPublisher:
    """One robust connection and a confirming channel, opened on first use.

    The connection is opened lazily so a worker starts while the broker is down; the publish
    activity then fails, is retried, and succeeds once the broker is back.
    """

    def __init__(
        self,
        amqp_url: str,
        exchange: str,
        timeout: float,
        ssl_context: ssl.SSLContext | None = None,  # for amqps:// with our own CA or certs
        connection_name: str = "podium-publisher",  # as the broker's connection list shows it
    ) -> None:
        self._connection_name = connection_name
        self._url = amqp_url
        self._ssl_context = ssl_context
        self._exchange_name = exchange
        self._timeout = timeout
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    async def publish(self, event: OrderCompletedV1 | OrderFailedV1) -> None:
        """Publish and wait for the broker's confirm; raise if unroutable, nacked or late."""
        with tracer.start_as_current_span(
            f"publish {event.ROUTING_KEY}",
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": self._exchange_name,
                "messaging.rabbitmq.destination.routing_key": event.ROUTING_KEY,
                "messaging.message.id": event.event_id,
                "podium.order_id": event.order.order_id,
            },
        ):
            await self._publish(event)

    async def _publish(self, event: OrderCompletedV1 | OrderFailedV1) -> None:
        exchange = await self._ready_exchange()
        headers: HeadersType = {"event-type": event.type, "event-version": event.version}
        # W3C traceparent of this span: consumers continue the order's trace from it.
        propagate.inject(headers)
        message = aio_pika.Message(
            body=event.model_dump_json().encode(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            # The event id is stable across retries: consumers deduplicate on it.
            message_id=event.event_id,
            correlation_id=event.order.order_id,
            type=event.ROUTING_KEY,
            timestamp=event.occurred_at,
            app_id="podium",
            headers=headers,
        )
        await publish(exchange, message, event.ROUTING_KEY, self._timeout)

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
            self._connection = None
            self._channel = None
            self._exchange = None

    async def connect(self) -> None:
        """Connect and declare the exchange now rather than at the first publish."""
        await self._ready_exchange()

    async def _ready_exchange(self) -> AbstractExchange:
        async with self._lock:
            if self._exchange is None or self._channel is None or self._channel.is_closed:
                # aio-pika's robust connection runs its reconnects in tasks that copy the context
                # current when it was opened; opened inside a publish activity, every later
                # reconnect line would carry that order's ids and trace. Open it in an empty one.
                opening = asyncio.get_running_loop().create_task(
                    self._open(), context=contextvars.Context()
                )
                self._exchange = await opening
            return self._exchange

    async def _open(self) -> AbstractExchange:
        if self._connection is None or self._connection.is_closed:
            self._connection = await connect(
                self._url,
                name=self._connection_name,
                connect_timeout=self._timeout,
                ssl_context=self._ssl_context,
            )
        self._channel = await self._connection.channel(
            publisher_confirms=True, on_return_raises=True
        )
        return await declare_event_exchange(self._channel, self._exchange_name)
