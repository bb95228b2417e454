"""`podium consumers`: the side-effect consumers as a long-running process."""

from contextlib import ExitStack

import structlog

from consumers.runtime.metrics import metrics_endpoint
from consumers.runtime.runner import run_until_signalled
from workers.bootstrap import registered, runtime_options
from workers.runtime.settings import Settings

log = structlog.get_logger(__name__)


async def serve(settings: Settings, names: list[str] | None = None) -> None:
    """Run the named consumers (all when None) until SIGINT or SIGTERM, serving their metrics
    on `consumer_metrics_port` unless it is 0."""
    with ExitStack() as stack:
        if settings.consumer_metrics_port:
            try:
                stack.enter_context(
                    metrics_endpoint(settings.metrics_host, settings.consumer_metrics_port)
                )
            except OSError as err:  # taken, most often by another consumer process here
                log.warning(
                    "consumer metrics disabled: cannot serve them",
                    port=settings.consumer_metrics_port,
                    reason=err.strerror or str(err),
                    hint="give each process its own PODIUM_CONSUMER_METRICS_PORT (0: off)",
                )
        await run_until_signalled(registered(settings, names), runtime_options(settings))
