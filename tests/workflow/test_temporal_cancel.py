"""A cancel requested through Temporal itself (UI, `temporal workflow cancel`, any SDK's
`handle.cancel()`) undoes the order before the pivot and cannot stop it after."""

import asyncio

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import CancelledError

from contracts.events import OrderCompletedV1, OrderFailedV1
from contracts.money import Currency
from contracts.order import OrderState
from podium.client import order_status, outcome, place_order, wait_for_state
from tests.support.factories import ORDER_TOTAL, an_order
from tests.support.shop import Shop
from tests.support.split_workers import GatedCharge, until_in_history, workflow_worker
from tests.workflow.test_stuck_compensation import BrokenRelease
from workers.bootstrap import running_worker


def outcomes(steps: list, outcome: str) -> list[str]:
    return [s.step for s in steps if s.outcome == outcome]


async def test_temporal_cancel_mid_charge_refunds_releases_cancels_and_ends_canceled(
    shop: Shop,
) -> None:
    order = an_order(payment_token="tok_transient_1000")  # the charge keeps being retried
    async with shop.worker():
        handle = await place_order(shop.client, order, shop.task_queue, wait="started")
        await wait_for_state(shop.client, order.order_id, OrderState.RESERVED)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()
        status = await order_status(shop.client, order.order_id)
        description = await handle.describe()

    assert isinstance(raised.value.cause, CancelledError)
    assert description.status == WorkflowExecutionStatus.CANCELED
    assert status.state == OrderState.CANCELLED
    assert status.failure is not None and "through Temporal" in status.failure.message
    assert outcomes(status.steps, "compensated") == [
        "refund_payment",
        "release_stock",
        "cancel_order",
    ]
    [tombstone] = shop.payments.charges()
    assert tombstone.status == "VOIDED"
    assert shop.inventory.stock("MUG-BLUE").available == 100
    assert shop.inventory.stock("MUG-BLUE").reserved == 0
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    [event] = shop.publisher.events
    assert isinstance(event, OrderFailedV1)
    assert event.failure.code == "cancelled"
    assert event.failure.message == "cancelled through Temporal by an operator"
    assert event.compensated == ["refund_payment", "release_stock", "cancel_order"]


async def test_temporal_cancel_arriving_with_the_charges_result_still_refunds_it(
    shop: Shop,
) -> None:
    """The charge's completion and the cancel reach the workflow in one activation (the
    workflow worker is away while both happen): the captured charge is refunded."""
    gated = GatedCharge(shop.payments)
    order = an_order()
    activities_only = running_worker(
        shop.client,
        shop.settings,
        services=shop.services,
        publisher=shop.publisher,
        replacements=[gated.charge_payment],
        workflows=[],
    )
    async with activities_only:
        async with workflow_worker(shop):
            handle = await place_order(shop.client, order, shop.task_queue, wait="started")
            await asyncio.to_thread(gated.started.wait, 30)
        gated.gate.set()
        # The charge is the order's first regular activity (the steps before it are local).
        await until_in_history(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1)
        await handle.cancel()
        async with workflow_worker(shop):
            with pytest.raises(WorkflowFailureError):
                await handle.result()
            status = await order_status(shop.client, order.order_id)

    assert status.state == OrderState.CANCELLED
    assert outcomes(status.steps, "compensated") == [
        "refund_payment",
        "release_stock",
        "cancel_order",
    ]
    [charge] = shop.payments.charges()
    assert charge.status == "REFUNDED"
    assert shop.payments.refunded_total(Currency.EUR) == ORDER_TOTAL
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    assert [type(e) for e in shop.publisher.events] == [OrderFailedV1]


async def test_temporal_cancel_past_the_pivot_is_recorded_too_late_and_the_order_completes(
    shop: Shop,
) -> None:
    shop.publisher.broker_down = True
    order = an_order()
    async with shop.worker():
        handle = await place_order(shop.client, order, shop.task_queue, wait="started")
        while not (await order_status(shop.client, order.order_id)).pivot_passed:
            await asyncio.sleep(0.05)
        await handle.cancel()
        await asyncio.sleep(0.5)
        shop.publisher.broker_down = False
        result = await outcome(handle)
        status = await order_status(shop.client, order.order_id)
        description = await handle.describe()

    assert result.state == OrderState.COMPLETED
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert status.cancel_requested and status.pivot_passed
    assert ("cancel", "too late") in [(s.step, s.outcome) for s in status.steps]
    assert shop.orders.get(order.order_id).status == "CONFIRMED"
    assert shop.payments.captured_total(Currency.EUR) == ORDER_TOTAL
    [event] = shop.publisher.events
    assert isinstance(event, OrderCompletedV1)


async def test_temporal_cancel_while_undoing_lets_the_undo_and_its_publish_finish(
    shop: Shop,
) -> None:
    """A declined order is being undone (its release failing, then the broker down) when an
    operator cancels it through Temporal: nothing stops halfway, and the order ends FAILED."""
    broken = BrokenRelease(shop.inventory)
    shop.publisher.broker_down = True
    order = an_order(payment_token="tok_declined")
    async with shop.worker(broken.release_stock):
        handle = await place_order(shop.client, order, shop.task_queue, wait="started")
        async with asyncio.timeout(30):
            while broken.calls < 2:
                await asyncio.sleep(0.05)
        await handle.cancel()
        await asyncio.sleep(0.3)
        broken.broken = False
        async with asyncio.timeout(30):
            while shop.publisher.attempts < 2:
                await asyncio.sleep(0.05)
        shop.publisher.broker_down = False
        result = await outcome(handle)
        status = await order_status(shop.client, order.order_id)

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "card_declined"
    assert ("cancel", "not needed") in [(s.step, s.outcome) for s in status.steps]
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.inventory.stock("MUG-BLUE").available == 100
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    [event] = shop.publisher.events
    assert isinstance(event, OrderFailedV1) and event.failure.code == "card_declined"
