"""A cancel that arrives while a local step holds the workflow task, on the real dev server: the
cancel is heard with the step's result, and the step is undone. (On the time-skipping test
server a workflow task held by a local activity while an update or cancel arrives can hang for
good, a known limitation of that server, so these run here.)"""

import asyncio
import threading

import pytest
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError

from activities.steps import InventoryActivities
from contracts.events import OrderFailedV1
from contracts.order import OrderState
from contracts.steps import Reservation, ReserveStock
from podium.client import cancel_order, order_status, outcome, place_order
from services.inventory import InventoryService
from tests.support.factories import an_order
from tests.support.shop import RecordingPublisher
from workers.bootstrap import open_services, running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


class GatedReserve(InventoryActivities):
    """reserve_stock (a local activity) waits at a gate, so a test decides when it completes."""

    def __init__(self, inventory: InventoryService) -> None:
        super().__init__(inventory)
        self.started = threading.Event()
        self.gate = threading.Event()

    @activity.defn(name="reserve_stock")
    def reserve_stock(self, command: ReserveStock) -> Reservation:
        self.started.set()
        self.gate.wait(30)
        return super().reserve_stock(command)


async def test_customer_cancel_during_a_local_step_undoes_it(
    temporal: Client, settings: Settings
) -> None:
    services = await asyncio.to_thread(open_services, settings)
    gated = GatedReserve(services.inventory)
    order = an_order()
    worker = running_worker(
        temporal,
        settings,
        services=services,
        publisher=RecordingPublisher(),
        replacements=[gated.reserve_stock],
    )
    async with worker:
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        await asyncio.to_thread(gated.started.wait, 30)
        cancelling = asyncio.create_task(cancel_order(temporal, order.order_id))
        await asyncio.sleep(0.3)
        gated.gate.set()
        async with asyncio.timeout(30):
            accepted = await cancelling
            result = await outcome(handle)
        status = await order_status(temporal, order.order_id)

    assert accepted.accepted
    assert result.state == OrderState.CANCELLED
    assert [s.step for s in status.steps if s.outcome == "compensated"][-2:] == [
        "release_stock",
        "cancel_order",
    ]
    assert services.orders.get(order.order_id).status == "CANCELLED"
    assert all(level.reserved == 0 for level in [services.inventory.stock("MUG-BLUE")])
    assert {c.status for c in services.payments.charges()} <= {"REFUNDED", "VOIDED"}


async def test_temporal_cancel_during_a_local_step_still_undoes_it(
    temporal: Client, settings: Settings
) -> None:
    services = await asyncio.to_thread(open_services, settings)
    gated = GatedReserve(services.inventory)
    publisher = RecordingPublisher()
    order = an_order()
    worker = running_worker(
        temporal,
        settings,
        services=services,
        publisher=publisher,
        replacements=[gated.reserve_stock],
    )
    async with worker:
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        await asyncio.to_thread(gated.started.wait, 30)
        await handle.cancel()
        gated.gate.set()
        async with asyncio.timeout(30):
            with pytest.raises(WorkflowFailureError) as raised:
                await handle.result()
        status = await order_status(temporal, order.order_id)
        description = await handle.describe()

    assert isinstance(raised.value.cause, CancelledError)
    assert description.status == WorkflowExecutionStatus.CANCELED
    assert status.state == OrderState.CANCELLED
    assert [s.step for s in status.steps if s.outcome == "compensated"][-2:] == [
        "release_stock",
        "cancel_order",
    ]
    assert services.orders.get(order.order_id).status == "CANCELLED"
    assert services.inventory.stock("MUG-BLUE").reserved == 0
    assert {c.status for c in services.payments.charges()} <= {"REFUNDED", "VOIDED"}
    [event] = publisher.events
    assert isinstance(event, OrderFailedV1) and event.failure.code == "cancelled"
