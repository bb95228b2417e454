"""The span file and `podium trace`, on spans made here (no servers)."""

import json
from pathlib import Path

import pytest
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, format_trace_id

from contracts.order import workflow_id_for
from podium.cli.trace import show_trace
from workers.runtime.settings import Settings
from workers.runtime.span_file import JsonLinesSpanExporter, read_records
from workers.runtime.tracing import build_provider, span_exporter

FIELDS = {
    "trace_id",
    "span_id",
    "parent_id",
    "name",
    "kind",
    "service",
    "start_ns",
    "end_ns",
    "attributes",
    "links",
    "status",
    "events",
}


def provider_for(path: Path, service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    return provider


def write_order_spans(path: Path) -> str:
    """A small order trace from two "processes" appending to one file; returns its trace id."""
    client = provider_for(path, "podium-cli").get_tracer("t")
    consumers = provider_for(path, "podium-consumers").get_tracer("t")
    with client.start_as_current_span("order.place", attributes={"podium.order_id": "o-1"}) as root:
        start = client.start_as_current_span(
            "StartWorkflow:OrderWorkflow", attributes={"temporalWorkflowID": workflow_id_for("o-1")}
        )
        consume = consumers.start_as_current_span(
            "consume order.completed.v1",
            kind=SpanKind.CONSUMER,
            attributes={"podium.consumer": "loyalty", "podium.outcome": "dead-lettered"},
            links=[Link(root.get_span_context())],
        )
        with start, consume as span:
            span.set_status(Status(StatusCode.ERROR, "no such customer"))
    with client.start_as_current_span("order.place", attributes={"podium.order_id": "o-2"}):
        pass
    return format_trace_id(root.get_span_context().trace_id)


def test_span_file_holds_one_json_record_per_line(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "spans.jsonl"
    trace_id = write_order_spans(path)
    path.open("a").write('{"torn line\n')

    lines = path.read_text().splitlines()
    assert len(lines) == 5
    records = list(read_records(path))
    assert len(records) == 4
    assert all(set(r) == FIELDS for r in records)
    consume = next(r for r in records if r["name"] == "consume order.completed.v1")
    assert consume["service"] == "podium-consumers"
    assert consume["kind"] == "CONSUMER"
    assert consume["status"] == {"code": "ERROR", "description": "no such customer"}
    assert consume["links"][0]["trace_id"] == trace_id
    assert consume["end_ns"] >= consume["start_ns"] > 0
    root = next(r for r in records if r["attributes"].get("podium.order_id") == "o-1")
    assert root["parent_id"] is None
    json.dumps(records)


def test_podium_trace_prints_the_order_tree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spans.jsonl"
    trace_id = write_order_spans(path)
    settings = Settings(_env_file=None, trace_file=path)  # type: ignore[call-arg]

    assert show_trace(settings, "o-1") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"trace {trace_id}: 3 spans")
    assert "1 with errors" in lines[0]
    assert lines[1].startswith("order.place  [podium-cli]")
    assert "order_id=o-1" in lines[1]
    assert lines[2].startswith("`- StartWorkflow:OrderWorkflow  [podium-cli]")
    assert lines[3].startswith("   `- consume order.completed.v1  [podium-consumers]")
    assert "consumer=loyalty outcome=dead-lettered" in lines[3]
    assert lines[3].endswith("!! ERROR: no such customer")
    assert len(lines) == 4  # order o-2's trace is not shown


def test_podium_trace_says_so_when_there_are_no_spans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(_env_file=None, trace_file=tmp_path / "none.jsonl")  # type: ignore[call-arg]
    assert show_trace(settings, "o-404") == 1
    assert "no spans found for order o-404" in capsys.readouterr().out


def test_the_configured_provider_writes_buffered_spans_on_flush(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, trace_file=tmp_path / "spans.jsonl")  # type: ignore[call-arg]
    provider = build_provider(settings, "podium-worker")
    with provider.get_tracer("t").start_as_current_span("work"):
        pass
    provider.force_flush()
    [record] = list(read_records(settings.trace_file))
    assert (record["name"], record["service"]) == ("work", "podium-worker")
    provider.shutdown()


def test_an_otlp_endpoint_without_the_extra_installed_is_a_clear_error() -> None:
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the otlp extra is installed")
    settings = Settings(_env_file=None, otlp_endpoint="http://localhost:4318")  # type: ignore[call-arg]
    with pytest.raises(RuntimeError, match=r"\.\[otlp\]"):
        span_exporter(settings)


def test_foreign_or_broken_lines_in_the_span_file_are_skipped(tmp_path: Path) -> None:
    spans = tmp_path / "spans.jsonl"
    spans.write_bytes(
        b'{"torn\n\xff\xfe\n[1, 2]\n{"trace_id": 5, "span_id": "s"}\n'
        b'{"trace_id": "t", "span_id": "s", "start_ns": "soon"}\n'
        b'{"trace_id": "t", "span_id": "s", "attributes": []}\n'
        b'{"trace_id": "t", "span_id": "s", "name": "ok", "start_ns": 1}\n'
    )
    assert [r["name"] for r in read_records(spans)] == ["ok"]
