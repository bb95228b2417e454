"""`podium worker` as a real process: it serves orders and stops gracefully on SIGTERM."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.client import Client

from contracts.money import Currency
from contracts.order import OrderState
from podium.client import outcome, place_order, wait_for_state
from tests.support.factories import ORDER_TOTAL, an_order
from workers.bootstrap import open_services, running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def start_worker(settings: Settings, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PODIUM_TEMPORAL_ADDRESS": settings.temporal_address,
        "PODIUM_TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "PODIUM_AMQP_URL": settings.amqp_url,
        "PODIUM_DATA_DIR": str(settings.data_dir),
        "PODIUM_TASK_QUEUE": settings.task_queue,
        "PODIUM_EXCHANGE": settings.exchange,
        "PODIUM_LOG_FORMAT": "json",
        **extra,
    }
    podium = Path(sys.executable).parent / "podium"
    return subprocess.Popen([str(podium), "worker"], env=env, stderr=subprocess.PIPE)


async def test_sigterm_lets_the_charge_in_flight_finish_then_a_new_worker_completes_the_order(
    settings: Settings, temporal: Client, event_tap: object
) -> None:
    order = an_order()
    worker = start_worker(settings, PODIUM_PAYMENT_LATENCY_MS="1500")
    try:
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        async with asyncio.timeout(30):
            await wait_for_state(temporal, order.order_id, OrderState.RESERVED)
        await asyncio.sleep(0.5)  # the charge is now in flight, sleeping in the gateway
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(worker.wait, 30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.stderr is not None
    log = worker.stderr.read().decode()
    assert code == 0, log
    assert "worker stopping" in log and "worker stopped" in log

    # The charge finished during shutdown and was recorded once; a new worker completes it.
    _, _, payments = open_services(settings)
    assert [c.status for c in payments.charges()] == ["CAPTURED"]
    async with running_worker(temporal, settings):
        result = await asyncio.wait_for(outcome(handle), timeout=60)
    assert result.state == OrderState.COMPLETED
    assert payments.captured_total(Currency.EUR) == ORDER_TOTAL


async def test_sigterm_while_the_broker_connection_hangs_still_stops_the_worker(
    settings: Settings,
) -> None:
    """A broker that accepts the connection and never answers: the worker's connect at start is
    still in flight when SIGTERM comes, and must not keep the process alive reconnecting."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"amqp://podium:x@127.0.0.1:{silent.getsockname()[1]}/podium"
        worker = start_worker(
            settings,
            PODIUM_AMQP_URL=url,
            PODIUM_PUBLISH_TIMEOUT_SECONDS="60",
            PODIUM_METRICS_PORT="0",
        )
        try:
            assert worker.stderr is not None
            async with asyncio.timeout(30):
                while b"worker started" not in await asyncio.to_thread(worker.stderr.readline):
                    pass
            worker.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(worker.wait, 20)
        finally:
            if worker.poll() is None:
                worker.kill()
    assert code == 0
