"""Look into a dead-letter queue (a consumer's, or the unrouted events'), replay or discard.

Every operation reads with basic.get, one message at a time, keeping no more than one body.
Listing releases what it took with one basic.nack: from RabbitMQ 4.3 a nack is not a failed
delivery, and before that the queues have no delivery limit to reach (see
`contracts.broker.KEPT_QUEUE_ARGUMENTS`). Replay and discard settle each message before taking
the next, and stop after the messages present when they started, so a replayed message that
comes back is not taken twice.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from aio_pika.exceptions import ChannelNotFoundEntity

from adapters.rabbitmq import publish
from consumers.runtime import headers as h
from consumers.runtime.options import RuntimeOptions
from contracts.broker import unrouted_name

PREVIEW_BYTES = 200
UNROUTED = "unrouted"  # the name `podium dlq` gives the queue of events no consumer was bound for
MAX_HELD = 100_000  # messages skipped while looking for given ids, held unacked until the end


@dataclass(frozen=True)
class DeadLetterInfo:
    message_id: str | None
    reason: str
    routing_key: str
    attempts: int
    dead_lettered_at: str | None
    body_preview: bytes


class NoSuchQueue(ValueError):
    def __init__(self, queue: str) -> None:
        super().__init__(f"queue {queue} does not exist on the broker (yet)")


class UnknownIds(ValueError):
    """Some of the given message ids are not in the queue; nothing was changed."""

    def __init__(self, queue: str, ids: list[str]) -> None:
        super().__init__(f"no message with id {', '.join(ids)} in {queue}")
        self.ids = ids


def queue_name(options: RuntimeOptions, consumer: str) -> str:
    topo = options.topology
    return (
        unrouted_name(topo.exchange) if consumer == UNROUTED else topo.dead_letter_queue(consumer)
    )


def describe(message: AbstractIncomingMessage) -> DeadLetterInfo:
    reason = message.headers.get(h.REASON) or message.headers.get("x-first-death-reason")
    at = message.headers.get(h.DEAD_LETTERED_AT)
    # Headers come from whoever published: bounded before they are kept or shown.
    return DeadLetterInfo(
        message_id=message.message_id,
        reason=str(reason or "unknown")[: h.MAX_TEXT],
        routing_key=h.original_routing_key(message)[:255],
        attempts=h.attempt_of(message),
        dead_lettered_at=str(at)[:64] if at else None,
        body_preview=message.body[:PREVIEW_BYTES],
    )


async def list_dead_letters(
    options: RuntimeOptions, consumer: str, limit: int = 1000
) -> list[DeadLetterInfo]:
    """The first `limit` messages; every one stays in the queue."""
    async with _queue(options, consumer) as (_, queue, _count):
        found, last = await _take(queue, limit)
        await _release_through(last)
    return _explained(found, consumer)


async def replay(options: RuntimeOptions, consumer: str, ids: list[str] | None) -> int:
    """Republish the messages with `ids` (all when None), then ack each once confirmed.

    A consumer's dead letters go back to its main queue with attempts reset to 0; unrouted
    events go back to the event exchange with their routing key.
    """
    topo = options.topology
    async with _queue(options, consumer, confirms=True) as (channel, queue, count):
        if consumer == UNROUTED:
            target = await channel.get_exchange(topo.exchange)

            async def send(message: AbstractIncomingMessage) -> None:
                copy = h.copy_message(message, {})
                await publish(target, copy, message.routing_key or "", options.publish_timeout)
        else:
            target = await channel.get_exchange(topo.direct_exchange)

            async def send(message: AbstractIncomingMessage) -> None:
                await publish(
                    target, _reset(message), topo.queue(consumer), options.publish_timeout
                )

        async def settle(message: AbstractIncomingMessage) -> None:
            await send(message)
            await message.ack()

        return len(await _each(queue, count, ids, settle))


async def discard(
    options: RuntimeOptions, consumer: str, ids: list[str] | None
) -> list[DeadLetterInfo]:
    """Delete (ack) the messages with `ids` (all when None); returns what was removed."""
    async with _queue(options, consumer) as (_, queue, count):

        async def settle(message: AbstractIncomingMessage) -> None:
            await message.ack()

        return _explained(await _each(queue, count, ids, settle), consumer)


def _explained(found: list[DeadLetterInfo], consumer: str) -> list[DeadLetterInfo]:
    if consumer != UNROUTED:
        return found
    return [
        replace(i, reason=f"no queue bound for {i.routing_key!r}") if i.reason == "unknown" else i
        for i in found
    ]


def _reset(message: AbstractIncomingMessage) -> aio_pika.Message:
    replays = h.replayed_of(message)
    return h.copy_message(
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


async def _each(
    queue: AbstractQueue,
    count: int,
    ids: list[str] | None,
    settle: Callable[[AbstractIncomingMessage], Awaitable[None]],
) -> list[DeadLetterInfo]:
    """Settle the selected messages one by one; skipped ones are held, then released."""
    if ids is not None:
        await _check_present(queue, ids, count)
    wanted = None if ids is None else set(ids)
    done: list[DeadLetterInfo] = []
    held = 0
    last_held: AbstractIncomingMessage | None = None
    try:
        for _ in range(count):
            if wanted is not None and not wanted:
                break
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            if wanted is not None and message.message_id not in wanted:
                held, last_held = held + 1, message
                if held >= MAX_HELD:
                    break
                continue
            await settle(message)
            done.append(describe(message))
            if wanted is not None:
                wanted.discard(message.message_id or "")
    finally:
        await _release_through(last_held)
    return done


async def _check_present(queue: AbstractQueue, ids: list[str], count: int) -> None:
    taken, last = await _take(queue, min(count, MAX_HELD))
    present = {m.message_id for m in taken}
    await _release_through(last)
    missing = [i for i in dict.fromkeys(ids) if i not in present]
    if missing:
        raise UnknownIds(queue.name, missing)


async def _take(
    queue: AbstractQueue, limit: int
) -> tuple[list[DeadLetterInfo], AbstractIncomingMessage | None]:
    """Up to `limit` messages, described as they come: only the last one's body is kept."""
    found: list[DeadLetterInfo] = []
    last = None
    while len(found) < limit:
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        found.append(describe(message))
        last = message
    return found, last


async def _release_through(last: AbstractIncomingMessage | None) -> None:
    """Give back every message still unacked on the channel, up to and including `last`."""
    if last is not None:
        await last.nack(multiple=True, requeue=True)


@asynccontextmanager
async def _queue(
    options: RuntimeOptions, consumer: str, confirms: bool = False
) -> AsyncIterator[tuple[AbstractChannel, AbstractQueue, int]]:
    """The queue (passively: it must exist) and the number of messages it holds now."""
    connection = await options.connect("podium-dlq")
    async with connection:
        channel = await connection.channel(publisher_confirms=confirms, on_return_raises=confirms)
        name = queue_name(options, consumer)
        try:
            queue = await channel.declare_queue(name, passive=True)
        except ChannelNotFoundEntity as err:
            raise NoSuchQueue(name) from err
        count = int(queue.declaration_result.message_count or 0)
        yield channel, queue, count
