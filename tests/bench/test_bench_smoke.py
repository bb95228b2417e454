"""The benchmark's pure parts on synthetic samples, and the all-orchestrated variant on the
time-skipping server. No timing is asserted here: figures live in `podium bench`."""

import asyncio
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.all_orchestrated import AllOrchestratedOrderWorkflow
from bench.direct_effects import effect_activities
from bench.load import ALL_REGULAR, ORCHESTRATED, PODIUM, SAME_SHAPE, Block
from bench.phases import Phase
from bench.plot import write_plot
from bench.progress import Progress
from bench.report import build_report, write_report
from bench.sqlite_transactions import LONG_LIVED, PER_CALL, SqliteCost, sqlite_transactions
from bench.stats import percentile, summarize
from bench.table import format_table
from bench.throughput import RAW, RUNTIME, Rates
from consumers import analytics, loyalty, notifications
from contracts.order import OrderState, workflow_id_for
from infra import mailserver
from tests.support.factories import an_order
from tests.support.servers import Mail
from tests.support.shop import Shop
from workers.bootstrap import consumer_stores, running_worker


def test_percentile_is_a_measured_value_by_nearest_rank() -> None:
    samples = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(samples, 0) == 1.0
    assert percentile(samples, 50) == 3.0
    assert percentile(samples, 100) == 5.0
    assert percentile([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_counts_throughput_over_wall_time() -> None:
    s = summarize([0.1] * 10, wall_seconds=2.0)
    assert (s.count, s.p50, s.p99, s.per_second) == (10, 0.1, 0.1, 5.0)


def synthetic_phase(concurrency: int, scale: float) -> Phase:
    phase = Phase(concurrency=concurrency)
    for variant, factor in (
        (PODIUM, 2.0),
        (SAME_SHAPE, 1.0),
        (ALL_REGULAR, 1.6),
        (ORCHESTRATED, 3.0),
    ):
        latencies = [scale * factor * (1 + i / 100) for i in range(100)]
        phase.blocks[variant] = Block(latencies, wall=sum(latencies) / concurrency)
    phase.blocks[PODIUM].event_ids = [f"e{i}" for i in range(100)]
    phase.blocks[PODIUM].confirmations = [x / 2 for x in phase.blocks[PODIUM].latencies]
    phase.podium_until_effects = phase.blocks[PODIUM].wall * 1.25
    return phase


def test_report_has_every_figure_and_ratio_and_is_written_as_json(tmp_path: Path) -> None:
    rates = Rates(
        events=100,
        prefetch=16,
        per_round={RUNTIME: [(100, 250.0)], RAW: [(100, 1000.0)]},
        transactions=8,
    )
    report = build_report(
        {"started_at": "now", "cpus": 2, "prefetch": 16},
        [synthetic_phase(1, 0.05), synthetic_phase(16, 0.2)],
        {"c1": [0.01] * 10, "c16": [0.02] * 10},
        rates,
    )

    assert report["ratios"]["c1"]["podium/same_shape"]["p50"] == pytest.approx(2.0)
    assert report["ratios"]["c1"]["podium/all_regular"]["p50"] == pytest.approx(2.0 / 1.6)
    assert report["ratios"]["c16"]["same_shape/all_regular"]["throughput"] == pytest.approx(1.6)
    assert report["confirmation_ms"]["c1"]["p50"] == pytest.approx(
        report["latency_ms"]["c1"][PODIUM]["p50"] / 2
    )
    assert report["ratios"]["c16"]["orchestrated/podium"]["throughput"] == pytest.approx(2 / 3)
    assert report["end_to_end"]["c16"]["orchestrated/hybrid"] == pytest.approx(1.25 * 2 / 3)
    assert report["event_lag_ms"]["c16"]["p99"] == pytest.approx(20.0)
    assert report["consumer_throughput"]["runtime/raw"] == pytest.approx(0.25)
    table = format_table(report)
    for text in ("podium/same_shape", "all-orchestrated", "event lag", "raw aio-pika", "0.25x"):
        assert text in table
    assert "prefetch 16 for both" in table
    assert "events per store transaction                         12.5" in table

    path = write_report(report, tmp_path / "bench", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert path.name == "report-20260102T030405.json"
    assert json.loads(path.read_text())["samples_ms"]["c16"][SAME_SHAPE][0] == pytest.approx(200.0)


def test_report_sets_the_sqlite_connection_variants_side_by_side() -> None:
    sqlite = SqliteCost(
        samples={PER_CALL: [0.0017] * 9 + [0.0107], LONG_LIVED: [0.0004] * 10},
        walls={PER_CALL: 0.017, LONG_LIVED: 0.004},
    )
    report = build_report({}, [synthetic_phase(1, 0.05)], {}, None, None, sqlite)

    figures = report["sqlite_transaction"]
    assert figures["per_call_ms"]["mean"] == pytest.approx(2.6)
    assert figures["long_lived_ms"]["p99"] == pytest.approx(0.4)
    assert figures["long_lived_ms"]["count"] == 10
    assert figures["per_call/long_lived"] == pytest.approx(6.5)
    assert figures["per_call/long_lived_p50"] == pytest.approx(4.25)
    assert figures["samples_ms"][PER_CALL][0] == pytest.approx(1.7)
    table = format_table(report)
    for text in ("a connection per call", "long-lived connections", "6.50x", "4.25x"):
        assert text in table
    assert "sqlite_transaction" not in build_report({}, [], {}, None)


async def test_the_sqlite_phase_measures_both_variants_and_leaves_nothing_open(
    tmp_path: Path,
) -> None:
    progress = Progress(total_phases=1, stream=io.StringIO())
    cost = await sqlite_transactions(tmp_path, transactions=5, rounds=2, progress=progress)

    assert {v: len(s) for v, s in cost.samples.items()} == {PER_CALL: 10, LONG_LIVED: 10}
    assert all(wall > 0 for wall in cost.walls.values())
    logs = await asyncio.to_thread(lambda: list(tmp_path.glob("*-wal")))
    assert logs == []  # both databases closed at the end


def test_plot_is_written_when_matplotlib_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    report = build_report({}, [synthetic_phase(1, 0.05)], {}, None)
    png = write_plot(report, tmp_path / "latency.png")
    assert png is not None and png.read_bytes().startswith(b"\x89PNG")


async def test_all_orchestrated_order_applies_each_side_effect_once_even_when_run_twice(
    shop: Shop,
    mail: Mail,
    tmp_path: Path,
) -> None:
    port, folder = mail.port, mail.folder
    settings = shop.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": port, "data_dir": tmp_path}
    )
    effects = await effect_activities(settings)
    stores = await consumer_stores(settings)
    order = an_order()
    workflow_id = workflow_id_for(order.order_id)
    async with running_worker(
        shop.client,
        settings,
        services=shop.services,
        publisher=shop.publisher,
        workflows=[AllOrchestratedOrderWorkflow],
        extra_activities=[
            effects.notify_customer,
            effects.record_analytics,
            effects.credit_loyalty,
        ],
    ):
        # The same workflow id twice: every step and every effect is idempotent on its key.
        first, again = [
            await shop.client.execute_workflow(
                AllOrchestratedOrderWorkflow.run,
                order,
                id=workflow_id,
                task_queue=shop.task_queue,
            )
            for _ in range(2)
        ]

    assert first.state == again.state == OrderState.COMPLETED
    assert first.event_id == again.event_id
    assert shop.publisher.events == []  # the effects ran in the workflow, nothing published
    assert loyalty.points(stores[loyalty.NAME], order.customer_id) == 34
    assert analytics.report(stores[analytics.NAME]).outcomes == {"completed": 1}
    assert [e.sent_at is not None for e in notifications.outbox(stores[notifications.NAME])] == [
        True
    ]
    assert len(mailserver.stored_emails(folder)) == 1
