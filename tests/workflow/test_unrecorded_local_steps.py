"""A cancelled order undoes the local steps a lost workflow task may have run.

A local step takes effect before the workflow task that records it completes. When that task is
lost (its worker or the Temporal server went down) and the customer's cancel arrives before it
is retried, the retried task stops the order before those steps: here the lost attempt is
played by the services themselves, called with the workflow's own idempotency keys, and the
cancel reaches the run in its first workflow task. The chaos soak found this: orders cancelled
during Temporal restarts kept their PENDING order and their reserved stock."""

import asyncio

from contracts.order import OrderState, workflow_id_for
from contracts.steps import StockLine
from podium.client import outcome, place_order
from tests.support.factories import an_order
from tests.support.shop import Shop


async def test_a_cancel_before_the_first_step_still_undoes_what_a_lost_task_did(
    shop: Shop,
) -> None:
    order = an_order()
    workflow_id = workflow_id_for(order.order_id)
    sku = order.items[0].sku
    before = shop.inventory.stock(sku)
    # The lost attempt: the order created and its stock reserved, never recorded in history.
    shop.orders.create(f"{workflow_id}/create-order", order)
    lines = [StockLine(sku=i.sku, quantity=i.quantity) for i in order.items]
    shop.inventory.reserve(f"{workflow_id}/reserve-stock", order.order_id, lines)

    handle = await place_order(shop.client, order, shop.task_queue, wait="started")
    cancel = asyncio.create_task(handle.execute_update("cancel"))
    await asyncio.sleep(0.5)  # the cancel waits for a worker: both reach its first task
    async with shop.worker():
        await cancel
        result = await outcome(handle)

    assert result.state == OrderState.CANCELLED
    assert result.compensated == ["release_stock", "cancel_order"]
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    assert shop.inventory.stock(sku) == before
