"""`podium trace ORDER_ID`: the order's spans from the local span file, as a tree.

A trace belongs to the order when one of its spans carries `podium.order_id` (client, publish,
consumers) or the Temporal interceptor's `temporalWorkflowID` of the order's workflow. Spans the
workflow emits are instants by design (Temporal cannot keep a span open across replays), so
they show 0.0 ms.
"""

import argparse
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from contracts.order import workflow_id_for
from podium.cli import exits
from podium.cli.parsing import Commands, identifier
from workers.runtime.settings import Settings
from workers.runtime.span_file import read_records

Record = dict[str, Any]
NO_SPANS = 1
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
    traces = order_traces(read_records(settings.trace_file), order_id)
    if not traces:
        print(f"podium: no spans found for order {order_id} in {settings.trace_file}")
        if settings.otlp_endpoint:
            print(f"  spans are exported to {settings.otlp_endpoint}: look there (e.g. Jaeger)")
        else:
            print("  were the worker, consumers and client started with tracing configured?")
        return NO_SPANS
    for trace_id, spans in traces.items():
        print(render_trace(trace_id, spans))
    return exits.OK


def order_traces(records: Iterable[Record], order_id: str) -> dict[str, list[Record]]:
    """The spans of each trace that concerns the order, keyed by trace id, oldest trace first."""
    workflow_id = workflow_id_for(order_id)
    by_trace: dict[str, list[Record]] = defaultdict(list)
    wanted: set[str] = set()
    for record in records:
        by_trace[record["trace_id"]].append(record)
        attributes = record.get("attributes") or {}
        if (
            attributes.get("podium.order_id") == order_id
            or attributes.get("temporalWorkflowID") == workflow_id
        ):
            wanted.add(record["trace_id"])
    chosen = {t: by_trace[t] for t in wanted}
    return dict(sorted(chosen.items(), key=lambda item: min(_start(s) for s in item[1])))


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
    text = (
        f"{span['name']}  [{span.get('service') or '?'}]  "
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
