"""The integration session's stack, plus an in-memory span exporter and a mail server.

The global tracer provider can be set once per process, and other tests in the same session
(e.g. the exact-headers check in tests/integration) expect tracing to be off. So the session
installs a provider that records only while a test asks for `spans`, and is a no-op otherwise,
like a process without the SDK. If an entry point configured the SDK earlier in the process,
the in-memory exporter is added to that provider instead.
"""

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from infra import mailserver
from tests.integration.conftest import amqp_channel, settings, stack, stack_info, temporal  # noqa: F401
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


@pytest.fixture(scope="session")
def mail_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = mailserver.start(tmp_path_factory.mktemp("mail"), port)
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture
def traced_settings(settings: Settings, mail_port: int, tmp_path: Path) -> Settings:  # noqa: F811
    """The test's own exchange and queues on the shared broker, fast retries, the mail server."""
    uid = uuid.uuid4().hex[:8]
    return settings.model_copy(
        update={
            "exchange": f"orders-{uid}",
            "consumer_queue_prefix": f"o{uid}",
            "consumer_retry_delays_ms": [200],
            "consumer_shutdown_timeout_seconds": 10,
            "smtp_port": mail_port,
            "mail_dir": tmp_path / "mail",
        }
    )
