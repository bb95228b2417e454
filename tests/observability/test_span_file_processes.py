"""The span file as the real processes write it: `podium worker`, `podium consumers` and
`podium place` append OTLP JSON lines that the OTLP protobuf parser takes, and `podium trace`
reads the order back with its compensations and without query spans."""

import subprocess
from pathlib import Path

import pytest
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from temporalio.client import Client

from podium.cli import exits
from podium.client import has_worker
from tests.support.factories import an_order
from tests.support.running import PODIUM, consumers_process, process_env, worker_process
from tests.support.waits import eventually
from workers.bootstrap import declare_consumer_topology
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def podium(settings: Settings, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PODIUM), *argv],
        env={"PATH": "/usr/bin:/bin", **process_env(settings)},
        cwd=settings.trace_file.parent.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_real_processes_write_otlp_json_that_podium_trace_reads(
    traced_settings: Settings, temporal: Client, tmp_path: Path
) -> None:
    settings = traced_settings.model_copy(
        update={"trace_file": tmp_path / "traces" / "spans.jsonl"}
    )
    order_id = an_order().order_id
    await declare_consumer_topology(settings)
    worker = worker_process(settings, tmp_path / "logs" / "worker.log")
    consumers = consumers_process(settings, tmp_path / "logs" / "consumers.log")
    try:
        await eventually(
            lambda: has_worker(temporal, settings.temporal_namespace, settings.task_queue),
            bool,
            within=30,
            what="the worker polls",
        )
        placed = podium(
            settings,
            "place",
            "--order-id",
            order_id,
            "--item",
            "MUG-BLUE:1:12.50",
            "--token",
            "tok_declined",
            "--wait-for-outcome",
        )
        assert placed.returncode == exits.ORDER_NOT_COMPLETED, placed.stderr
        # A status query, as a person polls it: it must leave no span.
        status = podium(settings, "status", order_id)
        assert status.returncode in (exits.OK, exits.ORDER_NOT_COMPLETED), status.stderr
    finally:
        worker.stop()  # SIGTERM: each process flushes its spans on the way out
        consumers.stop()

    lines = settings.trace_file.read_text().splitlines()
    names = [
        span.name
        for line in lines
        for resource in Parse(line, ExportTraceServiceRequest()).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert "RunActivity:release_stock" in names and "order.place" in names
    assert not [n for n in names if "Query" in n]

    shown = podium(settings, "trace", order_id)
    assert shown.returncode == exits.OK, shown.stderr
    out = shown.stdout
    assert len([line for line in out.splitlines() if line.startswith("trace ")]) == 1, out
    assert "undo: RunActivity:release_stock  [podium-worker]" in out
    assert "undo: RunActivity:cancel_order  [podium-worker]" in out
    assert "Query" not in out and shown.stderr == ""
