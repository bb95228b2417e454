"""Look into a consumer's dead-letter queue and move messages back to its main queue."""

import asyncio
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from consumers import headers as h
from consumers.options import RuntimeOptions

PREVIEW_BYTES = 200


@dataclass(frozen=True)
class DeadLetterInfo:
    message_id: str | None
    reason: str
    routing_key: str
    attempts: int
    dead_lettered_at: str | None
    body_preview: bytes


def describe(message: AbstractIncomingMessage) -> DeadLetterInfo:
    reason = message.headers.get(h.REASON) or message.headers.get("x-first-death-reason")
    at = message.headers.get(h.DEAD_LETTERED_AT)
    return DeadLetterInfo(
        message_id=message.message_id,
        reason=str(reason or "unknown"),
        routing_key=h.original_routing_key(message),
        attempts=h.attempt_of(message),
        dead_lettered_at=str(at) if at else None,
        body_preview=message.body[:PREVIEW_BYTES],
    )


async def list_dead_letters(
    options: RuntimeOptions, consumer: str, limit: int = 1000
) -> list[DeadLetterInfo]:
    """Every message stays in the queue: taken without ack, returned when the channel closes."""
    connection = await aio_pika.connect(
        options.amqp_url, timeout=options.publish_timeout, ssl_context=options.ssl_context
    )
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(options.topology.dead_letter_queue(consumer))
        taken = await _take_all(queue, limit)
        found = [describe(m) for m in taken]
        for message in taken:
            await message.nack(requeue=True)
    return found


async def replay(options: RuntimeOptions, consumer: str, ids: list[str] | None) -> int:
    """Move the messages with `ids` (all when None) to the main queue, attempts reset to 0."""
    topo = options.topology
    connection = await aio_pika.connect(
        options.amqp_url, timeout=options.publish_timeout, ssl_context=options.ssl_context
    )
    moved = 0
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        queue = await channel.get_queue(topo.dead_letter_queue(consumer))
        direct = await channel.get_exchange(topo.direct_exchange)
        for message in await _take_all(queue, limit=100_000):
            if ids is not None and message.message_id not in ids:
                await message.nack(requeue=True)
                continue
            replays = int(message.headers.get(h.REPLAYED, 0) or 0)  # type: ignore[arg-type]
            copy = h.copy_message(
                message,
                {
                    h.ATTEMPT: 0,
                    h.REASON: None,
                    h.DEAD_LETTERED_AT: None,
                    h.LAST_ERROR: None,
                    h.ROUTING_KEY: h.original_routing_key(message),
                    h.REPLAYED: replays + 1,
                },
            )
            await asyncio.wait_for(
                direct.publish(copy, routing_key=topo.queue(consumer), mandatory=True),
                timeout=options.publish_timeout,
            )
            await message.ack()
            moved += 1
    return moved


async def _take_all(queue: aio_pika.abc.AbstractQueue, limit: int) -> list[AbstractIncomingMessage]:
    taken: list[AbstractIncomingMessage] = []
    while len(taken) < limit:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        taken.append(message)
    return taken
