"""Three `podium worker` and two `podium consumers` processes side by side on one PostgreSQL,
one Temporal and one broker; one of each is SIGKILLed mid-run and the rest carry on.
Nothing is lost, nothing doubled."""

import asyncio
import random
import time
from collections import Counter
from pathlib import Path

import pytest
from temporalio.client import Client

from contracts.order import OrderResult, OrderState
from podium.client import outcome, place_order
from services.payment import CAPTURED
from tests.support.factories import mixed_orders
from tests.support.invariants import (
    ConsumerStores,
    assert_run_invariants,
)
from tests.support.running import Process, consumers_process, wait_settled, worker_process
from tests.support.servers import Mail
from tests.support.waits import elapsed
from workers.bootstrap import declare_consumer_topology, open_services
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration

ORDERS = 40
SUBMIT_SECONDS = 6.0


def own_folder(settings: Settings, folder: Path) -> Settings:
    """Each process its own data folder, as on separate machines; the data is in PostgreSQL."""
    return settings.model_copy(update={"data_dir": folder})


@pytest.mark.parametrize("fault_settings", ["postgresql"], indirect=True)
async def test_three_workers_and_two_consumer_processes_lose_and_double_nothing(
    fault_settings: Settings, temporal: Client, mail: Mail, tmp_path: Path
) -> None:
    settings = fault_settings
    rng = random.Random(12)
    orders = mixed_orders(ORDERS, rng, f"many-{tmp_path.name}")
    await declare_consumer_topology(settings)
    logs = tmp_path / "logs"
    # Metrics ports are 0 (off) in every process: several on one host need a port each or none.
    processes: dict[str, Process] = {
        **{
            f"worker-{i}": worker_process(
                own_folder(settings, tmp_path / f"worker-{i}"),
                logs / f"worker-{i}.log",
                PODIUM_PAYMENT_LATENCY_MS="50",
            )
            for i in range(3)
        },
        **{
            f"consumers-{i}": consumers_process(
                own_folder(settings, tmp_path / f"consumers-{i}"), logs / f"consumers-{i}.log"
            )
            for i in range(2)
        },
    }
    started = time.monotonic()
    try:
        handles = []
        for n, order in enumerate(orders):
            handles.append(await place_order(temporal, order, settings.task_queue, wait="started"))
            if n == ORDERS // 2:  # mid-run, with work in flight in every process
                await asyncio.to_thread(processes["worker-1"].kill)
                await asyncio.to_thread(processes["consumers-0"].kill)
            await asyncio.sleep(SUBMIT_SECONDS / ORDERS)
        async with asyncio.timeout(40):
            results: list[OrderResult] = await asyncio.gather(*(outcome(h) for h in handles))
        stores = ConsumerStores.of(settings, mail.folder)
        await wait_settled(results, stores, within=30)
        alive = {n for n, p in processes.items() if p.proc is not None and p.proc.poll() is None}
    except BaseException:
        for name, process in processes.items():
            print(f"--- {name} log tail:\n{process.tail()}")
        raise
    finally:
        for process in processes.values():
            await asyncio.to_thread(process.stop)
    seconds = elapsed(started)

    await assert_run_invariants(results, orders, settings, stores)
    payments = open_services(settings)[2]
    charged = Counter(c.order_id for c in payments.charges() if c.status == CAPTURED)
    assert all(n == 1 for n in charged.values())

    states = Counter(r.state for r in results)
    assert states[OrderState.COMPLETED] > 0 and states[OrderState.FAILED] > 0
    # The killed ones stayed down: the survivors finished their work and the rest.
    assert alive == {"worker-0", "worker-2", "consumers-1"}
    print(f"{ORDERS} orders on 3 workers + 2 consumer processes in {seconds}s: {dict(states)}")
