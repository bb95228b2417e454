"""The Temporal SDK's own metrics (workflow and activity counts, latencies, task slots)."""

from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workers.runtime.settings import Settings


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving Prometheus metrics on `metrics_port`; None when it is 0.

    Create one per process: it binds the port, and a client only reports through the runtime
    it was connected with.
    """
    if not settings.metrics_port:
        return None
    address = f"{settings.metrics_host}:{settings.metrics_port}"
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
