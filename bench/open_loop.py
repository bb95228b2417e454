"""Open loop: orders arrive at a fixed rate whatever the system does, as customers would, and
each is followed to its confirmation, its full result and its side effects.

A closed loop (N in flight) slows its arrivals when the system slows; an open loop does not, so
its latencies include any queueing a burst would meet. The default rate is half the saturated
rate measured earlier in the same run.
"""

import asyncio
import time
from dataclasses import dataclass, field

from bench.load import Block, Call, timed
from bench.phases import Shared

MAX_ORDERS = 2000  # bounds a `--rate` given by hand


@dataclass
class OpenLoop:
    rate: float  # orders per second asked for
    source: str  # where the rate came from
    duration: float  # seconds of arrivals
    block: Block = field(default_factory=Block)
    late: float = 0.0  # the latest any arrival started behind its schedule, seconds
    span: float = 0.0  # seconds from the first start to the last

    @property
    def arrivals(self) -> float:
        """Orders per second actually started."""
        starts = len(self.block.latencies)
        return (starts - 1) / self.span if self.span > 0 else self.rate


async def open_loop(
    call: Call, rate: float, source: str, duration: float, shared: Shared
) -> OpenLoop:
    """Start one order every 1 / `rate` seconds for `duration` seconds, then wait for all."""
    count = max(2, min(MAX_ORDERS, round(rate * duration)))
    run = OpenLoop(rate, source, duration=count / rate)
    shared.progress.phase(f"open loop, {rate:.1f} orders/s", count)
    started = time.perf_counter()
    tasks = []

    async def one(n: int) -> None:
        await timed(call, n, run.block)
        shared.progress.advance()

    for i, n in enumerate(shared.numbers.take(count)):
        due = started + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        run.late = max(run.late, time.perf_counter() - due)
        tasks.append(asyncio.create_task(one(n)))
    run.span = time.perf_counter() - started
    await asyncio.gather(*tasks)
    run.block.wall = time.perf_counter() - started
    shared.placed.orders += count
    await shared.settled()
    return run
