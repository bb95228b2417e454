"""The load: each variant as a call placing one workflow, driven one at a time or N in flight.

Every call starts a workflow and waits for its result, so a latency is the client's view of
the critical path: submit to result available.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from bench.all_orchestrated import AllOrchestratedOrderWorkflow
from bench.baseline import NoopChainWorkflow
from bench.environment import order_request
from bench.progress import Progress
from bench.running import Queues
from contracts.order import OrderRequest, OrderResult, OrderState
from podium.client import fingerprint, place_order

# create, reserve, charge, confirm, publish: the activities of a completed order.
ORDER_ACTIVITIES = 5

PODIUM, BARE, ORCHESTRATED = "podium", "bare", "orchestrated"
VARIANTS = (PODIUM, BARE, ORCHESTRATED)

Call = Callable[[int], Awaitable[str | None]]
"""Places workflow number n and waits for it; returns the event id of an order, if any."""


@dataclass
class Block:
    """Samples of one variant at one concurrency (possibly gathered over several rounds)."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    event_ids: list[str] = field(default_factory=list)

    def add(self, other: "Block") -> None:
        self.latencies += other.latencies
        self.wall += other.wall
        self.event_ids += other.event_ids


def calls(client: Client, queues: Queues, tag: str) -> dict[str, Call]:
    def request(kind: str, n: int) -> OrderRequest:
        return OrderRequest.model_validate(order_request(f"bench-{tag}-{kind}{n}"))

    async def podium(n: int) -> str | None:
        return completed(await place_order(client, request("p", n), queues.podium, wait="outcome"))

    async def orchestrated(n: int) -> str | None:
        order = request("a", n)
        # Started exactly as `place_order` starts an OrderWorkflow.
        handle = await client.start_workflow(
            AllOrchestratedOrderWorkflow.run,
            order,
            id=order.workflow_id,
            task_queue=queues.orchestrated,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"fingerprint": fingerprint(order)},
        )
        return completed(await handle.result())

    async def bare(n: int) -> str | None:
        await client.execute_workflow(
            NoopChainWorkflow.run, ORDER_ACTIVITIES, id=f"bench-{tag}-b{n}", task_queue=queues.bare
        )
        return None

    return {PODIUM: podium, BARE: bare, ORCHESTRATED: orchestrated}


def completed(result: OrderResult) -> str:
    if result.state != OrderState.COMPLETED or result.event_id is None:
        raise RuntimeError(f"bench order {result.order_id} did not complete: {result}")
    return result.event_id


async def timed(call: Call, n: int, block: Block) -> None:
    started = time.perf_counter()
    event_id = await call(n)
    block.latencies.append(time.perf_counter() - started)
    if event_id is not None:
        block.event_ids.append(event_id)


async def closed_loop(
    call: Call,
    numbers: range,
    concurrency: int,
    budget: float,
    progress: Progress | None = None,
) -> Block:
    """Keep `concurrency` workflows in flight until `numbers` are all placed or `budget`
    seconds have passed (then the ones in flight finish and count)."""
    block = Block()
    pending = iter(numbers)
    deadline = time.perf_counter() + budget

    async def lane() -> None:
        for n in pending:  # the lanes share one iterator: each number is placed once
            await timed(call, n, block)
            if progress:
                progress.advance()
            if time.perf_counter() > deadline:
                return

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    block.wall = time.perf_counter() - started
    return block


def rotated(n: int) -> tuple[str, ...]:
    """The variants in a different order each round, so none always runs first or last."""
    k = n % len(VARIANTS)
    return VARIANTS[k:] + VARIANTS[:k]
