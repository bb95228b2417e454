"""The soak driver: its own stack in a temp folder (Temporal dev server, three-node RabbitMQ
cluster, private PostgreSQL), worker and consumer processes on PostgreSQL, orders at a steady
rate while Chaos kills things, then the invariants (tests/faults/soak/verdict.py)."""

import asyncio
import contextlib
import random
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from temporalio.client import Client, WorkflowHandle
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError

from contracts.order import OrderResult
from infra.stack import LocalStack, StackConfig
from podium.client import cancel_order, order_handle, outcome, place_order
from tests.faults.soak.chaos import Chaos
from tests.faults.soak.mix import REVIEW_ABOVE, SoakOrder, soak_orders
from tests.faults.soak.verdict import Verdict, judge
from tests.support.databases import on_postgres
from tests.support.invariants import ConsumerStores
from tests.support.running import Process, wait_settled
from tests.support.servers import TEST_NAMESPACE, quick_consumers, running_mail_server, settings_for
from workers.bootstrap import declare_consumer_topology
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

T = TypeVar("T")

# Transient gateway faults on top of the `transient` orders; review windows short enough to
# run out during the soak.
WORKER_ENV = {
    "PODIUM_PAYMENT_FAILURE_RATE": "0.1",
    "PODIUM_PAYMENT_LATENCY_MS": "20",
    "PODIUM_REVIEW_ABOVE": REVIEW_ABOVE,
    "PODIUM_REVIEW_TIMEOUT": "2",
}
# Long enough a ladder that a consumer rides out a PostgreSQL or broker restart instead of
# dead-lettering the event it was handling.
RETRY_DELAYS_MS = [500, 2_000, 5_000, 10_000]
# The driver's client retries through every Temporal restart on purpose: without this its SDK
# logs a warning per call and retry, hundreds a restart, drowning the kills and the verdict.
QUIET = Runtime(
    telemetry=TelemetryConfig(
        logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
    )
)


@dataclass(frozen=True)
class SoakPlan:
    orders: int
    rate: float  # orders placed per second
    kills: int
    seed: int = 12
    workers: int = 2
    consumer_processes: int = 2
    settle_seconds: float = 120.0  # after the last order, for every order to end


async def soak(plan: SoakPlan) -> Verdict:
    # Not under a 0700 folder of root's: the `postgres` account must reach its cluster.
    home = Path(tempfile.mkdtemp(prefix="podium-soak-"))
    config = StackConfig.ephemeral(home, with_postgres=True, rabbit_nodes=3)
    stack = LocalStack(replace(config, namespaces=(*config.namespaces, TEST_NAMESPACE)))
    kept = False
    try:
        print(f"starting the stack in {home}", flush=True)
        info = await asyncio.to_thread(stack.up)
        assert info.database_url is not None
        with running_mail_server(home / "mail") as mail:
            settings = quick_consumers(settings_for(info, home), mail).model_copy(
                update={
                    "amqp_url": ",".join(info.amqp_urls),
                    "consumer_retry_delays_ms": RETRY_DELAYS_MS,
                    "metrics_port": 0,
                    "consumer_metrics_port": 0,
                    "trace_file": home / "spans.jsonl",
                }
            )
            settings = on_postgres(settings, info.database_url)
            verdict = await _soak_on(plan, stack, settings, mail.folder, home / "logs-podium")
        kept = not verdict.holds
        if kept:
            print(f"logs and data kept in {home}", flush=True)
        return verdict
    finally:
        await asyncio.to_thread(stack.down)
        if not kept:
            shutil.rmtree(home, ignore_errors=True)


async def _soak_on(
    plan: SoakPlan, stack: LocalStack, settings: Settings, mail_dir: Path, logs: Path
) -> Verdict:
    rng = random.Random(plan.seed)
    orders = soak_orders(plan.orders, rng, f"{plan.seed}-{int(time.time())}")
    await declare_consumer_topology(settings)  # events are routable before any consumer runs
    processes = {
        f"worker-{i}": Process("worker", settings, logs / f"worker-{i}.log", WORKER_ENV)
        for i in range(plan.workers)
    } | {
        f"consumers-{i}": Process("consumers", settings, logs / f"consumers-{i}.log")
        for i in range(plan.consumer_processes)
    }
    for process in processes.values():
        process.start()
    chaos = Chaos(stack, processes, rng)
    chaos.say(
        f"{plan.orders} orders at {plan.rate}/s, {plan.kills} kills, seed {plan.seed}, "
        f"{plan.workers} workers, {plan.consumer_processes} consumer processes"
    )
    client = await connect_temporal(settings, QUIET)
    placing = plan.orders / plan.rate
    results: dict[str, OrderResult] = {}
    stores = ConsumerStores.of(settings, mail_dir)
    waits: list[asyncio.Task[OrderResult]] = []
    cancels: dict[str, bool] = {}  # order id -> whether its customer's cancel was accepted
    kills = asyncio.create_task(chaos.run(plan.kills, placing))
    try:
        for order in orders:  # at a steady rate, each order's run awaited by its own task
            cancel_after = rng.uniform(0.05, 1.0)
            waits.append(
                asyncio.create_task(_place_and_wait(client, settings, order, cancel_after, cancels))
            )
            await asyncio.sleep(1 / plan.rate)
        await kills
        chaos.say(f"all {plan.orders} orders placed, no more kills; waiting for them to end")
        guard = asyncio.create_task(chaos.guard(lambda: all(w.done() for w in waits)))
        done, _ = await asyncio.wait(waits, timeout=plan.settle_seconds)
        guard.cancel()
        for order, task in zip(orders, waits, strict=False):
            if task in done and task.exception() is None:
                results[order.request.order_id] = task.result()
                continue
            # The driver's own wait gave up (or failed while a server was away): ask Temporal
            # afresh, so a lost order is one the system lost, not one the driver stopped
            # watching.
            why = "still waiting" if task not in done else repr(task.exception())[:200]
            chaos.say(f"{order.request.order_id}: {why}; asking Temporal for its outcome again")
            handle = order_handle(client, order.request.order_id)
            with contextlib.suppress(Exception):
                async with asyncio.timeout(30):
                    results[order.request.order_id] = await _retried(lambda h=handle: outcome(h))
        chaos.say(f"{len(results)} of {plan.orders} orders ended; waiting for the consumers")
        final = list(results.values())
        with contextlib.suppress(AssertionError):  # the verdict counts what is missing
            await wait_settled(final, stores, within=60)
    finally:
        for process in processes.values():
            await asyncio.to_thread(process.stop)
        for task in [kills, *waits]:
            task.cancel()
    return await judge(orders, results, cancels, settings, stores, client, chaos)


async def _place_and_wait(
    client: Client,
    settings: Settings,
    order: SoakOrder,
    cancel_after: float,
    cancels: dict[str, bool],
) -> OrderResult:
    handle: WorkflowHandle[object, OrderResult] = await _retried(
        lambda: place_order(client, order.request, settings.task_queue, wait="started")
    )
    if order.kind == "cancel":
        await asyncio.sleep(cancel_after)
        answer = await _retried(lambda: cancel_order(client, order.request.order_id))
        cancels[order.request.order_id] = answer.accepted
    return await _retried(lambda: outcome(handle))


async def _retried(call: Callable[[], Awaitable[T]], within: float = 120.0) -> T:
    """`call` again while the Temporal server is away (killed and restarting)."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await call()
        except RPCError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
