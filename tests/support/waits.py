"""Bounded waits: every poll loop of the tests is one of these two, and every queue is read
to the end by `drain`."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from adapters.rabbitmq import declare_event_exchange

T = TypeVar("T")


async def until(
    check: Callable[[], bool], within: float = 10.0, what: str = "", interval: float = 0.05
) -> None:
    """Poll a cheap synchronous check until it holds, or fail with AssertionError."""

    async def holds() -> bool:
        return check()

    await eventually(holds, bool, within, interval, what or str(check))


async def eventually(
    fetch: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    within: float = 10.0,
    interval: float = 0.05,
    what: str = "",
) -> T:
    """The first value `fetch` returns that passes `check`, or AssertionError after `within` s
    (naming `what` and the last value seen)."""
    deadline = time.monotonic() + within
    while True:
        value = await fetch()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}; last: {value}")
        await asyncio.sleep(interval)


async def tap(channel: AbstractChannel, exchange: str) -> AbstractQueue:
    """An exclusive queue bound to every order event on `exchange`, to count messages."""
    declared = await declare_event_exchange(channel, exchange)
    queue = await channel.declare_queue(exclusive=True)
    await queue.bind(declared, routing_key="order.#")
    return queue


async def drain(queue: AbstractQueue, settle: float = 0.5) -> list[AbstractIncomingMessage]:
    """Every message now in the queue (acked), waiting `settle` s for stragglers."""
    messages = []
    while (message := await queue.get(fail=False, timeout=settle)) is not None:
        await message.ack()
        messages.append(message)
    return messages


def elapsed(since: float) -> float:
    return round(time.monotonic() - since, 1)
