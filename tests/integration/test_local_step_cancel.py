"""A customer's cancel that arrives while a local step holds the workflow task, on the real dev
server: the update waits for the step's result, then the step is undone."""

import asyncio

import pytest
from temporalio.client import Client

from contracts.order import OrderState
from podium.client import cancel_order, order_status, place_order
from tests.support.factories import an_order
from tests.support.shop import RecordingPublisher
from tests.workflow.test_temporal_cancel import GatedReserve
from workers.bootstrap import open_services, running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


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
        handle = await place_order(temporal, order, settings.task_queue, wait=False)
        await asyncio.to_thread(gated.started.wait, 30)
        cancelling = asyncio.create_task(cancel_order(temporal, order.order_id))
        await asyncio.sleep(0.3)
        gated.gate.set()
        async with asyncio.timeout(30):
            accepted = await cancelling
            result = await handle.result()
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
