"""`podium trace ORDER_ID`: the order's spans from the local OTLP JSON span files, as a tree.

A trace belongs to the order when one of its spans carries `podium.order_id` (client, publish,
consumers) or the Temporal interceptor's `temporalWorkflowID` of the order's workflow. Spans the
workflow emits are instants by design (Temporal cannot keep a span open across replays), so
they show 0.0 ms. Compensations (the undo activities) are marked "undo".
"""

import argparse
import sys
from collections import defaultdict

from podium.cli import exits
from podium.cli.parsing import Commands, identifier
from workers.runtime.settings import Settings
from workers.runtime.span_file import MAX_LINE_BYTES
from workers.runtime.span_reader import Found, Record, order_traces

NO_SPANS = 1
COMPENSATION = "podium.compensation"
SHOWN = (
    "podium.order_id",
    "podium.customer_id",
    "podium.consumer",
    "podium.attempt",
    "podium.outcome",
    "podium.dead_letter_reason",
    "podium.error",
)


def register(commands: Commands) -> None:
    cmd = commands.add_parser(
        "trace", help="print an order's trace (client to side effects) as a tree"
    )
    cmd.add_argument("order_id", type=identifier)
    cmd.set_defaults(command=_trace)


def _trace(args: argparse.Namespace, settings: Settings) -> int:
    return show_trace(settings, args.order_id)


def show_trace(settings: Settings, order_id: str) -> int:
    """Print the span tree of every trace of `order_id`; exit 1 when there is none."""
    found = order_traces(settings.trace_file, settings.trace_file_backups, order_id)
    _warn(found, settings)
    if not found.traces:
        print(f"podium: no spans found for order {order_id} in {settings.trace_file}")
        if settings.otlp_endpoint:
            print(f"  spans are exported to {settings.otlp_endpoint}: look there (e.g. Jaeger)")
        else:
            print("  were the worker, consumers and client started with tracing configured?")
        return NO_SPANS
    traces = sorted(found.traces.items(), key=lambda item: min(map(_start, item[1].values())))
    for trace_id, spans in traces:
        if spans:
            print(render_trace(trace_id, list(spans.values())))
    return exits.OK


def _warn(found: Found, settings: Settings) -> None:
    if found.unreadable:
        print(
            f"podium: skipped {found.unreadable} line(s) of {settings.trace_file} (or its rotated "
            f"files) that are not OTLP JSON spans or exceed {MAX_LINE_BYTES // 2**20} MiB",
            file=sys.stderr,
        )
    if found.truncated:
        print("podium: the order has more spans than are shown", file=sys.stderr)


def render_trace(trace_id: str, spans: list[Record]) -> str:
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[Record]] = defaultdict(list)
    for span in spans:
        parent = span.get("parent_id")
        children[parent if parent in ids else None].append(span)
    t0 = min(_start(s) for s in spans)
    t1 = max(s.get("end_ns") or _start(s) for s in spans)
    errors = sum(1 for s in spans if _is_error(s))
    lines = [
        f"trace {trace_id}: {len(spans)} spans, {(t1 - t0) / 1e6:.1f} ms"
        + (f", {errors} with errors" if errors else "")
    ]

    def walk(span: Record, prefix: str, last: bool, root: bool) -> None:
        branch = "" if root else ("`- " if last else "|- ")
        lines.append(f"{prefix}{branch}{_describe(span, t0)}")
        kids = sorted(children.get(span["span_id"], []), key=_start)
        inner = prefix if root else prefix + ("   " if last else "|  ")
        for i, kid in enumerate(kids):
            walk(kid, inner, i == len(kids) - 1, False)

    for root in sorted(children[None], key=_start):
        walk(root, "", True, True)
    return "\n".join(lines)


def _describe(span: Record, t0: int) -> str:
    start = _start(span)
    duration = ((span.get("end_ns") or start) - start) / 1e6
    attributes = span.get("attributes") or {}
    shown = " ".join(
        f"{k.removeprefix('podium.')}={attributes[k]}" for k in SHOWN if k in attributes
    )
    undo = "undo: " if attributes.get(COMPENSATION) is True else ""
    text = (
        f"{undo}{span['name']}  [{span.get('service') or '?'}]  "
        f"+{(start - t0) / 1e6:.1f} ms  {duration:.1f} ms"
    )
    if shown:
        text += f"  {shown}"
    if _is_error(span):
        description = (span.get("status") or {}).get("description")
        text += f"  !! ERROR{': ' + description if description else ''}"
    return text


def _is_error(span: Record) -> bool:
    return (span.get("status") or {}).get("code") == "ERROR"


def _start(span: Record) -> int:
    return int(span.get("start_ns") or 0)
