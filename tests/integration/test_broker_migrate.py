"""`podium broker migrate` brings a broker an older Podium declared (event exchange without its
alternate exchange, dead-letter queues without their delivery limit) to today's topology, and
keeps every message. Checked from outside through the management HTTP API."""

import uuid

import aio_pika
import pytest

from activities.publisher import EventPublisher
from adapters.rabbitmq import BrokerMismatch
from consumers.runtime.dlq import list_dead_letters
from consumers.runtime.topology import topology_for
from contracts.broker import NO_DELIVERY_LIMIT, unrouted_name
from infra.stack import StackInfo
from podium.cli import dead_letters, exits
from tests.support.consumers import completed
from tests.support.management import Management
from workers.bootstrap import declare_consumer_topology, registered, runtime_options
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def declare_as_an_older_podium(settings: Settings) -> None:
    """Yesterday's topology: no alternate exchange, DLQs with no explicit delivery limit."""
    options = runtime_options(settings).topology
    topology = topology_for(registered(settings), options)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchanges = {
            settings.exchange: await channel.declare_exchange(
                settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            ),
            options.direct_exchange: await channel.declare_exchange(
                options.direct_exchange, aio_pika.ExchangeType.DIRECT, durable=True
            ),
        }
        unrouted = unrouted_name(settings.exchange)
        for spec in topology.queues:
            if spec.name == unrouted:
                continue
            old = {"x-queue-type": "quorum"} if spec.name.endswith(".dlq") else spec.arguments
            queue = await channel.declare_queue(spec.name, durable=True, arguments=old)
            for b in topology.bindings:
                if b.queue == spec.name:
                    await queue.bind(exchanges[b.exchange], routing_key=b.routing_key)
        dlq = options.dead_letter_queue("loyalty")
        for n in range(2):
            dead = aio_pika.Message(
                b"{oops",
                message_id=f"old-{n}",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers={"x-death": [{"routing-keys": ["order.completed.v1"], "count": 1}]},
            )
            await channel.default_exchange.publish(dead, routing_key=dlq)


async def test_migrate_redeclares_exchange_and_dead_letter_queues_keeping_every_message(
    settings: Settings, stack_info: StackInfo, capsys: pytest.CaptureFixture[str]
) -> None:
    uid = uuid.uuid4().hex[:8]
    own = settings.model_copy(update={"exchange": f"ev-{uid}", "consumer_queue_prefix": f"m{uid}"})
    management = Management(stack_info)
    await declare_as_an_older_podium(own)
    publisher = EventPublisher(own.amqp_url, own.exchange, 5)
    try:
        await publisher.publish(completed())  # today's publisher on yesterday's exchange
    except BrokerMismatch:
        pass
    else:
        raise AssertionError("the broker accepted other exchange arguments")
    finally:
        await publisher.close()
    with pytest.raises(BrokerMismatch):
        await declare_consumer_topology(own)

    assert await dead_letters.migrate(own) == exits.OK
    out = capsys.readouterr().out
    assert f"exchange {own.exchange}: declared again" in out
    assert f"queue m{uid}.loyalty.dlq: declared again, 2 message(s) kept" in out

    exchange = await management.exchange(own.exchange)
    assert exchange is not None
    assert exchange["arguments"] == {"alternate-exchange": unrouted_name(own.exchange)}
    dlq = await management.queue(f"m{uid}.loyalty.dlq")
    assert dlq is not None and dlq["arguments"]["x-delivery-limit"] == NO_DELIVERY_LIMIT
    assert await management.queue(f"m{uid}.loyalty.dlq.migrating") is None
    kept = await list_dead_letters(runtime_options(own), "loyalty")
    assert sorted((k.message_id, k.routing_key) for k in kept) == [
        ("old-0", "order.completed.v1"),  # x-death came along
        ("old-1", "order.completed.v1"),
    ]

    await declare_consumer_topology(own)  # accepted now
    publisher = EventPublisher(own.amqp_url, own.exchange, 5)
    try:
        await publisher.publish(completed())  # and the consumers' bindings are back
    finally:
        await publisher.close()
    await management.messages(f"m{uid}.loyalty", 1)
    await management.messages(unrouted_name(own.exchange), 0)

    assert await dead_letters.migrate(own) == exits.OK
    assert "already matches" in capsys.readouterr().out
