"""Spans as OTLP JSON lines in a local file, rotated by size: the writer.

Each line is one OTLP/JSON `ExportTraceServiceRequest` (resourceSpans → scopeSpans → spans, hex
ids, nanosecond times as strings, attributes as AnyValue), the format the OpenTelemetry
collector's file exporter writes, so Jaeger or any collector's `otlpjsonfile` receiver reads
it. The encoding is the official one (`opentelemetry-exporter-otlp-json-common`); the file
handling is ours, because the official file exporter neither rotates nor keeps the file private
and writes through a buffered stream, which can interleave lines from several processes.

Worker, consumer and client processes append to the same file. Each line is written by one
`write` on a descriptor opened with O_APPEND, so lines from different processes never
interleave. The exporter runs on the BatchSpanProcessor's thread, never on an event loop.
"""

import fcntl
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from workers.runtime.private_files import PRIVATE_FILE, private_dir

# A line never exceeds this, so a reader can bound what it holds: a batch too big for one line
# is split, and a single span bigger than a line (attributes are capped far below) is dropped.
MAX_LINE_BYTES = 4 * 1024 * 1024
SPANS_PER_LINE = 64
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_BACKUPS = 3


class OtlpJsonFileExporter(SpanExporter):
    def __init__(
        self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES, backups: int = DEFAULT_BACKUPS
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.backups = backups

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            lines = list(encoded_lines(spans))
            private_dir(self.path.parent)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
            try:
                for line in lines:
                    os.write(fd, line)
                size = os.fstat(fd).st_size
            finally:
                os.close(fd)
            if size >= self.max_bytes:
                rotate(self.path, self.max_bytes, self.backups)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS


def encoded_lines(spans: Sequence[ReadableSpan]) -> Iterator[bytes]:
    for start in range(0, len(spans), SPANS_PER_LINE):
        yield from _fitted(spans[start : start + SPANS_PER_LINE])


def _fitted(spans: Sequence[ReadableSpan]) -> Iterator[bytes]:
    request = encode_spans(spans).to_dict()
    line = (json.dumps(request, separators=(",", ":")) + "\n").encode()
    if len(line) <= MAX_LINE_BYTES:
        yield line
    elif len(spans) > 1:
        half = len(spans) // 2
        yield from _fitted(spans[:half])
        yield from _fitted(spans[half:])


def rotated_files(path: Path, backups: int) -> list[Path]:
    """The span file and its rotated predecessors that exist, newest first."""
    candidates = [path, *(_backup(path, n) for n in range(1, backups + 1))]
    return [p for p in candidates if p.is_file()]


def rotate(path: Path, max_bytes: int, backups: int) -> None:
    """`spans.jsonl` becomes `spans.jsonl.1`, `.1` becomes `.2`, ...; the oldest is dropped.

    Several processes may reach the limit together: a lock beside the file lets one rotate,
    and the others find the new file small and leave it.
    """
    lock = os.open(_backup(path, "lock"), os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if path.stat().st_size < max_bytes:
                return
        except FileNotFoundError:
            return
        if backups == 0:
            path.unlink()
            return
        for n in range(backups - 1, 0, -1):
            if _backup(path, n).exists():
                os.replace(_backup(path, n), _backup(path, n + 1))
        os.replace(path, _backup(path, 1))
    finally:
        os.close(lock)


def _backup(path: Path, suffix: int | str) -> Path:
    return path.with_name(f"{path.name}.{suffix}")
