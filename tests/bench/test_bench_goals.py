"""The goals section and the new figures of the report, on synthetic samples (no timing)."""

import pytest

from bench.cpu import Reading
from bench.cpu_cost import CpuCost
from bench.goals import Goal
from bench.load import Block
from bench.open_loop import OpenLoop
from bench.report import Extras, build_report
from bench.table import format_table
from bench.throughput import RAW, RUNTIME, Rates
from tests.bench.test_bench_smoke import synthetic_phase


def test_a_time_goal_is_met_at_or_under_its_limit_and_a_comparison_at_or_over() -> None:
    assert Goal("t", 100.0, 100.0, True, "ms").met
    assert not Goal("t", 150.0, 100.0, True, "ms").met
    assert Goal("t", 150.0, 100.0, True, "ms").ratio == pytest.approx(1.5)
    assert Goal("r", 0.9, 0.9, False, "x").met
    assert not Goal("r", 0.6, 1.5, False, "x").met
    assert Goal("r", 0.6, 1.5, False, "x").ratio == pytest.approx(0.4)


def report_with_everything() -> dict[str, object]:
    open_run = OpenLoop(rate=4.0, source="half the saturated 8.0/s", duration=5.0)
    open_run.block = Block([0.08] * 20, wall=5.2, confirmations=[0.04] * 20)
    cpu = CpuCost("sandboxed", Block([0.5] * 40, wall=8.0), Reading(4.0, 2.0, 1.0))
    return build_report(
        {"cpus": 2, "concurrency": 16, "gap_ms": 200.0},
        [synthetic_phase(1, 0.05), synthetic_phase(16, 0.2)],
        {"c1": [0.01] * 10, "c16": [0.02] * 10, "open": [0.03] * 19 + [0.06]},
        Rates(events=100, per_round={RUNTIME: [(100, 850.0)], RAW: [(100, 1000.0)]}),
        extras=Extras(open_loop=open_run, cpu=[cpu]),
    )


def test_every_goal_is_reported_with_its_figure_ratio_and_verdict() -> None:
    report = report_with_everything()

    goals = {g["name"]: g for g in report["goals"]}  # type: ignore[attr-defined]
    assert len(goals) == 6
    c1 = report["confirmation_ms"]["c1"]  # type: ignore[index]
    assert goals["time to confirmation p50, conc 1"]["measured"] == c1["p50"]
    assert goals["time to confirmation p50, conc 1"]["met"] is (c1["p50"] <= 100)
    regular = goals["saturated throughput vs bare all-regular"]
    assert regular["measured"] == pytest.approx(1.6 / 2.0)  # podium 2.0, all-regular 1.6
    assert regular["ratio"] == pytest.approx(0.8 / 1.5) and regular["met"] is False
    same = goals["saturated throughput vs bare same shape"]
    assert same["measured"] == pytest.approx(0.5) and same["met"] is False
    lag = goals["event lag p99, open loop 4.0/s"]
    assert lag["measured"] == pytest.approx(60.0) and lag["met"] is False
    assert goals["one consumer with its store vs raw aio-pika"]["met"] is True


def test_the_table_shows_open_loop_cpu_and_goals_side_by_side() -> None:
    report = report_with_everything()

    cpu = report["cpu_per_order"]["workers"]["sandboxed"]  # type: ignore[index]
    assert cpu["worker_ms"] == pytest.approx(100.0)
    assert cpu["server_ms"] == pytest.approx(50.0)
    assert cpu["ceiling_per_second"] == pytest.approx(2 / 0.15)
    assert report["open_loop"]["result_ms"]["p50"] == pytest.approx(80.0)  # type: ignore[index]
    table = format_table(report)
    for text in (
        "200 ms rest before each workflow",
        "open loop: an order every 250 ms",
        "time to confirmation",
        "sandboxed worker",
        "13.3",
        "goals (issue 10)",
        "NOT met",
        "0.85x",
    ):
        assert text in table
