"""A worker dies, or a charge outlives its timeout: the saga resumes and charges once."""

import asyncio
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from aio_pika.abc import AbstractChannel
from temporalio import activity
from temporalio.client import Client

from activities.steps import PaymentActivities
from adapters.storage import database
from contracts.order import OrderState, workflow_id_for
from contracts.steps import Charge, ChargePayment
from podium.client import outcome, place_order, wait_for_state
from services.payment import CAPTURED, payment_id_for
from tests.support.factories import an_order
from tests.support.invariants import assert_invariants
from tests.support.running import (
    activity_runs,
    fault_worker,
    local_activity_attempts,
    started,
    wait_for_pending,
    worker_process,
)
from tests.support.waits import drain, tap, until
from workers.bootstrap import open_services, running_worker, service_location
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def idempotency_rows(settings: Settings, service: str, key: str) -> int:
    with closing(database(service_location(settings, service), ())) as db:
        return int(
            db.read(
                lambda tx: tx.execute(
                    "SELECT count(*) FROM idempotency WHERE key = ?", (key,)
                ).fetchone()[0]
            )
        )


async def test_worker_killed_between_reserve_and_charge_resumes_without_reserving_again(
    fault_settings: Settings, temporal: Client, amqp_channel: AbstractChannel, tmp_path: Path
) -> None:
    settings = fault_settings
    events = await tap(amqp_channel, settings.exchange)
    order = an_order()
    orders, inventory, payments = open_services(settings)
    before = {level.sku: level.reserved for level in inventory.levels()}
    # The charge sleeps 4 s in the gateway before it records anything.
    worker = worker_process(settings, tmp_path / "worker.log", PODIUM_PAYMENT_LATENCY_MS="4000")
    try:
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        async with asyncio.timeout(30):
            await wait_for_state(temporal, order.order_id, OrderState.RESERVED)
        await wait_for_pending(handle, "charge_payment", started)
        worker.kill()
    finally:
        worker.kill()
    assert payments.charges() == [], worker.tail()  # killed before the charge was recorded

    async with running_worker(temporal, settings), asyncio.timeout(60):
        result = await outcome(handle)

    assert result.state == OrderState.COMPLETED
    # Its local activity's result was recorded before the charge was scheduled: replayed.
    assert await local_activity_attempts(handle, "reserve_stock") == [1]
    charge = await activity_runs(handle, "charge_payment")
    assert (charge.scheduled, charge.completed_attempts) == (1, [2])  # timed out, then retried
    reserved = {level.sku: level.reserved - before[level.sku] for level in inventory.levels()}
    assert {sku: n for sku, n in reserved.items() if n} == {i.sku: i.quantity for i in order.items}
    key = f"{workflow_id_for(order.order_id)}/reserve-stock"
    assert idempotency_rows(settings, "inventory", key) == 1
    assert [c.status for c in payments.charges()] == [CAPTURED]
    assert len(await drain(events)) == 1
    assert_invariants([result], orders, inventory, payments)


async def test_worker_killed_after_the_charge_was_recorded_retries_with_the_same_key(
    fault_settings: Settings, temporal: Client, amqp_channel: AbstractChannel, tmp_path: Path
) -> None:
    settings = fault_settings
    events = await tap(amqp_channel, settings.exchange)
    order = an_order()
    orders, inventory, payments = open_services(settings)
    # The gateway records the charge, then takes 6 s to answer: kill the worker in between.
    worker = worker_process(
        settings, tmp_path / "worker.log", PODIUM_PAYMENT_RESPONSE_LATENCY_MS="6000"
    )
    try:
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        await until(lambda: [c.status for c in payments.charges()] == [CAPTURED], within=30)
        await wait_for_pending(handle, "charge_payment", started, within=2)  # not completed
        worker.kill()
    finally:
        worker.kill()

    async with running_worker(temporal, settings), asyncio.timeout(60):
        result = await outcome(handle)

    assert result.state == OrderState.COMPLETED
    charge = await activity_runs(handle, "charge_payment")
    assert (charge.scheduled, charge.completed_attempts) == (1, [2])
    key = f"{workflow_id_for(order.order_id)}/charge-payment"
    assert [(c.charge_key, c.status) for c in payments.charges()] == [(key, CAPTURED)]
    assert result.payment_id == payment_id_for(key)  # the retry got the recorded charge back
    assert idempotency_rows(settings, "payments", key) == 1
    assert len(await drain(events)) == 1
    assert_invariants([result], orders, inventory, payments)


async def test_a_charge_slower_than_its_timeout_is_retried_and_still_charged_once(
    fault_settings: Settings, temporal: Client, amqp_channel: AbstractChannel
) -> None:
    settings = fault_settings
    events = await tap(amqp_channel, settings.exchange)
    orders, inventory, payments = open_services(settings)
    real = PaymentActivities(payments)
    answers: list[tuple[int, str]] = []
    late_answer = threading.Event()

    @activity.defn(name="charge_payment")
    def slow_first_charge(command: ChargePayment) -> Charge:
        """The first attempt outlives start_to_close (10 s), then charges for real, late."""
        attempt = activity.info().attempt
        if attempt == 1:
            time.sleep(11)
        charge = real.charge_payment(command)
        answers.append((attempt, charge.payment_id))
        if attempt == 1:
            late_answer.set()
        return charge

    order = an_order()
    async with fault_worker(temporal, settings, slow_first_charge), asyncio.timeout(60):
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        result = await outcome(handle)
        await asyncio.to_thread(late_answer.wait, 5)

    assert result.state == OrderState.COMPLETED
    charge = await activity_runs(handle, "charge_payment")
    assert (charge.scheduled, charge.completed_attempts) == (1, [2])
    # Both attempts charged under one key: the late one got the recorded charge back.
    assert sorted(answers) == [(1, result.payment_id), (2, result.payment_id)]
    assert [c.status for c in payments.charges()] == [CAPTURED]
    assert len(await drain(events)) == 1
    assert_invariants([result], orders, inventory, payments)
