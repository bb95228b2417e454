"""The Temporal SDK's own metrics (workflow and activity counts, latencies, task slots)."""

import structlog
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from workers.runtime.settings import Settings

log = structlog.get_logger(__name__)


def temporal_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving Prometheus metrics on `metrics_port`; None when it is 0, or
    when the port is taken (a second worker on the same machine runs without metrics).

    Create one per process: it binds the port, and a client only reports through the runtime
    it was connected with.
    """
    if not settings.metrics_port:
        return None
    address = f"{settings.metrics_host}:{settings.metrics_port}"
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except ValueError as err:  # the SDK's "Failed starting Prometheus exporter: ..."
        log.warning(
            "worker metrics disabled: cannot serve them",
            address=address,
            reason=str(err),
            hint="give each worker its own PODIUM_METRICS_PORT (0 turns metrics off)",
        )
        return None
