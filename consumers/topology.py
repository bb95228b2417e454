"""The broker topology every consumer needs, declared by code and exported as definitions.

Per consumer NAME: a quorum queue `podium.NAME` bound to the `orders` topic exchange, delay
queues `podium.NAME.retry.N` whose TTL dead-letters messages back to the main queue, and a
quorum dead-letter queue `podium.NAME.dlq`. The main queue also dead-letters there itself
when its delivery limit is hit (a message that crashes every consumer that takes it).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel

from consumers.definition import Consumer
from consumers.options import TopologyOptions

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
class BindingSpec:
    exchange: str
    queue: str
    routing_key: str


@dataclass(frozen=True)
class Topology:
    exchanges: tuple[tuple[str, str], ...]  # (name, type)
    queues: tuple[QueueSpec, ...]
    bindings: tuple[BindingSpec, ...]


def topology_for(consumers: Iterable[Consumer], options: TopologyOptions) -> Topology:
    direct = options.direct_exchange
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
        bindings += [BindingSpec(options.exchange, main, key) for key in consumer.bindings]
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
        queues.append(QueueSpec(dlq, {"x-queue-type": "quorum"}))
        bindings.append(BindingSpec(direct, dlq, dlq))
    return Topology(
        exchanges=((options.exchange, "topic"), (direct, "direct")),
        queues=tuple(queues),
        bindings=tuple(bindings),
    )


async def declare_topology(
    channel: AbstractChannel, consumers: Iterable[Consumer], options: TopologyOptions
) -> None:
    """Idempotent: safe on every start, and makes events routable before any consumer runs."""
    topology = topology_for(consumers, options)
    exchanges = {}
    for name, kind in topology.exchanges:
        # Same arguments as the publisher's declaration, or the broker refuses one of them.
        exchanges[name] = await channel.declare_exchange(
            name, aio_pika.ExchangeType(kind), durable=True
        )
    queues = {}
    for spec in topology.queues:
        queues[spec.name] = await channel.declare_queue(
            spec.name, durable=True, arguments=spec.arguments
        )
    for b in topology.bindings:
        await queues[b.queue].bind(exchanges[b.exchange], routing_key=b.routing_key)


def definitions(topology: Topology, vhost: str = DEFAULT_VHOST) -> dict[str, Any]:
    """The same topology in the format of RabbitMQ's definitions import (`load_definitions`)."""
    return {
        "vhosts": [{"name": vhost}],
        "exchanges": [
            {
                "name": name,
                "vhost": vhost,
                "type": kind,
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            }
            for name, kind in topology.exchanges
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
