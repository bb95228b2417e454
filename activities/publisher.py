"""Publishes order events to RabbitMQ with the guarantees the saga relies on.

aio-pika's defaults are not enough here: messages must be persistent, the broker must confirm
each one, and an event no queue is bound for must be an error rather than silently dropped.
"""

import asyncio
import ssl

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractRobustConnection,
    HeadersType,
)
from opentelemetry import propagate, trace

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
    ) -> None:
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
        # A publish on a robust connection that is reconnecting can wait forever: bound it.
        await asyncio.wait_for(
            exchange.publish(message, routing_key=event.ROUTING_KEY, mandatory=True),
            timeout=self._timeout,
        )

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
            self._connection = None
            self._channel = None
            self._exchange = None

    async def _ready_exchange(self) -> AbstractExchange:
        async with self._lock:
            if self._exchange is None or self._channel is None or self._channel.is_closed:
                if self._connection is None or self._connection.is_closed:
                    self._connection = await aio_pika.connect_robust(
                        self._url, timeout=self._timeout, ssl_context=self._ssl_context
                    )
                self._channel = await self._connection.channel(
                    publisher_confirms=True, on_return_raises=True
                )
                self._exchange = await self._channel.declare_exchange(
                    self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                )
            return self._exchange
