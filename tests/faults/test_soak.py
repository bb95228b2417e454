"""A soak: many orders with random gateway failures, declined cards and scarce stock, while
worker and consumer processes are SIGKILLed and restarted. Nothing is lost, nothing doubled.

PODIUM_SOAK_ORDERS (default 120), PODIUM_SOAK_KILLS (default 4) and PODIUM_SOAK_SEED size it.
"""

import asyncio
import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest
from temporalio.client import Client

from contracts.order import OrderResult, OrderState
from podium.client import outcome, place_order
from services.payment import CAPTURED
from tests.faults.conftest import SUMMARY
from tests.support.factories import mixed_orders
from tests.support.invariants import (
    ConsumerStores,
    assert_run_invariants,
    tally_effects,
)
from tests.support.running import Process, consumers_process, wait_settled, worker_process
from tests.support.servers import Mail
from tests.support.waits import elapsed
from workers.bootstrap import declare_consumer_topology, open_services
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration

ORDERS = int(os.environ.get("PODIUM_SOAK_ORDERS", "120"))
KILLS = int(os.environ.get("PODIUM_SOAK_KILLS", "4"))
SEED = int(os.environ.get("PODIUM_SOAK_SEED", "13"))
SUBMIT_SECONDS = min(15.0, ORDERS / 8)  # orders arrive over this long, kills happen meanwhile
FAULTS = {"PODIUM_PAYMENT_FAILURE_RATE": "0.2", "PODIUM_PAYMENT_LATENCY_MS": "50"}


async def chaos(processes: dict[str, Process], rng: random.Random, killed: list[str]) -> None:
    """SIGKILL one process at a time at random moments and start it again shortly after;
    the schedule hits both workers and the consumers."""
    schedule = ["worker-0", "consumers", "worker-1", "consumers", "worker-0", "worker-1"]
    for name in (schedule * (KILLS // len(schedule) + 1))[:KILLS]:
        await asyncio.sleep(rng.uniform(1.5, SUBMIT_SECONDS / max(KILLS, 1) + 1.5))
        await asyncio.to_thread(processes[name].kill)
        killed.append(name)
        await asyncio.sleep(rng.uniform(0.2, 1.0))
        processes[name].start()


async def test_soak_with_random_failures_and_killed_processes_loses_and_doubles_nothing(
    fault_settings: Settings, temporal: Client, mail: Mail, tmp_path: Path
) -> None:
    settings = fault_settings
    rng = random.Random(SEED)
    orders = mixed_orders(ORDERS, rng, f"soak-{SEED}-{'pg' if settings.database_url else 'lite'}")
    await declare_consumer_topology(settings)  # events are routable before any consumer runs
    logs = tmp_path / "logs"
    processes = {
        "worker-0": worker_process(settings, logs / "worker-0.log", **FAULTS),
        "worker-1": worker_process(settings, logs / "worker-1.log", **FAULTS),
        "consumers": consumers_process(settings, logs / "consumers.log"),
    }
    killed: list[str] = []
    started = time.monotonic()
    try:
        chaos_task = asyncio.create_task(chaos(processes, rng, killed))
        handles = []
        for order in orders:
            handles.append(await place_order(temporal, order, settings.task_queue, wait="started"))
            await asyncio.sleep(SUBMIT_SECONDS / ORDERS)
        async with asyncio.timeout(150):
            await chaos_task
            results: list[OrderResult] = await asyncio.gather(*(outcome(h) for h in handles))
        stores = ConsumerStores.of(settings, mail.folder)
        await wait_settled(results, stores, within=60)
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

    states = Counter(r.state for r in results)
    tally = tally_effects(results, stores)
    charges = Counter(c.order_id for c in payments.charges() if c.status == CAPTURED)
    doubles = tally.doubles + sum(n - 1 for n in charges.values())
    reasons = Counter(r.failure.code for r in results if r.failure is not None)
    line = (
        f"soak on {'PostgreSQL' if settings.database_url else 'SQLite'}: "
        f"{len(results)} orders in {seconds}s (seed {SEED}), "
        f"{states[OrderState.COMPLETED]} completed, {states[OrderState.FAILED]} compensated "
        f"({', '.join(f'{code} {n}' for code, n in sorted(reasons.items()))}), "
        f"kills: {', '.join(killed)}; lost={tally.lost}, double effects={doubles}"
    )
    SUMMARY.append(line)
    print(line)
    assert states[OrderState.COMPLETED] > 0 and states[OrderState.FAILED] > 0
    assert len(killed) == KILLS
