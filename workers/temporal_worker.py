"""`podium worker`: the order worker as a long-running process."""

import asyncio
import signal

import structlog

from workers.bootstrap import running_worker
from workers.runtime.metrics import temporal_runtime
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

log = structlog.get_logger(__name__)


async def serve(settings: Settings) -> None:
    """Run a worker until SIGINT or SIGTERM; in-flight activities get time to finish."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect_temporal(settings, runtime=temporal_runtime(settings))
    async with running_worker(client, settings):
        log.info(
            "worker started",
            task_queue=settings.task_queue,
            temporal=settings.temporal_address,
            metrics_port=settings.metrics_port or None,
        )
        await stop.wait()
        log.info("worker stopping")
    log.info("worker stopped")
