"""An in-memory span exporter for the tests that look at spans.

The global tracer provider can be set once per process, and other tests in the same session
(e.g. the exact-headers check in tests/integration) expect tracing to be off. So the session
installs a provider that records only while a test asks for `spans`, and is a no-op otherwise,
like a process without the SDK. If an entry point configured the SDK earlier in the process,
the in-memory exporter is added to that provider instead.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.support.servers import Mail, quick_consumers
from workers.runtime.settings import Settings


class SwitchedProvider(trace.TracerProvider):
    """Hands out tracers that record with `sdk` while `on`, and do nothing otherwise."""

    def __init__(self, sdk: TracerProvider) -> None:
        self.sdk = sdk
        self.on = False

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _SwitchedTracer(self, self.sdk.get_tracer(*args, **kwargs))


class _SwitchedTracer(trace.Tracer):
    def __init__(self, switch: SwitchedProvider, real: trace.Tracer) -> None:
        self._switch = switch
        self._real = real
        self._off = trace.NoOpTracer()

    def _now(self) -> trace.Tracer:
        return self._real if self._switch.on else self._off

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self._now().start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self._now().start_as_current_span(*args, **kwargs)


@pytest.fixture(scope="session")
def session_spans() -> tuple[InMemorySpanExporter, SwitchedProvider | None]:
    exporter = InMemorySpanExporter()
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        current.add_span_processor(SimpleSpanProcessor(exporter))
        return exporter, None
    sdk = TracerProvider(resource=Resource.create({SERVICE_NAME: "podium-tests"}))
    sdk.add_span_processor(SimpleSpanProcessor(exporter))
    switch = SwitchedProvider(sdk)
    trace.set_tracer_provider(switch)
    assert trace.get_tracer_provider() is switch, "a tracer provider was installed already"
    return exporter, switch


@pytest.fixture
def spans(
    session_spans: tuple[InMemorySpanExporter, SwitchedProvider | None],
) -> Iterator[InMemorySpanExporter]:
    """Spans recorded during this test (tracing is on only while the test runs)."""
    exporter, switch = session_spans
    exporter.clear()
    if switch is not None:
        switch.on = True
    try:
        yield exporter
    finally:
        if switch is not None:
            switch.on = False


@pytest.fixture
def traced_settings(settings: Settings, mail: Mail) -> Settings:
    """The test's own exchange and queues on the shared broker, fast retries, a mail server."""
    return quick_consumers(settings, mail).model_copy(update={"consumer_retry_delays_ms": [200]})
