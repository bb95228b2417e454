"""The figures of one run as a JSON report, raw samples included (bench/table.py prints it)."""

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.cpu_cost import CpuCost
from bench.goals import goals_of
from bench.load import ALL_REGULAR, ORCHESTRATED, PARALLEL, PODIUM, SAME_SHAPE
from bench.open_loop import OpenLoop
from bench.phases import Phase
from bench.sqlite_transactions import LONG_LIVED, PER_CALL, SqliteCost
from bench.stats import ratio, summarize
from bench.throughput import RAW, RUNTIME, Rates
from bench.tracing_cost import TracingCost
from workers.runtime.private_files import private_dir

LABELS = {
    PODIUM: "podium order (hybrid: saga + publish)",
    SAME_SHAPE: "bare workflow, the order's shape",
    ALL_REGULAR: "bare workflow, all regular activities",
    ORCHESTRATED: "all-orchestrated (saga + 3 effects)",
    PARALLEL: "bare, order's shape, screen || reserve",
}
PAIRS = (
    (PODIUM, SAME_SHAPE),
    (PODIUM, ALL_REGULAR),
    (SAME_SHAPE, ALL_REGULAR),
    (ORCHESTRATED, PODIUM),
    (PARALLEL, SAME_SHAPE),
)


@dataclass
class Extras:
    """The figures beyond the closed-loop phases, when the run measured them."""

    open_loop: OpenLoop | None = None
    cpu: list[CpuCost] = field(default_factory=list)


def _ms(values: list[float]) -> list[float]:
    return [round(v * 1000, 3) for v in values]


def _latencies(samples: list[float]) -> dict[str, float]:
    return {k: x for k, x in summarize(_ms(samples), 0).as_dict().items() if k != "per_second"}


def build_report(
    config: dict[str, Any],
    phases: list[Phase],
    lags: dict[str, list[float]],
    rates: Rates | None,
    tracing: TracingCost | None = None,
    sqlite: SqliteCost | None = None,
    extras: Extras | None = None,
) -> dict[str, Any]:
    """Summaries in milliseconds and per second, ratios, goals, and every raw sample."""
    extras = extras or Extras()
    latency: dict[str, Any] = {}
    ratios: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    end_to_end: dict[str, Any] = {}
    confirmation: dict[str, Any] = {}
    for phase in phases:
        key = phase.key
        s = {v: summarize(_ms(b.latencies), b.wall) for v, b in phase.blocks.items() if b.latencies}
        latency[key] = {v: x.as_dict() for v, x in s.items()}
        samples[key] = {v: _ms(b.latencies) for v, b in phase.blocks.items()}
        ratios[key] = {
            f"{a}/{b}": {
                "p50": ratio(s[a].p50, s[b].p50),
                "p99": ratio(s[a].p99, s[b].p99),
                "throughput": ratio(s[a].per_second, s[b].per_second),
            }
            for a, b in PAIRS
            if a in s and b in s
        }
        if phase.blocks[PODIUM].confirmations:
            confirmation[key] = _latencies(phase.blocks[PODIUM].confirmations)
        if phase.podium_until_effects and ORCHESTRATED in s:
            hybrid = len(phase.blocks[PODIUM].latencies) / phase.podium_until_effects
            end_to_end[key] = {
                "hybrid_per_second": hybrid,
                "orchestrated_per_second": s[ORCHESTRATED].per_second,
                "orchestrated/hybrid": ratio(s[ORCHESTRATED].per_second, hybrid),
            }
    report: dict[str, Any] = {
        "config": config,
        "latency_ms": latency,
        "ratios": ratios,
        "confirmation_ms": confirmation,
        "end_to_end": end_to_end,
        "event_lag_ms": {key: _latencies(v) for key, v in lags.items() if v},
        "samples_ms": samples,
        "event_lag_samples_ms": {key: _ms(v) for key, v in lags.items()},
    }
    run = extras.open_loop
    if run is not None and run.block.latencies:
        report["open_loop"] = {
            "rate": run.rate,
            "source": run.source,
            "arrivals_per_second": run.arrivals,
            "latest_start_behind_schedule_ms": round(run.late * 1000, 3),
            "confirmation_ms": _latencies(run.block.confirmations),
            "result_ms": _latencies(run.block.latencies),
            "samples_ms": {
                "confirmation": _ms(run.block.confirmations),
                "result": _ms(run.block.latencies),
            },
        }
    if extras.cpu:
        report["cpu_per_order"] = _cpu(extras.cpu, config.get("cpus") or 1)
    if rates is not None:
        report["consumer_throughput"] = {
            "events": rates.events,
            "rounds": {
                k: [{"events": n, "per_second": round(rate, 1)} for n, rate in v]
                for k, v in rates.per_round.items()
            },
            "runtime_per_second": rates.mean(RUNTIME),
            "raw_per_second": rates.mean(RAW),
            "runtime/raw": ratio(rates.mean(RUNTIME), rates.mean(RAW)),
            "prefetch": rates.prefetch,
            "events_per_transaction": rates.events_per_transaction(),
        }
    if tracing is not None and tracing.off.latencies and tracing.on.latencies:
        off = summarize(_ms(tracing.off.latencies), tracing.off.wall)
        on = summarize(_ms(tracing.on.latencies), tracing.on.wall)
        report["tracing"] = {
            "concurrency": tracing.concurrency,
            "off": off.as_dict(),
            "on": on.as_dict(),
            "on/off_throughput": ratio(on.per_second, off.per_second),
            "on/off_p50": ratio(on.p50, off.p50),
            "samples_ms": {"off": _ms(tracing.off.latencies), "on": _ms(tracing.on.latencies)},
        }
    if sqlite is not None and all(sqlite.samples.values()):
        per_call, kept = (
            summarize(_ms(sqlite.samples[v]), sqlite.walls[v]) for v in (PER_CALL, LONG_LIVED)
        )
        report["sqlite_transaction"] = {
            "per_call_ms": per_call.as_dict(),
            "long_lived_ms": kept.as_dict(),
            "per_call/long_lived": ratio(per_call.mean, kept.mean),
            "per_call/long_lived_p50": ratio(per_call.p50, kept.p50),
            "samples_ms": {v: _ms(s) for v, s in sqlite.samples.items()},
        }
    report["goals"] = [g.as_dict() for g in goals_of(report)]
    return report


def _cpu(costs: list[CpuCost], cpus: int) -> dict[str, Any]:
    """Per workload: CPU ms per workflow of the worker, the server and this process, and the
    ceiling the worker and server's CPU imply on this machine's cores."""
    figures = {}
    for cost in costs:
        if not cost.orders:
            continue
        used = cost.used
        worker = used.worker / cost.orders
        server = used.server / cost.orders if used.server is not None else None
        engine = worker + (server or 0.0)
        figures[cost.label] = {
            "orders": cost.orders,
            "wall_seconds": cost.block.wall,
            "orders_per_second": cost.orders / cost.block.wall if cost.block.wall else 0.0,
            "worker_ms": worker * 1000,
            "server_ms": server * 1000 if server is not None else None,
            "bench_process_ms": used.bench / cost.orders * 1000,
            "ceiling_per_second": cpus / engine if engine else None,
            "ceiling_counts_server": server is not None,
        }
    return {"cpus": cpus, "workers": figures}


def write_report(report: dict[str, Any], folder: Path, stamp: datetime) -> Path:
    private_dir(folder)
    path = folder / f"report-{stamp.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    return path
