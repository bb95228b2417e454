"""The saga on Temporal's time-skipping test server, with real services on SQLite files."""

import asyncio
import time
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.client import WorkflowHandle

from activities.steps import InventoryActivities
from contracts.events import OrderCompletedV1, OrderFailedV1
from contracts.money import Currency
from contracts.order import OrderState
from contracts.steps import ReleaseStock, Reservation
from podium.cli.progress import FORWARD_STEPS
from podium.client import cancel_order, order_status, outcome, place_order, wait_for_state
from services.inventory import InventoryService
from tests.support.factories import ORDER_TOTAL, an_order
from tests.support.shop import Shop


def outcomes(steps: list, outcome: str) -> list[str]:
    return [s.step for s in steps if s.outcome == outcome]


async def test_happy_path_reserves_charges_confirms_and_publishes_completed(shop: Shop) -> None:
    order = an_order()
    async with shop.worker():
        result = await place_order(shop.client, order, shop.task_queue, wait="outcome")
        status = await order_status(shop.client, order.order_id)

    assert result.state == OrderState.COMPLETED
    assert result.total == ORDER_TOTAL
    assert outcomes(status.steps, "succeeded") == [
        "create_order",
        "reserve_stock",
        "assess_risk",
        "charge_payment",
        "confirm_order",
        "publish_event",
    ]
    # `podium place` and `podium status` name the current step from their own copy of this list.
    assert outcomes(status.steps, "succeeded") == list(FORWARD_STEPS)
    assert shop.orders.get(order.order_id).status == "CONFIRMED"
    assert shop.inventory.stock("MUG-BLUE").reserved == 2
    assert shop.payments.captured_total(Currency.EUR) == ORDER_TOTAL
    [event] = shop.publisher.events
    assert isinstance(event, OrderCompletedV1)
    assert event.event_id == result.event_id
    assert event.order.total == ORDER_TOTAL
    assert "payment_token" not in event.model_dump_json()


async def test_declined_card_releases_stock_then_cancels_the_order(shop: Shop) -> None:
    order = an_order(payment_token="tok_declined")
    async with shop.worker():
        result = await place_order(shop.client, order, shop.task_queue, wait="outcome")
        status = await order_status(shop.client, order.order_id)

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "card_declined"
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.inventory.stock("MUG-BLUE").reserved == 0
    assert shop.inventory.stock("MUG-BLUE").available == 100
    assert shop.payments.captured_total(Currency.EUR) == 0
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    [event] = shop.publisher.events
    assert isinstance(event, OrderFailedV1)
    assert event.failure.code == "card_declined"
    assert event.compensated == ["release_stock", "cancel_order"]


async def test_fraud_screen_refuses_before_the_charge_and_undoes_the_rest(shop: Shop) -> None:
    order = an_order(payment_token="tok_fraud")
    async with shop.worker():
        result = await place_order(shop.client, order, shop.task_queue, wait="outcome")
        status = await order_status(shop.client, order.order_id)

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "fraud_suspected"
    assert "charge_payment" not in [s.step for s in status.steps]
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.payments.charges() == []
    assert shop.inventory.stock("MUG-BLUE").available == 100


async def test_out_of_stock_cancels_the_order_only(shop: Shop) -> None:
    order = an_order(items=[{"sku": "VINYL-LTD", "quantity": 2, "unit_price": "30"}])
    async with shop.worker():
        result = await place_order(shop.client, order, shop.task_queue, wait="outcome")
        status = await order_status(shop.client, order.order_id)

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "out_of_stock"
    assert outcomes(status.steps, "compensated") == ["cancel_order"]
    assert "charge_payment" not in [s.step for s in status.steps]
    assert shop.inventory.stock("VINYL-LTD").available == 1
    assert [type(e) for e in shop.publisher.events] == [OrderFailedV1]


async def test_transient_gateway_failures_are_retried_until_the_charge_succeeds(
    shop: Shop,
) -> None:
    order = an_order(payment_token="tok_transient_3")
    async with shop.worker():
        result = await place_order(shop.client, order, shop.task_queue, wait="outcome")

    assert result.state == OrderState.COMPLETED
    [charge] = shop.payments.charges()
    assert charge.status == "CAPTURED" and charge.amount == ORDER_TOTAL


class FlakyRelease(InventoryActivities):
    """release_stock fails `failures` times before it works, like an unreachable database."""

    def __init__(self, inventory: InventoryService, failures: int) -> None:
        super().__init__(inventory)
        self.failures_left = failures
        self.calls = 0

    @activity.defn(name="release_stock")
    def release_stock(self, command: ReleaseStock) -> Reservation:
        self.calls += 1
        if self.failures_left > 0:
            self.failures_left -= 1
            raise RuntimeError("inventory database unreachable")
        return super().release_stock(command)


async def test_failing_compensation_is_retried_in_rounds_until_it_succeeds(shop: Shop) -> None:
    # 12 failures: the first two rounds of 5 attempts fail, the third round succeeds.
    flaky = FlakyRelease(shop.inventory, failures=12)
    order = an_order(payment_token="tok_declined")
    started = time.monotonic()
    async with shop.worker(flaky.release_stock):
        result = await place_order(shop.client, order, shop.task_queue, wait="outcome")
        status = await order_status(shop.client, order.order_id)

    assert result.state == OrderState.FAILED
    assert flaky.calls == 13
    assert [s.step for s in status.steps if s.outcome == "compensation retrying"] == [
        "release_stock",
        "release_stock",
    ]
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.inventory.stock("MUG-BLUE").available == 100
    # Two pauses between rounds (10 s and 20 s of workflow time) were skipped, not waited.
    assert time.monotonic() - started < 20


async def test_cancel_during_the_charge_interrupts_it_and_compensates_everything(
    shop: Shop,
) -> None:
    order = an_order(payment_token="tok_transient_1000")  # the charge keeps failing
    async with shop.worker():
        handle = await place_order(shop.client, order, shop.task_queue, wait="started")
        await wait_for_state(shop.client, order.order_id, OrderState.RESERVED)
        # RESERVED is set before the fraud screen: wait for the charge itself to be in flight.
        async with asyncio.timeout(30):
            while not await _pending(handle, "charge_payment"):
                await asyncio.sleep(0.05)
        accepted = await cancel_order(shop.client, order.order_id)
        result = await outcome(handle)
        status = await order_status(shop.client, order.order_id)

    assert accepted.accepted
    assert result.state == OrderState.CANCELLED
    assert result.failure is not None and result.failure.code == "cancelled"
    assert outcomes(status.steps, "compensated") == [
        "refund_payment",
        "release_stock",
        "cancel_order",
    ]
    # The refund left a tombstone: a late charge attempt for this order is voided.
    [tombstone] = shop.payments.charges()
    assert tombstone.status == "VOIDED"
    assert shop.payments.captured_total(Currency.EUR) == 0
    assert shop.inventory.stock("MUG-BLUE").available == 100
    [event] = shop.publisher.events
    assert isinstance(event, OrderFailedV1) and event.failure.code == "cancelled"


async def test_cancel_past_the_pivot_is_refused_while_the_event_waits_for_the_broker(
    shop: Shop,
) -> None:
    shop.publisher.broker_down = True
    order = an_order()
    async with shop.worker():
        handle = await place_order(shop.client, order, shop.task_queue, wait="started")
        while not (await order_status(shop.client, order.order_id)).pivot_passed:
            await asyncio.sleep(0.05)
        refused = await cancel_order(shop.client, order.order_id)
        await asyncio.sleep(0.5)  # publish attempts keep failing meanwhile
        assert shop.publisher.attempts >= 2 and not shop.publisher.events
        shop.publisher.broker_down = False
        result = await outcome(handle)

    assert not refused.accepted
    assert refused.reason is not None and "no longer be cancelled" in refused.reason
    assert result.state == OrderState.COMPLETED
    assert len(shop.publisher.events) == 1
    assert shop.payments.captured_total(Currency.EUR) == ORDER_TOTAL


async def test_cancel_of_a_finished_order_says_it_is_finished(shop: Shop) -> None:
    order = an_order()
    async with shop.worker():
        await place_order(shop.client, order, shop.task_queue, wait="outcome")
        refused = await cancel_order(shop.client, order.order_id)
    assert not refused.accepted
    assert refused.state == OrderState.COMPLETED
    assert refused.reason is not None and "already finished" in refused.reason


async def test_duplicate_submit_returns_the_same_run_and_charges_once(shop: Shop) -> None:
    order = an_order()
    async with shop.worker():
        first, second = await asyncio.gather(
            place_order(shop.client, order, shop.task_queue, wait="started"),
            place_order(shop.client, order, shop.task_queue, wait="started"),
        )
        await outcome(first)
        third = await place_order(shop.client, order, shop.task_queue, wait="started")
        result = await outcome(third)

    assert first.id == second.id == third.id
    assert result.state == OrderState.COMPLETED
    assert len(shop.payments.charges()) == 1
    assert shop.payments.captured_total(Currency.EUR) == Decimal("34.99")
    assert len(shop.publisher.events) == 1


async def _pending(handle: WorkflowHandle[Any, Any], activity_type: str) -> bool:
    description = await handle.describe()
    pending = description.raw_description.pending_activities
    return any(a.activity_type.name == activity_type for a in pending)
