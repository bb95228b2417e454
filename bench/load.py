"""The load: each variant as a call placing one workflow, driven one at a time or N in flight.

Every call starts a workflow and waits for its result, so a latency is the client's view of
the critical path: submit to result available. An order's call also says when it was confirmed
(bench/confirmation.py).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from bench.all_orchestrated import AllOrchestratedOrderWorkflow
from bench.baseline import BareShapeWorkflow
from bench.confirmation import confirm_and_finish
from bench.environment import order_request
from bench.progress import Progress
from bench.running import Queues
from bench.shape import Shape
from contracts.order import OrderRequest, OrderResult, OrderState
from podium.client import fingerprint, outcome
from workflows.summaries import order_summary

PODIUM, SAME_SHAPE, ALL_REGULAR, ORCHESTRATED = (
    "podium",
    "same_shape",
    "all_regular",
    "orchestrated",
)
VARIANTS = (PODIUM, SAME_SHAPE, ALL_REGULAR, ORCHESTRATED)
# One at a time only: what running the fraud screen beside the reservation would change.
PARALLEL = "parallel_screen"
ONE_AT_A_TIME = (*VARIANTS, PARALLEL)


@dataclass(frozen=True)
class Placed:
    """What a call reports besides its latency."""

    event_id: str | None = None  # an order's outcome event
    confirmed: float | None = None  # an order's seconds from the start to its confirmation


Call = Callable[[int], Awaitable[Placed]]
"""Places workflow number n and waits for it."""


@dataclass
class Block:
    """Samples of one variant at one concurrency (possibly gathered over several rounds)."""

    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    event_ids: list[str] = field(default_factory=list)
    confirmations: list[float] = field(default_factory=list)

    def add(self, other: "Block") -> None:
        self.latencies += other.latencies
        self.wall += other.wall
        self.event_ids += other.event_ids
        self.confirmations += other.confirmations


def order_call(client: Client, task_queue: str, tag: str, letter: str) -> Call:
    """Podium orders on `task_queue`, numbered `bench-<tag>-<letter><n>`."""

    async def podium(n: int) -> Placed:
        request = OrderRequest.model_validate(order_request(f"bench-{tag}-{letter}{n}"))
        confirmed, _, result = await confirm_and_finish(client, request, task_queue)
        return Placed(completed(result), confirmed)

    return podium


def bare_call(
    client: Client, task_queue: str, tag: str, letter: str, shape: list[list[str]]
) -> Call:
    """Bare workflows of `shape` on `task_queue`, numbered `bench-<tag>-<letter><n>`."""

    async def run(n: int) -> Placed:
        await client.execute_workflow(
            BareShapeWorkflow.run, shape, id=f"bench-{tag}-{letter}{n}", task_queue=task_queue
        )
        return Placed()

    return run


def calls(client: Client, queues: Queues, tag: str, shape: Shape) -> dict[str, Call]:
    async def orchestrated(n: int) -> Placed:
        order = OrderRequest.model_validate(order_request(f"bench-{tag}-a{n}"))
        # Started as `place_order(..., wait="started")` starts an OrderWorkflow.
        handle = await client.start_workflow(
            AllOrchestratedOrderWorkflow.run,
            order,
            id=order.workflow_id,
            task_queue=queues.orchestrated,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            memo={"fingerprint": fingerprint(order)},
            static_summary=order_summary(order),
        )
        completed(await outcome(handle))
        return Placed()

    def bare(letter: str, shape: list[list[str]]) -> Call:
        return bare_call(client, queues.bare, tag, letter, shape)

    variants = {
        PODIUM: order_call(client, queues.podium, tag, "p"),
        SAME_SHAPE: bare("s", shape.sequential()),
        ALL_REGULAR: bare("r", shape.all_regular()),
        ORCHESTRATED: orchestrated,
    }
    if (parallel := shape.screen_beside_reservation()) is not None:
        variants[PARALLEL] = bare("q", parallel)
    return variants


def completed(result: OrderResult) -> str:
    if result.state != OrderState.COMPLETED or result.event_id is None:
        raise RuntimeError(f"bench order {result.order_id} did not complete: {result}")
    return result.event_id


async def timed(call: Call, n: int, block: Block) -> None:
    started = time.perf_counter()
    placed = await call(n)
    block.latencies.append(time.perf_counter() - started)
    if placed.event_id is not None:
        block.event_ids.append(placed.event_id)
    if placed.confirmed is not None:
        block.confirmations.append(placed.confirmed)


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


def rotated(n: int, variants: tuple[str, ...] = VARIANTS) -> tuple[str, ...]:
    """The variants in a different order each round, so none always runs first or last."""
    k = n % len(variants)
    return variants[k:] + variants[:k]
