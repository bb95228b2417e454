"""The broker topology every consumer needs, declared by code and exported as definitions.

Per consumer NAME: a quorum queue `podium.NAME` bound to the `orders` topic exchange, delay
queues `podium.NAME.retry.N` whose TTL dead-letters messages back to the main queue, and a
quorum dead-letter queue `podium.NAME.dlq`. The main queue also dead-letters there itself
when its delivery limit is hit (a message that crashes every consumer that takes it). The
`orders` exchange itself, with its alternate exchange and unrouted queue, comes from
`adapters.rabbitmq`, as the publisher declares it.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue
from aio_pika.exceptions import ChannelPreconditionFailed

from adapters.rabbitmq import BrokerMismatch, declare_event_exchange, mismatch_hint
from consumers.runtime.definition import Consumer
from consumers.runtime.options import TopologyOptions
from contracts.broker import KEPT_QUEUE_ARGUMENTS, exchange_arguments, unrouted_name

DEFAULT_VHOST = "podium"

_QUORUM: dict[str, Any] = {
    "x-queue-type": "quorum",
    # At-least-once dead-lettering keeps a message until the target queue confirms it; it
    # requires reject-publish overflow.
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish",
}


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ExchangeSpec:
    name: str
    kind: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class BindingSpec:
    exchange: str
    queue: str
    routing_key: str


@dataclass(frozen=True)
class Topology:
    exchanges: tuple[ExchangeSpec, ...]
    queues: tuple[QueueSpec, ...]
    bindings: tuple[BindingSpec, ...]


def topology_for(consumers: Iterable[Consumer], options: TopologyOptions) -> Topology:
    direct = options.direct_exchange
    unrouted = unrouted_name(options.exchange)
    queues: list[QueueSpec] = []
    bindings: list[BindingSpec] = []
    for consumer in consumers:
        main = options.queue(consumer.name)
        dlq = options.dead_letter_queue(consumer.name)
        queues.append(
            QueueSpec(
                main,
                {
                    **_QUORUM,
                    "x-delivery-limit": options.delivery_limit,
                    "x-dead-letter-exchange": direct,
                    "x-dead-letter-routing-key": dlq,
                },
            )
        )
        bindings += [BindingSpec(options.exchange, main, e.ROUTING_KEY) for e in consumer.events]
        bindings.append(BindingSpec(direct, main, main))
        for attempt, delay in enumerate(options.retry_delays_ms, start=1):
            retry = options.retry_queue(consumer.name, attempt)
            arguments = {
                **_QUORUM,
                "x-message-ttl": delay,
                "x-dead-letter-exchange": direct,
                "x-dead-letter-routing-key": main,
            }
            queues.append(QueueSpec(retry, arguments))
            bindings.append(BindingSpec(direct, retry, retry))
        # Listing dead letters takes them without ack: on RabbitMQ 4.0-4.2 every such take
        # counts toward a delivery limit (20 by default), so the DLQ must have none to reach.
        queues.append(QueueSpec(dlq, KEPT_QUEUE_ARGUMENTS))
        bindings.append(BindingSpec(direct, dlq, dlq))
    # Last, so that a single consumer's topology starts with its main queue.
    queues.append(QueueSpec(unrouted, KEPT_QUEUE_ARGUMENTS))
    bindings.append(BindingSpec(unrouted, unrouted, ""))
    return Topology(
        exchanges=(
            ExchangeSpec(options.exchange, "topic", exchange_arguments(options.exchange)),
            ExchangeSpec(unrouted, "fanout", {}),
            ExchangeSpec(direct, "direct", {}),
        ),
        queues=tuple(queues),
        bindings=tuple(bindings),
    )


async def declare_topology(
    channel: AbstractChannel, consumers: Iterable[Consumer], options: TopologyOptions
) -> None:
    """Idempotent: safe on every start, and makes events routable before any consumer runs."""
    topology = topology_for(consumers, options)
    # The same declaration as the publisher's, or the broker refuses one of them.
    exchanges = {options.exchange: await declare_event_exchange(channel, options.exchange)}
    unrouted = unrouted_name(options.exchange)
    for spec in topology.exchanges:
        if spec.name not in exchanges and spec.name != unrouted:
            exchanges[spec.name] = await channel.declare_exchange(
                spec.name, aio_pika.ExchangeType(spec.kind), durable=True, arguments=spec.arguments
            )
    queues = {}
    for q in topology.queues:
        if q.name != unrouted:
            queues[q.name] = await _declare_queue(channel, q)
    for b in topology.bindings:
        if b.queue != unrouted:
            await queues[b.queue].bind(exchanges[b.exchange], routing_key=b.routing_key)


async def declare_consumer_queue(
    channel: AbstractChannel, consumer: Consumer, options: TopologyOptions
) -> tuple[AbstractQueue, AbstractExchange]:
    """`consumer`'s main queue and the direct exchange its copies go through, declared on the
    channel that consumes it (a robust channel declares them again after a reconnect)."""
    direct = await channel.declare_exchange(
        options.direct_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    return await _declare_queue(channel, topology_for([consumer], options).queues[0]), direct


async def _declare_queue(channel: AbstractChannel, spec: QueueSpec) -> AbstractQueue:
    try:
        return await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
    except ChannelPreconditionFailed as err:
        raise BrokerMismatch(mismatch_hint("queue", spec.name)) from err


def definitions(topology: Topology, vhost: str = DEFAULT_VHOST) -> dict[str, Any]:
    """The same topology in the format of RabbitMQ's definitions import (`load_definitions`)."""
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [
            {
                "name": e.name,
                "vhost": vhost,
                "type": e.kind,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": e.arguments,
            }
            for e in topology.exchanges
        ],
        "queues": [
            {
                "name": q.name,
                "vhost": vhost,
                "durable": True,
                "auto_delete": False,
                "arguments": q.arguments,
            }
            for q in topology.queues
        ],
        "bindings": [
            {
                "source": b.exchange,
                "vhost": vhost,
                "destination": b.queue,
                "destination_type": "queue",
                "routing_key": b.routing_key,
                "arguments": {},
            }
            for b in topology.bindings
        ],
    }
