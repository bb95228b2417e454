"""Runs several consumers in one process on one robust connection, a channel each.

Several processes running the same consumer share its queue as competing consumers.
"""

import asyncio
import signal
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import structlog
from aio_pika.abc import AbstractRobustConnection

from consumers.runtime.definition import Consumer
from consumers.runtime.loop import ConsumerLoop
from consumers.runtime.options import RuntimeOptions
from consumers.runtime.topology import declare_topology

log = structlog.get_logger(__name__)


async def declare(options: RuntimeOptions, consumers: Iterable[Consumer]) -> None:
    """Declare the topology of `consumers` once, on a connection of its own."""
    connection = await options.connect("podium-topology")
    async with connection:
        channel = await connection.channel()
        await declare_topology(channel, consumers, options.topology)


class ConsumerRunner:
    def __init__(self, consumers: Iterable[Consumer], options: RuntimeOptions) -> None:
        self.options = options
        self.loops = {c.name: ConsumerLoop(c, options) for c in consumers}
        self.connection: AbstractRobustConnection | None = None

    async def start(self) -> None:
        await declare(self.options, [loop.consumer for loop in self.loops.values()])
        self.connection = await self.options.connect("podium-consumers")
        for loop in self.loops.values():
            await loop.start(self.connection)

    async def stop(self) -> None:
        await asyncio.gather(*(loop.stop() for loop in self.loops.values()))
        if self.connection is not None:
            await self.connection.close()
            self.connection = None


@asynccontextmanager
async def running(
    consumers: Iterable[Consumer], options: RuntimeOptions
) -> AsyncIterator[ConsumerRunner]:
    """Consumers running in this event loop; stopped gracefully on exit."""
    runner = ConsumerRunner(consumers, options)
    try:
        await runner.start()
        yield runner
    finally:
        await runner.stop()


async def run_until_signalled(consumers: Iterable[Consumer], options: RuntimeOptions) -> None:
    """Run until SIGINT or SIGTERM, then finish the messages in flight and exit."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with running(consumers, options) as runner:
            log.info("consumers running", names=sorted(runner.loops))
            await stop.wait()
            log.info("signal received, stopping consumers")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
