"""The latency phases: one workflow at a time, then many in flight, variants alternated."""

import time
from dataclasses import dataclass, field

from bench.effects_done import EffectsDone
from bench.load import PODIUM, VARIANTS, Block, Call, closed_loop, rotated, timed
from bench.progress import Progress


@dataclass
class Phase:
    concurrency: int
    blocks: dict[str, Block] = field(default_factory=lambda: {v: Block() for v in VARIANTS})
    # Hybrid only: from the first order placed to its block's last side effect done, summed.
    podium_until_effects: float = 0.0
    podium_placed: int = 0  # warm-up included: what the consumers have to get through


class Numbering:
    """Workflow numbers never repeat within a run (workflow ids must be unique)."""

    def __init__(self) -> None:
        self._next = 0

    def take(self, count: int) -> range:
        start, self._next = self._next, self._next + count
        return range(start, self._next)


async def one_at_a_time(
    calls: dict[str, Call],
    count: int,
    warmup: int,
    budget: float,
    numbers: Numbering,
    effects: EffectsDone,
    progress: Progress,
) -> Phase:
    """Alternate one workflow of each variant, so drift on the machine hits all alike; stop
    after `count` rounds or `budget` seconds (at least 3 rounds)."""
    phase = Phase(concurrency=1)
    progress.phase("concurrency 1, variants alternated", (warmup + count) * len(VARIANTS))
    deadline = time.perf_counter() + budget
    for i, n in enumerate(numbers.take(warmup + count)):
        if i >= warmup + 3 and time.perf_counter() > deadline:
            progress.advance((warmup + count - i) * len(VARIANTS))  # out of time: skip the rest
            break
        for variant in rotated(i):
            block = phase.blocks[variant] if i >= warmup else Block()
            await timed(calls[variant], n, block)
            progress.advance()
        phase.podium_placed += 1
    for block in phase.blocks.values():
        block.wall = sum(block.latencies)  # back to back: throughput is 1 / mean latency
    await effects.settled(phase.podium_placed)
    return phase


async def in_flight(
    calls: dict[str, Call],
    concurrency: int,
    per_round: int,
    rounds: int,
    block_budget: float,
    numbers: Numbering,
    effects: EffectsDone,
    placed_before: int,
    progress: Progress,
) -> Phase:
    """Rounds of one block per variant at `concurrency`, the order rotated each round; a block
    ends after `per_round` workflows or `block_budget` seconds.

    After each podium block the consumers are let finish its events before the next block,
    so a backlog never steals the machine from another variant; that wait is what the hybrid
    end-to-end throughput adds.
    """
    phase = Phase(concurrency=concurrency, podium_placed=placed_before)
    progress.phase(
        f"concurrency {concurrency}, {rounds} rounds of blocks", per_round * rounds * len(VARIANTS)
    )
    for r in range(rounds):
        for variant in rotated(r):
            block = await closed_loop(
                calls[variant], numbers.take(per_round), concurrency, block_budget, progress
            )
            phase.blocks[variant].add(block)
            progress.advance(per_round - len(block.latencies))  # ended by its time budget
            if variant == PODIUM:
                phase.podium_placed += len(block.latencies)
                started = time.perf_counter()
                await effects.settled(phase.podium_placed)
                phase.podium_until_effects += block.wall + (time.perf_counter() - started)
    return phase
