"""Work that a Temporal cancel must not stop halfway: an undo, the pivot, a publish."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def uninterruptible(work: Awaitable[T], cancelled: Callable[[], None]) -> T:
    """Await `work` to its end even if Temporal cancels the workflow meanwhile.

    Temporal's cancel is an asyncio cancel of the run's task: the shield keeps it from reaching
    `work`, and `cancelled` is told instead, once per cancel (sdk-python #620, #1224).
    """
    task = asyncio.ensure_future(work)
    while True:
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            if task.cancelled():
                raise
            cancelled()
