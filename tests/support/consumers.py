"""Events, raw publishing and queue counts for the consumer tests."""

import urllib.parse
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aio_pika

from adapters.rabbitmq import declare_event_exchange
from adapters.sql import Transaction
from consumers.runtime.definition import Consumer
from consumers.runtime.dlq import DeadLetterInfo, list_dead_letters
from consumers.runtime.store import Store
from contracts.events import OrderCompletedV1, OrderFailedV1, OrderSnapshot, event_id_for
from contracts.order import Failure, workflow_id_for
from infra.stack import LocalStack
from tests.support.factories import order_data
from tests.support.management import Management
from tests.support.waits import eventually
from workers.bootstrap import consumer_store, runtime_options
from workers.runtime.settings import Settings


def snapshot(**overrides: Any) -> OrderSnapshot:
    data = order_data(**overrides)
    data.pop("payment_token")
    total = sum(Decimal(i["unit_price"]) * i["quantity"] for i in data["items"])
    return OrderSnapshot.model_validate({**data, "total": total})


def completed(**overrides: Any) -> OrderCompletedV1:
    order = snapshot(**overrides)
    return OrderCompletedV1(
        event_id=event_id_for(workflow_id_for(order.order_id), OrderCompletedV1.ROUTING_KEY),
        occurred_at=datetime(2026, 3, 1, 14, 30, tzinfo=UTC),
        order=order,
        payment_id=f"pay-{order.order_id}",
    )


def failed(code: str = "charge_payment_failed", **overrides: Any) -> OrderFailedV1:
    order = snapshot(**overrides)
    return OrderFailedV1(
        event_id=event_id_for(workflow_id_for(order.order_id), OrderFailedV1.ROUTING_KEY),
        occurred_at=datetime(2026, 3, 1, 15, 5, tzinfo=UTC),
        order=order,
        failure=Failure(code=code, message="the card was declined"),
        compensated=["release_stock", "cancel_order"],
    )


def store_of(settings: Settings, consumer: Consumer) -> Store:
    return consumer_store(settings, consumer)


def count(store: Store, sql: str, *args: Any) -> int:
    return int(store.read(lambda c: c.execute(sql, args).fetchone()[0]))


async def publish_raw(settings: Settings, body: bytes, routing_key: str, message_id: str) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await declare_event_exchange(channel, settings.exchange)
        message = aio_pika.Message(
            body,
            message_id=message_id,
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange.publish(message, routing_key=routing_key, mandatory=True)


async def publish_via_management(
    broker: LocalStack,
    settings: Settings,
    body: bytes,
    routing_key: str,
    properties: dict[str, Any],
) -> None:
    """Publish through RabbitMQ's management HTTP API (its own client, not aio-pika)."""
    info = broker.status().info
    assert info is not None
    vhost = urllib.parse.urlsplit(settings.amqp_url).path[1:] or "/"
    management = Management(info, vhost)
    properties = {"delivery_mode": 2, **properties}
    assert await management.publish(settings.exchange, routing_key, body, properties)


async def ready_count(settings: Settings, queue: str) -> int:
    return (await _counts(settings, queue))[0]


def effects_consumer(name: str, events: tuple[Any, ...] = (OrderCompletedV1,)) -> Consumer:
    """A test consumer whose effect is one row per event in table `effects` (no uniqueness,
    so a second effect would show as a second row)."""

    def handle(event: Any, tx: Transaction) -> None:
        tx.execute("INSERT INTO effects VALUES (?)", (event.event_id,))

    return Consumer(name, events, handle, "CREATE TABLE IF NOT EXISTS effects (event_id TEXT);")


async def dead_letters(
    settings: Settings, name: str, expected: int, within: float = 5.0
) -> list[DeadLetterInfo]:
    """The dead letters of consumer `name` once there are `expected` of them (or fail)."""
    return await eventually(
        lambda: list_dead_letters(runtime_options(settings), name),
        lambda found: len(found) >= expected,
        within,
        what=f"{expected} dead letters of {name}",
    )


async def wait_drained(settings: Settings, queues: list[str]) -> None:
    async def held() -> int:
        return sum([await ready_count(settings, q) for q in queues])

    await eventually(held, lambda n: n == 0, 5.0, what=f"queues {queues} to be empty")


async def consumer_count(settings: Settings, queue: str) -> int:
    return (await _counts(settings, queue))[1]


async def _counts(settings: Settings, queue: str) -> tuple[int, int]:
    """The queue's ready messages and consumers, as the broker declares them."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        result = declared.declaration_result
        return int(result.message_count or 0), int(result.consumer_count or 0)
