"""A cancelled order undoes the local steps a lost workflow task may have run.

A local step takes effect before the workflow task that records it completes. When that task is
lost (its worker or the Temporal server went down) and the customer's cancel arrives before it
is retried, the retried task stops the order before those steps: here the lost attempt is
played by the services themselves, called with the workflow's own idempotency keys, and the
cancel reaches the run in its first workflow task. The chaos soak found this: orders cancelled
during Temporal restarts kept their PENDING order and their reserved stock.

Confirm, the pivot, is a local step too: a lost task may have confirmed an order whose retried
task meets a cancel first. Such an order settles the pivot with the orders service before it
undoes anything (`settle-cancel-at-pivot`)."""

import asyncio

import pytest
from temporalio.client import WorkflowExecutionStatus

from contracts.events import OrderCompletedV1, OrderFailedV1
from contracts.order import OrderState, workflow_id_for
from contracts.steps import StockLine, payment_id_for
from podium.client import order_status, outcome, place_order
from services.errors import OrderConflict
from tests.support.factories import an_order
from tests.support.shop import Shop
from tests.support.split_workers import charged_then_cancelled_while_away


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


@pytest.mark.parametrize("cancel", ["update", "temporal"])
async def test_a_cancel_after_a_lost_task_confirmed_the_order_lets_it_complete(
    shop: Shop, cancel: str
) -> None:
    """The pivot passed in a lost task: the orders service holds the order CONFIRMED. The
    retried task meets the cancel first; it settles with the orders service, which says
    confirmed, so the order completes, charged once, instead of a refund and a stuck undo."""
    order = an_order()
    handle = await charged_then_cancelled_while_away(shop, order, cancel, True)
    async with shop.worker(), asyncio.timeout(60):
        result = await outcome(handle)
        status = await order_status(shop.client, order.order_id)
        description = await handle.describe()

    assert result.state == OrderState.COMPLETED
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert result.payment_id == payment_id_for(f"{handle.id}/charge-payment")
    assert ("cancel", "too late") in [(s.step, s.outcome) for s in status.steps]
    assert status.pivot_passed and result.compensated == []
    assert shop.orders.get(order.order_id).status == "CONFIRMED"
    [charge] = shop.payments.charges()
    assert charge.status == "CAPTURED" and charge.payment_id == result.payment_id
    assert [type(e) for e in shop.publisher.events] == [OrderCompletedV1]


@pytest.mark.parametrize("cancel", ["update", "temporal"])
async def test_a_cancel_of_a_charged_order_no_task_confirmed_is_undone(
    shop: Shop, cancel: str
) -> None:
    """The same shape without the lost confirm: the orders service cancels the order first,
    so a late confirm would be refused, and the charge is refunded."""
    order = an_order()
    handle = await charged_then_cancelled_while_away(shop, order, cancel, False)
    async with shop.worker(), asyncio.timeout(60):
        result = await outcome(handle)

    assert result.state == OrderState.CANCELLED
    assert result.compensated == ["refund_payment", "release_stock", "cancel_order"]
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    [charge] = shop.payments.charges()
    assert charge.status == "REFUNDED"
    late = f"{handle.id}/confirm-order"
    with pytest.raises(OrderConflict):  # what the lost task's confirm would meet now
        shop.orders.confirm(late, order.order_id)
    assert [type(e) for e in shop.publisher.events] == [OrderFailedV1]
