"""`podium bench`: every figure measured side by side in one run, on the running local stack."""

import asyncio
import logging
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.cpu import listening_pid
from bench.cpu_cost import Workload, cpu_per_order
from bench.effects_done import EffectsDone, lags
from bench.environment import BenchEnv, bench_environment
from bench.load import PODIUM, Call, calls
from bench.namespace import ensure_namespace
from bench.open_loop import OpenLoop, open_loop
from bench.phases import Numbering, Phase, Rounds, Shared, in_flight, one_at_a_time
from bench.plot import write_plot
from bench.progress import Progress
from bench.report import Extras, build_report, write_report
from bench.running import EventTimes, running_everything
from bench.shape import Shape, order_shape
from bench.sqlite_transactions import SqliteCost, sqlite_transactions
from bench.table import format_table
from bench.throughput import Rates, consumer_throughput
from bench.tracing_cost import TracingCost, install_switchable_tracing, tracing_cost
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

DEFAULT_CONCURRENCY = 16  # saturates 2 cores: see docs/benchmarks.md
DEFAULT_GAP_MS = 200.0
SANDBOXED = Workload("sandboxed", "strict")


@dataclass(frozen=True)
class Plan:
    """How many samples, capped by time budgets so a slow or busy machine still finishes."""

    sequential: int  # per variant, one at a time
    warmup: int  # per variant, before the sequential samples, not counted
    sequential_budget: float  # seconds
    gap: float  # seconds of rest before each workflow, one at a time
    concurrency: int
    rounds: int
    per_round: int  # per variant and round, at `concurrency`
    block_budget: float  # seconds per variant and round
    rate: float | None  # open-loop orders/s; None: half the saturated rate
    open_seconds: float  # of open-loop arrivals
    cpu_workloads: tuple[Workload, ...]  # a CPU block on a worker process for each
    tracing_rounds: int  # of the tracing cost, a block off and on each; 0: not measured
    consumer_events: int
    consumer_rounds: int
    consumer_budget: float  # seconds per consumer and round
    sqlite_transactions: int  # per variant and round
    sqlite_rounds: int


def plan_for(
    quick: bool,
    orders: int | None,
    concurrency: int | None,
    gap_ms: float | None = None,
    rate: float | None = None,
) -> Plan:
    conc = concurrency or DEFAULT_CONCURRENCY
    gap = (DEFAULT_GAP_MS if gap_ms is None else gap_ms) / 1000
    if quick:
        rounds, total = 2, orders or 200
        return Plan(
            sequential=20,
            warmup=1,
            sequential_budget=10.0,
            gap=gap,
            concurrency=conc,
            rounds=rounds,
            per_round=math.ceil(total / rounds),
            block_budget=2.5,
            rate=rate,
            open_seconds=6.0,
            cpu_workloads=(SANDBOXED,),
            tracing_rounds=1,
            consumer_events=500,
            consumer_rounds=1,
            consumer_budget=4.0,
            sqlite_transactions=200,
            sqlite_rounds=2,
        )
    rounds, total = 3, orders or 1500
    return Plan(
        sequential=60,
        warmup=3,
        sequential_budget=40.0,
        gap=gap,
        concurrency=conc,
        rounds=rounds,
        per_round=math.ceil(total / rounds),
        block_budget=6.0,
        rate=rate,
        open_seconds=20.0,
        cpu_workloads=(
            SANDBOXED,
            Workload("bare same-shape", "strict", bare=True),
            Workload("passthrough", "passthrough"),
            Workload("unsandboxed", "off"),
        ),
        tracing_rounds=2,
        consumer_events=2000,
        consumer_rounds=2,
        consumer_budget=10.0,
        sqlite_transactions=500,
        sqlite_rounds=4,
    )


@contextmanager
def quiet_logs() -> Iterator[None]:
    """INFO logs (a line per saga step) would drown the progress line: WARNING and up only."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        root.setLevel(level)


@dataclass
class Measured:
    shape: Shape | None = None
    phases: list[Phase] = field(default_factory=list)
    lags: dict[str, list[float]] = field(default_factory=dict)
    extras: Extras = field(default_factory=Extras)
    rates: Rates | None = None
    tracing: TracingCost | None = None
    sqlite: SqliteCost | None = None


async def run_bench(
    settings: Settings,
    orders: int | None = None,
    *,
    concurrency: int | None = None,
    quick: bool = False,
    gap_ms: float | None = None,
    rate: float | None = None,
    out_dir: Path | None = None,
    plan: Plan | None = None,
) -> int:
    """Run every phase, print the table, write the JSON report and the plot; 0 on success.

    `orders`: workflows per variant at `concurrency` (default 1500, quick 200), each block
    also capped by time; `concurrency`: workflows in flight in that phase (default 16);
    `gap_ms`: rest before each workflow at concurrency 1 (default 200); `rate`: open-loop
    orders per second (default half the saturated rate); `plan` replaces all of these.
    """
    plan = plan or plan_for(quick, orders, concurrency, gap_ms, rate)
    started = datetime.now(UTC)
    folder = out_dir or settings.data_dir.parent / "bench"
    progress = Progress(total_phases=5 + bool(plan.tracing_rounds) + len(plan.cpu_workloads))
    # Every workflow of the run, orders and bare baselines alike, lives in the bench's namespace.
    settings = settings.model_copy(update={"temporal_namespace": settings.bench_namespace})
    client = await connect_temporal(settings)
    await ensure_namespace(client)
    with quiet_logs():
        m = await _measure(settings, client, plan, folder, progress)
    progress.close()
    config: dict[str, Any] = asdict(plan) | {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "python": sys.version.split()[0],
        "temporalio": version("temporalio"),
        "temporal": settings.temporal_address,
        "temporal_namespace": settings.temporal_namespace,
        "prefetch": settings.consumer_prefetch,
        "consumer_concurrency": settings.consumer_concurrency,
        "max_concurrent_activities": settings.max_concurrent_activities,
        "max_concurrent_workflow_tasks": settings.max_concurrent_workflow_tasks,
        "log_level_during_run": "WARNING",
        "gap_ms": plan.gap * 1000,
    }
    if m.shape is not None:
        config["shape"] = asdict(m.shape) | {"describe": m.shape.describe()}
    report = build_report(config, m.phases, m.lags, m.rates, m.tracing, m.sqlite, m.extras)
    path = write_report(report, folder, started)
    print(format_table(report))
    print(f"\nreport: {path}")
    png = write_plot(report, path.with_suffix(".png"))
    if png is None:
        print("plot:   skipped, matplotlib is not installed (pip install -e '.[bench]')")
    else:
        print(f"plot:   {png}")
    return 0


async def _measure(
    settings: Settings, client: Client, plan: Plan, folder: Path, progress: Progress
) -> Measured:
    times = EventTimes()
    m = Measured()
    async with bench_environment(settings, folder) as env:
        effects = await EffectsDone.of(env.hybrid)
        shared = Shared(Numbering(), effects, progress)
        async with running_everything(client, env, times) as queues:
            m.shape = await order_shape(client, queues.podium, env.tag)
            shared.placed.orders += 1
            variant_calls = calls(client, queues, env.tag, m.shape)
            sequential = await one_at_a_time(
                variant_calls,
                plan.sequential,
                plan.warmup,
                plan.sequential_budget,
                plan.gap,
                shared,
            )
            rounds = Rounds(plan.concurrency, plan.per_round, plan.rounds, plan.block_budget)
            saturated = await in_flight(variant_calls, rounds, shared)
            m.phases = [sequential, saturated]
            m.extras.open_loop = await _open_loop(variant_calls[PODIUM], plan, saturated, shared)
            await _cpu_phases(client, env, plan, rounds, shared, m)
            sampler = None
            if plan.tracing_rounds:
                sampler = install_switchable_tracing(folder / "spans.jsonl")
            if sampler is not None:
                traced = replace(rounds, rounds=plan.tracing_rounds)
                m.tracing = await tracing_cost(variant_calls[PODIUM], sampler, traced, shared)
        done = await asyncio.to_thread(effects.done)
        blocks = {p.key: p.blocks[PODIUM] for p in m.phases}
        if m.extras.open_loop is not None:
            blocks["open"] = m.extras.open_loop.block
        m.lags = {key: lags(b.event_ids, times.occurred, done) for key, b in blocks.items()}
        m.rates = await consumer_throughput(
            env.consumer_only,
            plan.consumer_events,
            plan.consumer_rounds,
            plan.consumer_budget,
            progress,
        )
        m.sqlite = await sqlite_transactions(
            env.folder, plan.sqlite_transactions, plan.sqlite_rounds, progress
        )
    return m


async def _open_loop(call: Call, plan: Plan, saturated: Phase, shared: Shared) -> OpenLoop | None:
    if plan.rate is not None:
        rate, source = plan.rate, "given with --rate"
    else:
        block = saturated.blocks[PODIUM]
        saturation = len(block.latencies) / block.wall if block.wall else 0.0
        rate, source = saturation / 2, f"half the saturated {saturation:.1f}/s"
    if rate <= 0:
        return None
    return await open_loop(call, rate, source, plan.open_seconds, shared)


async def _cpu_phases(
    client: Client,
    env: BenchEnv,
    plan: Plan,
    rounds: Rounds,
    shared: Shared,
    m: Measured,
) -> None:
    server_pid = await asyncio.to_thread(listening_pid, env.hybrid.temporal_address)
    block = replace(rounds, rounds=1)
    assert m.shape is not None
    for workload in plan.cpu_workloads:
        m.extras.cpu.append(
            await cpu_per_order(
                client,
                env.hybrid,
                env.tag,
                workload,
                m.shape,
                block,
                shared,
                server_pid,
                env.folder / "worker-process.log",
            )
        )
