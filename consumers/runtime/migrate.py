"""Bring a broker declared by an older Podium to today's topology, keeping every message.

The broker never changes an existing entity's arguments: it must be deleted and declared again.
- The event exchange: deleting it drops its bindings, and declaring the topology again restores
  those of the registered consumers. Meanwhile a publish either fails (no exchange: the activity
  retries) or lands in the unrouted queue (kept); nothing is lost.
- A queue: first unbound (new dead letters are then refused and retried by their sender), its
  messages moved one by one (confirmed, then acked) to a holding queue, deleted once empty,
  declared again, and refilled. A second run finishes what an interrupted one left behind.
"""

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection
from aio_pika.exceptions import ChannelNotFoundEntity, ChannelPreconditionFailed

from adapters.rabbitmq import publish
from consumers.runtime import headers as h
from consumers.runtime.definition import Consumer
from consumers.runtime.options import RuntimeOptions
from consumers.runtime.topology import BindingSpec, QueueSpec, declare_topology, topology_for
from contracts.broker import KEPT_QUEUE_ARGUMENTS, exchange_arguments


@dataclass
class Migration:
    exchange_redeclared: bool = False
    queues: dict[str, int] = field(default_factory=dict)  # queue -> messages carried over


async def migrate(options: RuntimeOptions, consumers: Iterable[Consumer]) -> Migration:
    chosen = list(consumers)
    topology = topology_for(chosen, options.topology)
    done = Migration()
    connection = await options.connect("podium-migrate")
    async with connection:
        if not await _matches_exchange(connection, options.topology.exchange):
            channel = await connection.channel()
            await channel.exchange_delete(options.topology.exchange)
            await channel.close()
            done.exchange_redeclared = True
        for spec in topology.queues:
            holding = f"{spec.name}.migrating"
            if not await _matches_queue(connection, spec):
                await _rebuild(connection, spec, holding, topology.bindings)
            if await _exists(connection, holding):
                done.queues[spec.name] = await _move(connection, holding, spec.name, options)
                channel = await connection.channel()
                await channel.queue_delete(holding)
                await channel.close()
        channel = await connection.channel()
        await declare_topology(channel, chosen, options.topology)
    return done


async def _rebuild(
    connection: AbstractConnection,
    spec: QueueSpec,
    holding: str,
    bindings: Iterable[BindingSpec],
) -> None:
    channel = await connection.channel()
    # Plain: no TTL or dead-lettering moves a held message on before it is carried back.
    await channel.declare_queue(holding, durable=True, arguments=KEPT_QUEUE_ARGUMENTS)
    await channel.close()
    for binding in bindings:
        if binding.queue == spec.name:
            channel = await connection.channel()
            queue = await channel.declare_queue(spec.name, passive=True)
            with contextlib.suppress(ChannelNotFoundEntity):  # its exchange is already gone
                await queue.unbind(binding.exchange, binding.routing_key)
            await _close(channel)
    await _move(connection, spec.name, holding, None)
    channel = await connection.channel()
    left = await channel.declare_queue(spec.name, passive=True)
    if left.declaration_result.message_count or left.declaration_result.consumer_count:
        raise RuntimeError(f"{spec.name} still has messages or consumers; run the migration again")
    await channel.queue_delete(spec.name)
    await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
    await channel.close()


async def _move(
    connection: AbstractConnection, source: str, target: str, options: RuntimeOptions | None
) -> int:
    """Move every message, each confirmed in `target` before it is acked in `source`."""
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    queue = await channel.declare_queue(source, passive=True)
    moved = 0
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        copy = h.copy_message(message, {}, faithful=True)
        await publish(
            channel.default_exchange, copy, target, options.publish_timeout if options else 30
        )
        await message.ack()
        moved += 1
    await channel.close()
    return moved


async def _matches_exchange(connection: AbstractConnection, name: str) -> bool:
    channel = await connection.channel()
    try:
        await channel.declare_exchange(
            name, aio_pika.ExchangeType.TOPIC, durable=True, arguments=exchange_arguments(name)
        )
    except ChannelPreconditionFailed:
        return False
    await _close(channel)
    return True


async def _matches_queue(connection: AbstractConnection, spec: QueueSpec) -> bool:
    channel = await connection.channel()
    try:
        await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
    except ChannelPreconditionFailed:
        return False
    await _close(channel)
    return True


async def _exists(connection: AbstractConnection, queue: str) -> bool:
    channel = await connection.channel()
    try:
        await channel.declare_queue(queue, passive=True)
    except ChannelNotFoundEntity:
        return False
    await _close(channel)
    return True


async def _close(channel: AbstractChannel) -> None:
    if not channel.is_closed:
        await channel.close()
