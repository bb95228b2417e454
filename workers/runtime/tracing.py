"""The OpenTelemetry SDK, configured once per process at its entry point.

Everything else in Podium uses only the OpenTelemetry API (`trace.get_tracer`, `propagate`):
without a configured SDK those calls are no-ops, so libraries and tests stay free of exporters.
"""

import importlib
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from workers.runtime.settings import Settings
from workers.runtime.span_file import OtlpJsonFileExporter

MAX_ATTRIBUTE_CHARS = 2_000
_configured: TracerProvider | None = None


def configure_tracing(settings: Settings, service_name: str) -> TracerProvider:
    """Install the process's tracer provider (first call wins; later calls return it).

    The provider flushes and shuts down at interpreter exit; entry points also call
    `flush_tracing` on their shutdown path so spans are written before a slow exit.
    """
    global _configured
    if _configured is None:
        current = trace.get_tracer_provider()
        if isinstance(current, TracerProvider):  # installed by someone else, e.g. a test
            _configured = current
        else:
            _configured = build_provider(settings, service_name)
            trace.set_tracer_provider(_configured)
    return _configured


def build_provider(settings: Settings, service_name: str) -> TracerProvider:
    provider = TracerProvider(
        resource=Resource.create({SERVICE_NAME: service_name}),
        # Error texts and the like stay short: no span outgrows a line of the span file.
        span_limits=SpanLimits(max_attribute_length=MAX_ATTRIBUTE_CHARS),
    )
    provider.add_span_processor(BatchSpanProcessor(span_exporter(settings)))
    return provider


def span_exporter(settings: Settings) -> SpanExporter:
    if settings.otlp_endpoint:
        return _otlp_exporter(settings.otlp_endpoint)
    return OtlpJsonFileExporter(
        settings.trace_file, settings.trace_file_max_bytes, settings.trace_file_backups
    )


def flush_tracing(timeout_millis: int = 5_000) -> None:
    """Write out the spans still buffered (no-op when tracing was not configured)."""
    if _configured is not None:
        _configured.force_flush(timeout_millis)


def _otlp_exporter(endpoint: str) -> SpanExporter:
    # Imported only when asked for: the exporter is the optional extra `podium[otlp]`.
    try:
        module: Any = importlib.import_module(
            "opentelemetry.exporter.otlp.proto.http.trace_exporter"
        )
    except ImportError:
        raise RuntimeError(
            "PODIUM_OTLP_ENDPOINT is set but the OTLP exporter is not installed: "
            "pip install -e '.[otlp]'"
        ) from None
    exporter: SpanExporter = module.OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    return exporter
