"""The OTLP JSON span file, its rotation and `podium trace`, on spans made here (no servers)."""

import json
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from google.protobuf.json_format import Parse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode, format_trace_id

from contracts.order import workflow_id_for
from podium.cli.trace import show_trace
from workers.runtime.settings import Settings
from workers.runtime.span_file import MAX_LINE_BYTES, OtlpJsonFileExporter
from workers.runtime.span_reader import order_traces
from workers.runtime.tracing import MAX_ATTRIBUTE_CHARS, build_provider, span_exporter


def provider_for(path: Path, service: str) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileExporter(path)))
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


def test_every_line_is_an_otlp_json_export_request(tmp_path: Path) -> None:
    path = tmp_path / "traces" / "spans.jsonl"
    trace_id = write_order_spans(path)

    lines = path.read_text().splitlines()
    requests = [Parse(line, ExportTraceServiceRequest()) for line in lines]
    spans = [
        (resource, span)
        for request in requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    assert len(spans) == 4
    # OTLP JSON (unlike protobuf's own JSON mapping) writes ids as hex and times as strings.
    first = json.loads(lines[0])["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    assert len(first["traceId"]) == 32 and len(first["spanId"]) == 16
    assert isinstance(first["startTimeUnixNano"], str)
    raw = [json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"][0] for line in lines]
    assert trace_id in {span["traceId"] for span in raw}
    resource, consume = next((r, s) for r, s in spans if s.name == "consume order.completed.v1")
    service = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert service["service.name"] == "podium-consumers"
    assert consume.kind == consume.SPAN_KIND_CONSUMER
    assert consume.status.code == consume.status.STATUS_CODE_ERROR
    assert consume.status.message == "no such customer"
    assert consume.end_time_unix_nano >= consume.start_time_unix_nano > 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


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
    with provider.get_tracer("t").start_as_current_span("work", attributes={"long": "x" * 10**5}):
        pass
    provider.force_flush()
    [line] = settings.trace_file.read_text().splitlines()
    [resource] = Parse(line, ExportTraceServiceRequest()).resource_spans
    [span] = resource.scope_spans[0].spans
    assert span.name == "work"
    assert len(span.attributes[0].value.string_value) == MAX_ATTRIBUTE_CHARS
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


HOSTILE = [
    b'{"torn o-1',
    b"\xff\xfe o-1",
    b"[1, 2] o-1",
    b"[" * 100_000 + b'"o-1"' + b"]" * 100_000,
    b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "name": "o-1"}]}]}]}',
    b'{"resourceSpans": 5, "x": "o-1"}',
    b"o-1 " * (MAX_LINE_BYTES // 3),  # longer than a line may be
]


def test_hostile_or_torn_lines_cost_one_warning_line_and_the_tree_still_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spans.jsonl"
    path.write_bytes(b"\n".join(HOSTILE) + b"\n")
    write_order_spans(path)
    with path.open("ab") as file:
        file.write(b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "o-1"')  # torn
    settings = Settings(_env_file=None, trace_file=path)  # type: ignore[call-arg]

    assert show_trace(settings, "o-1") == 0

    out, err = capsys.readouterr()
    assert out.startswith("trace ") and "3 spans" in out.splitlines()[0]
    [warning] = err.splitlines()
    assert warning.startswith(f"podium: skipped {len(HOSTILE) + 1} line(s) of {path}")


def test_names_and_values_from_the_file_reach_the_terminal_printable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spans.jsonl"
    tracer = provider_for(path, "podium-worker\x1b[2J").get_tracer("t")
    attributes = {"podium.order_id": "o-5", "podium.error": "\x1b]0;owned\x07" + "x" * 5000}
    with tracer.start_as_current_span("evil\x1b[31m\nname", attributes=attributes):
        pass
    settings = Settings(_env_file=None, trace_file=path)  # type: ignore[call-arg]

    assert show_trace(settings, "o-5") == 0

    out = capsys.readouterr().out
    assert "\x1b" not in out and len(out.splitlines()) == 2
    assert len(out.splitlines()[1]) < 1_000


def test_reading_stops_at_the_newest_file_that_completes_the_trace(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    tracer = provider_for(path, "podium-worker").get_tracer("t")
    an_hour_ago = time.time_ns() - 3600 * 10**9
    tracer.start_span("earlier", start_time=an_hour_ago).end(end_time=an_hour_ago + 1)
    write_order_spans(path)
    (tmp_path / "spans.jsonl.1").write_bytes(b"{not read o-1\n")

    found = order_traces(path, 3, "o-1")

    assert found.files == [path] and found.unreadable == 0
    [spans] = found.traces.values()
    assert len(spans) == 3


def test_the_file_rotates_by_size_keeps_a_few_and_a_trace_spans_the_rotation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "spans.jsonl"
    exporter = OtlpJsonFileExporter(path, max_bytes=20_000, backups=2)
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: "podium-worker"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("order.place", attributes={"podium.order_id": "o-9"}):
        for n in range(200):  # children end (and are written) first, the root last
            with tracer.start_as_current_span(f"step {n}"):
                pass

    files = sorted(tmp_path.glob("spans.jsonl*"))
    assert [f.name for f in files] == [
        "spans.jsonl",
        "spans.jsonl.1",
        "spans.jsonl.2",
        "spans.jsonl.lock",
    ]
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert all(f.stat().st_size < 20_000 + 2_000 for f in files)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, trace_file=path, trace_file_backups=2
    )
    found = order_traces(path, 2, "o-9")
    assert len(found.files) == 3  # the root in the newest file, its first children older
    assert show_trace(settings, "o-9") == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert f"{found.spans} spans" in header and found.spans < 201  # the oldest were dropped


def test_compensations_read_undo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "spans.jsonl"
    tracer = provider_for(path, "podium-worker").get_tracer("t")
    with tracer.start_as_current_span("order.place", attributes={"podium.order_id": "o-3"}):
        with tracer.start_as_current_span("RunActivity:charge_payment"):
            pass
        with tracer.start_as_current_span(
            "RunActivity:release_stock", attributes={"podium.compensation": True}
        ):
            pass
    settings = Settings(_env_file=None, trace_file=path)  # type: ignore[call-arg]

    assert show_trace(settings, "o-3") == 0

    lines = capsys.readouterr().out.splitlines()
    assert lines[2].startswith("|- RunActivity:charge_payment")
    assert lines[3].startswith("`- undo: RunActivity:release_stock")


WRITER = """
import sys
from pathlib import Path
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from workers.runtime.span_file import OtlpJsonFileExporter

provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileExporter(Path(sys.argv[1]), 30_000, 3)))
tracer = provider.get_tracer("t")
for n in range(300):
    with tracer.start_as_current_span(f"{sys.argv[2]} {n}", attributes={"pad": "x" * 300}):
        pass
"""


def test_processes_writing_and_rotating_together_leave_only_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "spans.jsonl"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), f"w{n}"]) for n in range(3)
    ]
    assert [w.wait(120) for w in writers] == [0, 0, 0]

    files = [path, *(tmp_path / f"spans.jsonl.{n}" for n in (1, 2, 3))]
    assert sorted(tmp_path.glob("spans.jsonl.*")) == sorted(
        [*files[1:], tmp_path / "spans.jsonl.lock"]
    )
    for file in files:
        for line in file.read_text().splitlines():
            Parse(line, ExportTraceServiceRequest())  # whole: no line cut into by another
