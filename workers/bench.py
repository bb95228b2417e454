"""`podium bench`: critical-path latency of an order next to the bare engine, in one run."""

import statistics
import time
import uuid
from collections.abc import Awaitable, Callable

from temporalio.worker import Worker

from activities.noop import noop
from contracts.order import OrderRequest, OrderState
from workers.order_input import SAMPLE_ADDRESS
from workers.ordering import place_order
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal
from workers.worker import running_worker
from workflows.baseline import NoopChainWorkflow

# create, reserve, charge, confirm, publish: the activities of a completed order.
ORDER_ACTIVITIES = 5


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def bench_order(tag: str, n: int) -> OrderRequest:
    return OrderRequest.model_validate(
        {
            "order_id": f"bench-{tag}-{n}",
            "customer_id": "cust-bench",
            "email": "bench@example.com",
            "shipping_address": SAMPLE_ADDRESS,
            "items": [{"sku": "MUG-BLUE", "quantity": 1, "unit_price": "12.50"}],
            "currency": "EUR",
            "payment_token": "tok_visa",
        }
    )


async def timed(action: Callable[[int], Awaitable[object]], n: int) -> float:
    started = time.perf_counter()
    await action(n)
    return time.perf_counter() - started


async def sequential_latency(
    settings: Settings, count: int, warmup: int = 3
) -> dict[str, list[float]]:
    """Alternate one order and one bare workflow, so drift on the machine hits both alike."""
    client = await connect_temporal(settings)
    tag = uuid.uuid4().hex[:8]
    bare_queue = f"{settings.task_queue}-bare-{tag}"
    samples: dict[str, list[float]] = {"order": [], "bare": []}

    async def one_order(n: int) -> None:
        result = await place_order(client, bench_order(tag, n), settings.task_queue)
        if result.state != OrderState.COMPLETED:
            raise RuntimeError(f"bench order did not complete: {result}")

    async def one_bare(n: int) -> None:
        await client.execute_workflow(
            NoopChainWorkflow.run, ORDER_ACTIVITIES, id=f"bare-{tag}-{n}", task_queue=bare_queue
        )

    bare_worker = Worker(
        client, task_queue=bare_queue, workflows=[NoopChainWorkflow], activities=[noop]
    )
    async with running_worker(client, settings), bare_worker:
        for n in range(warmup + count):
            order_s = await timed(one_order, n)
            bare_s = await timed(one_bare, n)
            if n >= warmup:
                samples["order"].append(order_s)
                samples["bare"].append(bare_s)
    return samples


def latency_table(samples: dict[str, list[float]]) -> str:
    rows = [f"{'':<34}{'p50':>9}{'p95':>9}{'mean':>9}"]
    labels = {
        "order": "podium order (saga, 5 activities)",
        "bare": f"bare workflow, {ORDER_ACTIVITIES} no-op activities",
    }
    for key, label in labels.items():
        s = [x * 1000 for x in samples[key]]
        rows.append(
            f"{label:<34}{percentile(s, 50):>7.1f}ms{percentile(s, 95):>7.1f}ms"
            f"{statistics.fmean(s):>7.1f}ms"
        )
    ratio = percentile(samples["order"], 50) / percentile(samples["bare"], 50)
    rows.append(f"{'ratio p50 (order / bare)':<34}{ratio:>8.2f}x")
    return "\n".join(rows)


async def run_bench(settings: Settings, count: int = 20) -> int:
    samples = await sequential_latency(settings, count)
    print(f"critical-path latency, {count} sequential orders, same server and process")
    print(latency_table(samples))
    return 0
