"""A whole `podium bench` run, cut to a few samples, on the test stack: every phase runs and
every figure and goal lands in the report. No timing is asserted."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client

from bench.cpu_cost import Workload
from bench.environment import BENCH_PREFIX
from bench.load import ONE_AT_A_TIME, VARIANTS
from bench.run import SANDBOXED, plan_for, run_bench
from tests.support.management import Management
from workers.runtime.settings import Settings

TINY = replace(
    plan_for(quick=True, orders=None, concurrency=None),
    sequential=2,
    warmup=1,
    sequential_budget=1.0,
    gap=0.05,
    concurrency=4,
    rounds=1,
    per_round=6,
    block_budget=1.0,
    open_seconds=1.0,
    consumer_events=40,
    consumer_budget=3.0,
    sqlite_transactions=5,
    sqlite_rounds=1,
    cpu_workloads=(SANDBOXED, Workload("bare same-shape", "strict", bare=True)),
    tracing_rounds=0,  # a tracer provider is for the whole process, other tests' too
)


async def test_a_short_run_measures_every_figure_and_goal(
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    management: Management,
) -> None:
    out = tmp_path / "bench"
    assert await run_bench(settings, plan=TINY, out_dir=out) == 0

    [path] = out.glob("report-*.json")
    report = json.loads(path.read_text())
    assert set(report["latency_ms"]["c1"]) == set(ONE_AT_A_TIME)
    assert set(report["latency_ms"]["c4"]) == set(VARIANTS)
    assert report["config"]["shape"]["steps"].count("local") >= 1
    assert set(report["event_lag_ms"]) == {"c1", "c4", "open"}
    assert report["open_loop"]["source"].startswith("half the saturated")
    workers = report["cpu_per_order"]["workers"]
    assert set(workers) == {"sandboxed", "bare same-shape"}
    assert all(w["worker_ms"] > 0 and w["server_ms"] > 0 for w in workers.values())
    assert len(report["goals"]) == 6
    table = capsys.readouterr().out
    assert "goals (issue 10)" in table and "CPU per order" in table
    assert not list(out.glob("run-*"))  # the run's scratch folder is gone
    assert report["config"]["temporal_namespace"] == settings.bench_namespace

    # Nothing of the bench is left where people look: its runs are in its own namespace only,
    # and the broker holds none of its queues or exchanges.
    assert await bench_runs(settings, settings.bench_namespace)
    for namespace in ("default", settings.temporal_namespace):
        assert await bench_runs(settings, namespace) == []
    for kind in ("queues", "exchanges"):
        names = [o["name"] for o in await management.call("GET", f"/{kind}/{management.vhost}")]
        assert not [name for name in names if name.startswith(BENCH_PREFIX)], kind


async def bench_runs(settings: Settings, namespace: str) -> list[str]:
    """The ids of the bench's workflows in `namespace`, as the server's visibility lists them."""
    client = await Client.connect(settings.temporal_address, namespace=namespace)
    query = f"TaskQueue STARTS_WITH '{BENCH_PREFIX}'"
    return [w.id async for w in client.list_workflows(query, limit=1000)]
