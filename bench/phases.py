"""The latency phases: one workflow at a time, then many in flight, variants alternated."""

import asyncio
import time
from dataclasses import dataclass, field

from bench.effects_done import EffectsDone
from bench.load import ONE_AT_A_TIME, PODIUM, VARIANTS, Block, Call, closed_loop, rotated, timed
from bench.progress import Progress


@dataclass
class Phase:
    concurrency: int
    blocks: dict[str, Block] = field(default_factory=lambda: {v: Block() for v in ONE_AT_A_TIME})
    # Hybrid only: from the first order placed to its block's last side effect done, summed.
    podium_until_effects: float = 0.0
    gap: float = 0.0  # seconds between two workflows, one at a time

    @property
    def key(self) -> str:
        return f"c{self.concurrency}"


class Numbering:
    """Workflow numbers never repeat within a run (workflow ids must be unique)."""

    def __init__(self) -> None:
        self._next = 0

    def take(self, count: int) -> range:
        start, self._next = self._next, self._next + count
        return range(start, self._next)


class Tally:
    """Orders placed so far, on any queue: each publishes an event the consumers must do."""

    def __init__(self) -> None:
        self.orders = 0


@dataclass(frozen=True)
class Shared:
    """What every phase of one run uses: workflow numbers, the effects' progress, the display."""

    numbers: Numbering
    effects: EffectsDone
    progress: Progress
    placed: Tally = field(default_factory=Tally)

    async def settled(self) -> float:
        """Wait until the consumers have done every order placed so far; how long."""
        return await self.effects.settled(self.placed.orders)


@dataclass(frozen=True)
class Rounds:
    """`rounds` rounds of blocks of `per_round` workflows at `concurrency`; a block also ends
    after `budget` seconds."""

    concurrency: int
    per_round: int
    rounds: int
    budget: float

    async def block(self, call: Call, shared: Shared, orders: bool = False) -> Block:
        """One closed-loop block; `orders`: the call places podium orders (counted)."""
        block = await closed_loop(
            call,
            shared.numbers.take(self.per_round),
            self.concurrency,
            self.budget,
            shared.progress,
        )
        shared.progress.advance(self.per_round - len(block.latencies))  # ended by its budget
        if orders:
            shared.placed.orders += len(block.latencies)
        return block


async def one_at_a_time(
    calls: dict[str, Call],
    count: int,
    warmup: int,
    budget: float,
    gap: float,
    shared: Shared,
) -> Phase:
    """Alternate one workflow of each variant, so drift on the machine hits all alike, with
    `gap` seconds of rest before each; stop after `count` rounds or `budget` seconds (at least
    3 rounds)."""
    phase = Phase(concurrency=1, gap=gap)
    numbers, progress = shared.numbers, shared.progress
    variants = tuple(v for v in ONE_AT_A_TIME if v in calls)
    progress.phase("concurrency 1, variants alternated", (warmup + count) * len(variants))
    deadline = time.perf_counter() + budget
    for i, n in enumerate(numbers.take(warmup + count)):
        if i >= warmup + 3 and time.perf_counter() > deadline:
            progress.advance((warmup + count - i) * len(variants))  # out of time: skip the rest
            break
        for variant in rotated(i, variants):
            block = phase.blocks[variant] if i >= warmup else Block()
            # Back-to-back starts were reported slower on the dev server, for every variant.
            await asyncio.sleep(gap)
            await timed(calls[variant], n, block)
            progress.advance()
        shared.placed.orders += 1
    for block in phase.blocks.values():
        block.wall = sum(block.latencies)  # one at a time: throughput is 1 / mean latency
    await shared.settled()
    return phase


async def in_flight(calls: dict[str, Call], rounds: Rounds, shared: Shared) -> Phase:
    """Rounds of one block per variant, the order rotated each round.

    After each podium block the consumers are let finish its events before the next block,
    so a backlog never steals the machine from another variant; that wait is what the hybrid
    end-to-end throughput adds.
    """
    phase = Phase(concurrency=rounds.concurrency)
    shared.progress.phase(
        f"concurrency {rounds.concurrency}, {rounds.rounds} rounds of blocks",
        rounds.per_round * rounds.rounds * len(VARIANTS),
    )
    for r in range(rounds.rounds):
        for variant in rotated(r):
            block = await rounds.block(calls[variant], shared, orders=variant == PODIUM)
            phase.blocks[variant].add(block)
            if variant == PODIUM:
                waited = await shared.settled()
                phase.podium_until_effects += block.wall + waited
    return phase
