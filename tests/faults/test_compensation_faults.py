"""A compensation that keeps failing stays visible, is retried, and the unwind keeps its order."""

import asyncio
import threading

import pytest
from aio_pika.abc import AbstractChannel
from temporalio import activity
from temporalio.client import Client

from activities.steps import InventoryActivities
from contracts.order import OrderState, OrderStatus
from contracts.steps import ReleaseStock, Reservation
from podium.client import order_status, outcome, place_order
from services.orders import CANCELLED
from tests.support.factories import an_order
from tests.support.invariants import assert_invariants
from tests.support.running import fault_worker
from tests.support.waits import drain, tap
from workers.bootstrap import open_services
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def first_failed_round(client: Client, order_id: str) -> OrderStatus:
    """The order's status once a compensation round has failed."""
    while True:
        status = await order_status(client, order_id)
        if any(step.outcome == "compensation retrying" for step in status.steps):
            return status
        await asyncio.sleep(0.05)


# One more failure than a compensation round's five attempts: the saga records the failed
# round, pauses (10 s), and the second round succeeds.
FAILURES = 6


async def test_failing_release_is_retried_in_rounds_then_cancel_runs_after_it(
    fault_settings: Settings, temporal: Client, amqp_channel: AbstractChannel
) -> None:
    settings = fault_settings
    events = await tap(amqp_channel, settings.exchange)
    orders, inventory, payments = open_services(settings)
    real = InventoryActivities(inventory)
    lock = threading.Lock()
    calls: list[int] = []

    @activity.defn(name="release_stock")
    def flaky_release(command: ReleaseStock) -> Reservation:
        with lock:
            calls.append(activity.info().attempt)
            if len(calls) <= FAILURES:
                raise RuntimeError(f"inventory unreachable (injected failure {len(calls)})")
        return real.release_stock(command)

    order = an_order(payment_token="tok_declined")
    async with fault_worker(temporal, settings, flaky_release), asyncio.timeout(60):
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        status = await first_failed_round(temporal, order.order_id)
        stuck_record = orders.get(order.order_id)
        result = await outcome(handle)
        final = await order_status(temporal, order.order_id)

    # While the release kept failing the order said so, and cancel_order had not run.
    assert status.state == OrderState.COMPENSATING
    [retrying] = [s for s in status.steps if s.outcome == "compensation retrying"]
    assert retrying.step == "release_stock" and "injected failure" in (retrying.detail or "")
    assert stuck_record is not None and stuck_record.status != CANCELLED

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "card_declined"
    assert len(calls) == FAILURES + 1
    done = [s.step for s in final.steps if s.outcome == "compensated"]
    assert done == ["release_stock", "cancel_order"]  # newest first, each once
    assert orders.get(order.order_id).status == CANCELLED  # type: ignore[union-attr]
    assert all(level.reserved == 0 for level in inventory.levels())
    assert payments.charges() == []
    [event] = await drain(events)
    assert event.routing_key == "order.failed.v1"
    assert_invariants([result], orders, inventory, payments)
