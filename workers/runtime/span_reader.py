"""Reading one order's traces back from the OTLP JSON span files, for `podium trace`.

The files are read newest first and only as far as needed: the reading stops once every trace
of the order is complete (its root is there and every span's parent too) and the file just read
began before the traces did. Memory is bounded
(lines of at most MAX_LINE_BYTES, at most MAX_TRACES traces of MAX_SPANS spans in all), and a
line that is not OTLP JSON (torn, foreign, hostile) is counted and skipped, never fatal.
"""

import json
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from contracts.order import workflow_id_for
from contracts.problems import one_line
from workers.runtime.span_file import MAX_LINE_BYTES, rotated_files

Record = dict[str, Any]  # one span: trace_id, span_id, parent_id, name, service, times, ...
MAX_TRACES = 50
MAX_SPANS = 20_000
MAX_FILES = 100
MAX_ARRAY_VALUES = 64
MAX_TEXT_CHARS = 300
# Spans reach the file in batches, up to seconds after they end, from several processes.
WRITE_DELAY_NS = 60 * 10**9
KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}


@dataclass
class Found:
    traces: dict[str, dict[str, Record]] = field(default_factory=dict)  # trace → span id → span
    files: list[Path] = field(default_factory=list)
    unreadable: int = 0  # lines skipped
    spans: int = 0
    truncated: bool = False  # more spans than MAX_SPANS, or traces than MAX_TRACES

    def complete(self) -> bool:
        return bool(self.traces) and all(_whole(spans) for spans in self.traces.values())


def order_traces(path: Path, backups: int, order_id: str) -> Found:
    """The spans of every trace that concerns the order, from `path` and its rotated files."""
    workflow_id = workflow_id_for(order_id)
    found = Found()
    for file in rotated_files(path, min(backups, MAX_FILES)):
        new = _mentioning(file, order_id, workflow_id, found) - found.traces.keys()
        room = MAX_TRACES - len(found.traces)
        if len(new) > room:
            found.truncated = True
            new = set(sorted(new)[:room])
        if new:
            found.traces.update({t: {} for t in new})
            for earlier in found.files:  # a trace's last spans may sit in a newer file
                _collect(earlier, new, found)
        found.files.append(file)
        if found.traces:
            _collect(file, set(found.traces), found)
        if found.complete() and _predates(file, found):
            break
    return found


def _predates(file: Path, found: Found) -> bool:
    """Whether the file reaches back before the order's traces began, so older files cannot
    hold their spans (its first line is its oldest: a span is written when it ends)."""
    lines = _lines(file, found, count=False)
    first = next(lines, b"")
    lines.close()
    ends = [span["end_ns"] for span in _spans(first, found, count=False)]
    begun = min(span["start_ns"] for spans in found.traces.values() for span in spans.values())
    return bool(ends) and min(ends) < begun - WRITE_DELAY_NS


def _mentioning(file: Path, order_id: str, workflow_id: str, found: Found) -> set[str]:
    """Trace ids of the file's spans that carry the order id or its workflow id."""
    needle = order_id.encode()  # ids are letters, digits, '_' and '-': JSON never escapes them
    traces: set[str] = set()
    for line in _lines(file, found):
        if needle not in line:
            continue
        for span in _spans(line, found):
            attributes = span["attributes"]
            if (
                attributes.get("podium.order_id") == order_id
                or attributes.get("temporalWorkflowID") == workflow_id
            ):
                traces.add(span["trace_id"])
    return traces


def _collect(file: Path, wanted: set[str], found: Found) -> None:
    needles = [t.encode() for t in wanted]
    for line in _lines(file, found, count=False):
        if not any(n in line for n in needles):
            continue
        for span in _spans(line, found, count=False):
            spans = found.traces.get(span["trace_id"])
            if span["trace_id"] not in wanted or spans is None or span["span_id"] in spans:
                continue
            if found.spans >= MAX_SPANS:
                found.truncated = True
                return
            spans[span["span_id"]] = span
            found.spans += 1


def _lines(file: Path, found: Found, count: bool = True) -> Generator[bytes]:
    try:
        with file.open("rb") as lines:
            while line := lines.readline(MAX_LINE_BYTES + 1):
                if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                    _skip_rest(lines)
                    found.unreadable += count
                    continue
                yield line
    except OSError:
        return  # rotated away meanwhile: what was read stands


def _skip_rest(lines: BinaryIO) -> None:
    while (part := lines.readline(64 * 1024)) and not part.endswith(b"\n"):
        pass


def _spans(line: bytes, found: Found, count: bool = True) -> list[Record]:
    """The spans of one OTLP JSON line; none (and counted) when the line is not one."""
    try:
        spans = list(_parse(json.loads(line)))
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        found.unreadable += count
        return []
    return spans


def _parse(request: Any) -> Iterator[Record]:
    for resource_spans in request["resourceSpans"]:
        resource = _attributes(resource_spans.get("resource", {}).get("attributes", []))
        service = resource.get("service.name")
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                yield _record(span, service if isinstance(service, str) else None)


def _record(span: dict[str, Any], service: str | None) -> Record:
    status = span.get("status") or {}
    code = status.get("code", 0)
    record = {
        "trace_id": _hex(span["traceId"], 32),
        "span_id": _hex(span["spanId"], 16),
        "parent_id": _hex(span["parentSpanId"], 16) if span.get("parentSpanId") else None,
        "name": _shown(span["name"]),
        "kind": _enum(span.get("kind", 1), KINDS, "SPAN_KIND_"),
        "service": service,
        "start_ns": int(span["startTimeUnixNano"]),
        "end_ns": int(span.get("endTimeUnixNano") or span["startTimeUnixNano"]),
        "attributes": _attributes(span.get("attributes", [])),
        "status": {
            "code": _enum(code, STATUS_CODES, "STATUS_CODE_"),
            "description": _shown(status.get("message", "")) or None,
        },
    }
    return record


def _attributes(pairs: list[dict[str, Any]]) -> dict[str, Any]:
    return {_shown(pair["key"]): _value(pair.get("value") or {}) for pair in pairs}


def _value(any_value: dict[str, Any]) -> Any:
    """An OTLP AnyValue as a Python value (int64 come as strings in OTLP JSON)."""
    if "stringValue" in any_value:
        return _shown(any_value["stringValue"])
    if "boolValue" in any_value:
        return bool(any_value["boolValue"])
    if "intValue" in any_value:
        return int(any_value["intValue"])
    if "doubleValue" in any_value:
        return float(any_value["doubleValue"])
    if "arrayValue" in any_value:
        values = any_value["arrayValue"].get("values", [])[:MAX_ARRAY_VALUES]
        return [_value(v) for v in values]
    return None  # kvlist and bytes values: nothing of ours uses them


def _hex(value: Any, length: int) -> str:
    text = _text(value).lower()
    if len(text) != length or text.strip("0123456789abcdef"):
        raise ValueError("not a hex id")
    return text


def _shown(value: Any) -> str:
    """Text from the file goes to a terminal: one printable, bounded line."""
    return one_line(_text(value), MAX_TEXT_CHARS)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("not a string")
    return value


def _enum(value: Any, names: dict[int, str], prefix: str) -> str:
    """OTLP JSON writes enums as numbers; some writers use their names."""
    if isinstance(value, int):
        return names.get(value, "UNSET")
    return _text(value).removeprefix(prefix)[:20]


def _whole(spans: dict[str, Record]) -> bool:
    parents = [s["parent_id"] for s in spans.values()]
    return None in parents and all(p is None or p in spans for p in parents)
