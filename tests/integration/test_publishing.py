"""Publishing never depends on consumers being deployed, and never drops an event: the event
exchange's alternate exchange keeps what no queue is bound for, until it is replayed.

The broker is checked from outside too, through RabbitMQ's management HTTP API."""

import asyncio
import json
import uuid

import aio_pika
import pytest
from temporalio.client import Client

from activities.publisher import EventPublisher
from adapters.rabbitmq import BrokerMismatch
from contracts.broker import unrouted_name
from contracts.order import OrderState
from infra.stack import StackInfo
from infra.stack.ports import free_port
from podium.cli import dead_letters, exits
from podium.cli.consumers import consume
from podium.client import outcome, place_order, wait_for_state
from tests.support.factories import an_order
from tests.support.management import Management
from tests.support.waits import eventually
from workers.bootstrap import declare_consumer_topology, running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def own(settings: Settings) -> Settings:
    """The test's own event exchange and consumer queues: nothing else is bound or unrouted."""
    uid = uuid.uuid4().hex[:8]
    return settings.model_copy(update={"exchange": f"ev-{uid}", "consumer_queue_prefix": f"p{uid}"})


async def test_with_no_consumer_deployed_orders_complete_and_their_events_wait_unrouted(
    own: Settings,
    temporal: Client,
    management: Management,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unrouted = unrouted_name(own.exchange)
    async with running_worker(temporal, own):
        # Declared by the worker as it starts, before any order or consumer.
        declared = await eventually(
            lambda: management.exchange(own.exchange),
            lambda e: e is not None,
            10,
            interval=0.5,
            what="exchange",
        )
        handle = await place_order(temporal, an_order(), own.task_queue, wait="started")
        result = await outcome(handle)
    assert result.state == OrderState.COMPLETED
    assert declared["arguments"] == {"alternate-exchange": unrouted}
    assert (await management.exchange(unrouted))["type"] == "fanout"
    assert (await management.queue(unrouted))["arguments"]["x-queue-type"] == "quorum"
    await management.messages(unrouted, 1)

    # An outside client's raw body for a key nobody binds is kept as well.
    raw = {"message_id": "raw-1", "delivery_mode": 2, "content_type": "application/json"}
    assert await management.publish(own.exchange, "order.shipped.v9", "{}", raw)
    await management.messages(unrouted, 2)

    assert await dead_letters.show_dead_letters(own, "unrouted") == exits.OK
    listed = capsys.readouterr().out
    assert "2 unrouted event(s)" in listed
    assert str(result.event_id) in listed and "raw-1" in listed
    assert "no queue bound for 'order.shipped.v9'" in listed

    # Consumers deployed later: a replay delivers the kept event to their queues, once each.
    await declare_consumer_topology(own)
    code = await dead_letters.replay_dead_letters(own, "unrouted", [str(result.event_id)])
    assert code == exits.OK
    for consumer in ("notifications", "analytics", "loyalty"):
        await management.messages(f"{own.consumer_queue_prefix}.{consumer}", 1)
    await management.messages(unrouted, 1)  # the raw one: still nobody binds its key
    copy = await _first_message(own, f"{own.consumer_queue_prefix}.loyalty")
    assert copy.message_id == str(result.event_id)
    assert copy.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert copy.routing_key == "order.completed.v1"
    assert (copy.headers["event-type"], copy.headers["event-version"]) == ("order.completed", 1)
    assert json.loads(copy.body)["order"]["order_id"] == result.order_id


async def test_an_event_exchange_declared_without_its_alternate_is_one_clear_line(
    own: Settings, stack_info: StackInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    connection = await aio_pika.connect(stack_info.amqp_url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_exchange(own.exchange, aio_pika.ExchangeType.TOPIC, durable=True)

    assert await consume(own, []) == exits.UNAVAILABLE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"exchange '{own.exchange}'" in err and "podium broker migrate" in err

    publisher = EventPublisher(own.amqp_url, own.exchange, timeout=5)
    try:
        with pytest.raises(BrokerMismatch, match="podium broker migrate"):
            await publisher.connect()
    finally:
        await publisher.close()


async def _first_message(settings: Settings, queue: str) -> aio_pika.abc.AbstractIncomingMessage:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        message = await declared.get(no_ack=False)
        await message.nack(requeue=True)
        return message


async def test_a_worker_starts_while_the_broker_is_down(own: Settings, temporal: Client) -> None:
    port = free_port()
    nobody = own.model_copy(update={"amqp_url": f"amqp://podium:x@127.0.0.1:{port}/podium"})
    order = an_order()
    async with asyncio.timeout(30), running_worker(temporal, nobody):
        handle = await place_order(temporal, order, nobody.task_queue, wait="started")
        # It serves orders up to the pivot; the publish waits for the broker.
        await wait_for_state(temporal, order.order_id, OrderState.CONFIRMED)
    await handle.terminate("test over")
