"""Spans as JSON lines in a local file: the exporter writing them, the reader `podium trace` uses.

Worker, consumer and client processes append to the same file. Each line is written by one
`write` on a descriptor opened with O_APPEND, so lines from different processes never interleave.
"""

import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import format_span_id, format_trace_id

from workers.runtime.private_files import private_dir


class JsonLinesSpanExporter(SpanExporter):
    def __init__(self, path: Path) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                for span in spans:
                    os.write(fd, (json.dumps(span_record(span), default=str) + "\n").encode())
            finally:
                os.close(fd)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


def span_record(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {
        "trace_id": format_trace_id(context.trace_id),
        "span_id": format_span_id(context.span_id),
        "parent_id": format_span_id(span.parent.span_id) if span.parent else None,
        "name": span.name,
        "kind": span.kind.name,
        "service": span.resource.attributes.get("service.name"),
        "start_ns": span.start_time,
        "end_ns": span.end_time,
        "attributes": dict(span.attributes or {}),
        "links": [
            {
                "trace_id": format_trace_id(link.context.trace_id),
                "span_id": format_span_id(link.context.span_id),
            }
            for link in span.links
        ],
        "status": {"code": span.status.status_code.name, "description": span.status.description},
        "events": [{"name": e.name, "attributes": dict(e.attributes or {})} for e in span.events],
    }


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Every span record in the file; a torn or foreign line is skipped, not fatal."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if _well_formed(record):
                yield record


def _well_formed(record: object) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get("trace_id"), str)
        and isinstance(record.get("span_id"), str)
        and isinstance(record.get("name"), str)
        and isinstance(record.get("attributes", {}), dict | None)
        and isinstance(record.get("status", {}), dict | None)
        and all(isinstance(record.get(k) or 0, int) for k in ("start_ns", "end_ns"))
    )
