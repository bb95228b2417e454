"""The cost of tracing: the same orders with every span recorded and exported, and with none.

The OpenTelemetry SDK is installed once for the process (a provider cannot be swapped), with a
sampler switched between blocks: on, every span of client, workflow, activities, publish and
consumers is recorded and written to a JSON-lines file as in production; off, the same
instrumented code runs and drops them. Blocks alternate so drift on the machine hits both.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.util.types import Attributes

from bench.load import Block, Call
from bench.phases import Rounds, Shared
from workers.runtime.span_file import OtlpJsonFileExporter


class SwitchSampler(Sampler):
    def __init__(self) -> None:
        self.on = False

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: trace.TraceState | None = None,
    ) -> SamplingResult:
        if self.on:
            return SamplingResult(Decision.RECORD_AND_SAMPLE, attributes)
        return SamplingResult(Decision.DROP)

    def get_description(self) -> str:
        return "bench switch"


def install_switchable_tracing(spans_file: Path) -> SwitchSampler | None:
    """None when this process already has a tracer provider (tracing was configured)."""
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return None
    sampler = SwitchSampler()
    provider = TracerProvider(
        sampler=sampler, resource=Resource.create({"service.name": "podium-bench"})
    )
    provider.add_span_processor(BatchSpanProcessor(OtlpJsonFileExporter(spans_file)))
    trace.set_tracer_provider(provider)
    return sampler


@dataclass
class TracingCost:
    concurrency: int
    off: Block = field(default_factory=Block)
    on: Block = field(default_factory=Block)


async def tracing_cost(
    call: Call, sampler: SwitchSampler, rounds: Rounds, shared: Shared
) -> TracingCost:
    """Rounds of one block untraced and one traced (order swapped each round); the consumers
    drain each block's events before the next block starts."""
    cost = TracingCost(rounds.concurrency)
    shared.progress.phase(
        f"tracing off/on, concurrency {rounds.concurrency}", rounds.per_round * rounds.rounds * 2
    )
    for r in range(rounds.rounds):
        for on in (False, True) if r % 2 == 0 else (True, False):
            sampler.on = on
            block = await rounds.block(call, shared, orders=True)
            (cost.on if on else cost.off).add(block)
            await shared.settled()
    sampler.on = False
    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    return cost
