"""`podium bench`: every figure measured side by side in one run, on the running local stack."""

import asyncio
import logging
import math
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from temporalio.client import Client

from bench.effects_done import EffectsDone, lags
from bench.environment import bench_environment
from bench.load import PODIUM, calls
from bench.phases import Numbering, Phase, Rounds, Shared, in_flight, one_at_a_time
from bench.plot import write_plot
from bench.progress import Progress
from bench.report import build_report, format_table, write_report
from bench.running import EventTimes, running_everything
from bench.sqlite_transactions import SqliteCost, sqlite_transactions
from bench.throughput import Rates, consumer_throughput
from bench.tracing_cost import TracingCost, install_switchable_tracing, tracing_cost
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

DEFAULT_CONCURRENCY = 16  # saturates 2 cores: see docs/benchmarks.md


@dataclass(frozen=True)
class Plan:
    """How many samples, capped by time budgets so a slow or busy machine still finishes."""

    sequential: int  # per variant, one at a time
    warmup: int  # per variant, before the sequential samples, not counted
    sequential_budget: float  # seconds
    concurrency: int
    rounds: int
    per_round: int  # per variant and round, at `concurrency`
    block_budget: float  # seconds per variant and round
    consumer_events: int
    consumer_rounds: int
    consumer_budget: float  # seconds per consumer and round
    sqlite_transactions: int  # per variant and round
    sqlite_rounds: int


def plan_for(quick: bool, orders: int | None, concurrency: int | None) -> Plan:
    conc = concurrency or DEFAULT_CONCURRENCY
    if quick:
        rounds, total = 2, orders or 200
        return Plan(20, 2, 6.0, conc, rounds, math.ceil(total / rounds), 2.5, 500, 1, 4.0, 200, 2)
    rounds, total = 3, orders or 1500
    return Plan(60, 3, 25.0, conc, rounds, math.ceil(total / rounds), 8.0, 2000, 2, 10.0, 500, 4)


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


async def run_bench(
    settings: Settings,
    orders: int | None = None,
    *,
    concurrency: int | None = None,
    quick: bool = False,
    out_dir: Path | None = None,
) -> int:
    """Run every phase, print the table, write the JSON report and the plot; 0 on success.

    `orders`: workflows per variant at `concurrency` (default 1500, quick 200), each block
    also capped by time; `concurrency`: workflows in flight in that phase (default 16).
    """
    plan = plan_for(quick, orders, concurrency)
    started = datetime.now(UTC)
    folder = out_dir or settings.data_dir.parent / "bench"
    progress = Progress(total_phases=5)
    client = await connect_temporal(settings)
    with quiet_logs():
        phases, event_lags, rates, cost, sqlite = await _measure(
            settings, client, plan, folder, progress
        )
    progress.close()
    config = asdict(plan) | {
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "temporalio": version("temporalio"),
        "temporal": settings.temporal_address,
        "prefetch": settings.consumer_prefetch,
        "consumer_concurrency": settings.consumer_concurrency,
        "max_concurrent_activities": settings.max_concurrent_activities,
        "max_concurrent_workflow_tasks": settings.max_concurrent_workflow_tasks,
        "log_level_during_run": "WARNING",
    }
    report = build_report(config, phases, event_lags, rates, cost, sqlite)
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
) -> tuple[list[Phase], dict[int, list[float]], Rates, TracingCost | None, SqliteCost]:
    times = EventTimes()
    async with bench_environment(settings, folder) as env:
        effects = await EffectsDone.of(env.hybrid)
        async with running_everything(client, env, times) as queues:
            variant_calls = calls(client, queues, env.tag)
            shared = Shared(Numbering(), effects, progress)
            sequential = await one_at_a_time(
                variant_calls, plan.sequential, plan.warmup, plan.sequential_budget, shared
            )
            rounds = Rounds(plan.concurrency, plan.per_round, plan.rounds, plan.block_budget)
            saturated = await in_flight(variant_calls, rounds, shared, sequential.podium_placed)
            sampler = install_switchable_tracing(folder / "spans.jsonl")
            cost = None
            if sampler is not None:
                cost = await tracing_cost(
                    variant_calls[PODIUM], sampler, rounds, shared, saturated.podium_placed
                )
        phases = [sequential, saturated]
        done = await asyncio.to_thread(effects.done)
        event_lags = {
            p.concurrency: lags(p.blocks[PODIUM].event_ids, times.occurred, done) for p in phases
        }
        rates = await consumer_throughput(
            env.consumer_only,
            plan.consumer_events,
            plan.consumer_rounds,
            plan.consumer_budget,
            progress,
        )
        sqlite = await sqlite_transactions(
            env.folder, plan.sqlite_transactions, plan.sqlite_rounds, progress
        )
    return phases, event_lags, rates, cost, sqlite
