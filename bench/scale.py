"""`podium bench --scale`: orders/s with 1, 2 and 3 worker processes on one task queue, and
loyalty events/s with 1 and 2 consumer processes on one queue, on SQLite and on PostgreSQL.

Each backend gets databases of its own for the run: SQLite files in the run's folder, shared by
the processes on this host; on PostgreSQL (the configured `PODIUM_DATABASE_URL`) fresh schemas
under a per-run prefix, dropped at the end. Each worker count gets a task queue of its own and
the same closed load (`concurrency` orders in flight for `seconds`, after a warm-up that is not
counted). Each consumer count drains a queue pre-filled with `events` order.completed.v1 events;
every consumer process starts, and only once all are up are they told to consume (SIGUSR1)
and the clock starts: their start-up is not counted, their connecting is.
"""

import asyncio
import os
import signal
import sys
import time
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr
from temporalio.client import Client

from bench.cpu_cost import worker_process
from bench.environment import (
    BENCH_PREFIX,
    BENCH_STOCK,
    SKU,
    bench_settings,
    delete_broker_objects,
)
from bench.load import closed_loop, order_call
from bench.scale_schemas import drop_schemas
from bench.throughput import preload
from consumers import loyalty
from services.inventory import InventoryService
from workers.bootstrap import consumer_stores, declare_consumer_topology, service_location
from workers.runtime.settings import Settings

SQLITE, POSTGRESQL = "sqlite", "postgresql"
ORDERS, EVENTS = "orders/s", "events/s"
POLL = 0.05  # seconds between looks at the consumer store's count


@dataclass(frozen=True)
class ScalePlan:
    seconds: float  # of closed-loop load per worker count
    concurrency: int  # orders in flight
    warmup: int  # orders placed before each block, not counted
    events: int  # pre-filled per consumer count
    consumer_budget: float  # seconds per consumer count at most
    workers: tuple[int, ...] = (1, 2, 3)
    consumers: tuple[int, ...] = (1, 2)


@dataclass(frozen=True)
class ScaleRow:
    backend: str
    what: str  # ORDERS or EVENTS
    processes: int
    count: int  # orders or events counted
    seconds: float
    rate: float


def scale_plan(seconds: float | None, concurrency: int | None) -> ScalePlan:
    return ScalePlan(
        seconds=seconds or 20.0,
        concurrency=concurrency or 16,
        warmup=16,
        events=2000,
        consumer_budget=max(seconds or 20.0, 10.0),
    )


async def measure_scale(
    base: Settings, client: Client, plan: ScalePlan, folder: Path, postgres_url: str | None
) -> list[ScaleRow]:
    """Every row, on SQLite and (when `postgres_url` is given) on PostgreSQL."""
    tag = uuid.uuid4().hex[:6]
    rows: list[ScaleRow] = []
    backends = [SQLITE] + ([POSTGRESQL] if postgres_url else [])
    for backend in backends:
        prefix = f"{BENCH_PREFIX}{tag}-{backend[0]}"
        # Several processes of one kind on this host: none serves metrics (one port each).
        changes: dict[str, object] = {"metrics_port": 0, "consumer_metrics_port": 0}
        schemas = f"b{tag}_"
        if backend == POSTGRESQL:
            assert postgres_url is not None
            changes |= {"database_url": SecretStr(postgres_url), "database_schema_prefix": schemas}
        settings = bench_settings(base, prefix, folder / backend, **changes)
        try:
            rows += await _orders(client, settings, plan, folder, backend, tag)
            rows += await _events(settings, plan, folder, backend)
        finally:
            for count in plan.consumers:
                consumer = _consumer_settings(settings, count)
                await delete_broker_objects(consumer, (f"{consumer.consumer_queue_prefix}.raw",))
            await delete_broker_objects(settings)
            if backend == POSTGRESQL:
                assert postgres_url is not None
                await asyncio.to_thread(drop_schemas, postgres_url, schemas)
    return rows


async def _orders(
    client: Client, settings: Settings, plan: ScalePlan, folder: Path, backend: str, tag: str
) -> list[ScaleRow]:
    (folder / backend).mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(
        lambda: InventoryService(
            service_location(settings, "inventory"), {SKU: BENCH_STOCK}
        ).close()
    )
    await declare_consumer_topology(settings)  # the orders' events need their exchange
    rows = []
    for count in plan.workers:
        queue = settings.model_copy(update={"task_queue": f"{settings.task_queue}-w{count}"})
        call = order_call(client, queue.task_queue, tag, f"{backend[0]}{count}-")
        _say(f"{backend}: {count} worker process(es), {plan.seconds:g} s of orders")
        async with AsyncExitStack() as stack:
            for _ in range(count):
                await stack.enter_async_context(
                    worker_process(queue, folder / "worker-process.log")
                )
            await closed_loop(call, range(plan.warmup), plan.concurrency, plan.seconds)
            numbers = range(plan.warmup, 10**9)
            block = await closed_loop(call, numbers, plan.concurrency, plan.seconds)
        done = len(block.latencies)
        rate = done / block.wall if block.wall else 0.0
        rows.append(ScaleRow(backend, ORDERS, count, done, block.wall, rate))
    return rows


def _consumer_settings(settings: Settings, count: int) -> Settings:
    return settings.model_copy(
        update={"consumer_queue_prefix": f"{settings.consumer_queue_prefix}-c{count}"}
    )


async def _events(
    settings: Settings, plan: ScalePlan, folder: Path, backend: str
) -> list[ScaleRow]:
    rows = []
    for count in plan.consumers:
        consumer = _consumer_settings(settings, count)
        _say(f"{backend}: {count} consumer process(es), {plan.events} events")
        await preload(consumer, f"{consumer.consumer_queue_prefix}.raw", plan.events)
        store = (await consumer_stores(consumer, [loyalty.NAME]))[loyalty.NAME]
        try:
            before = await asyncio.to_thread(store.processed_count)
            target = before + plan.events
            async with AsyncExitStack() as stack:
                pids = [
                    await stack.enter_async_context(
                        worker_process(consumer, folder / "consumer-process.log", consumer=True)
                    )
                    for _ in range(count)
                ]
                for pid in pids:  # all up: now they may consume
                    os.kill(pid, signal.SIGUSR1)
                started, first = time.perf_counter(), await asyncio.to_thread(store.processed_count)
                deadline = started + plan.consumer_budget
                last = first
                while last < target and time.perf_counter() < deadline:
                    await asyncio.sleep(POLL)
                    last = await asyncio.to_thread(store.processed_count)
                wall = time.perf_counter() - started
        finally:
            await asyncio.to_thread(store.close)
        rate = (last - first) / wall if wall > 0 else 0.0
        rows.append(ScaleRow(backend, EVENTS, count, last - first, wall, rate))
    return rows


def _say(step: str) -> None:
    """Where the run is, on stderr (the table goes to stdout at the end)."""
    print(f"scale: {step}", file=sys.stderr, flush=True)


def machine() -> dict[str, object]:
    return {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
