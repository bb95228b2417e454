"""The short database steps run as local activities, whose failures reach the workflow bare
(an ApplicationError, not wrapped in ActivityError): every refusal and give-up of theirs still
compensates and ends the order as before."""

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    TimeoutError,
    TimeoutType,
)

from activities.steps import InventoryActivities, OrderActivities
from contracts.events import OrderFailedV1
from contracts.order import OrderState, workflow_id_for
from contracts.steps import OrderRecord, OrderRef, Reservation, ReserveStock, StockLine
from podium.client import order_status, place_order
from services.inventory import InventoryService
from tests.support.factories import an_order
from tests.support.shop import Shop
from workflows.failures import business_failure
from workflows.policies import BUSINESS_ERRORS, FORWARD_LOCAL


def outcomes(steps: list, outcome: str) -> list[str]:
    return [s.step for s in steps if s.outcome == outcome]


async def _placed(shop: Shop, order: object, *replacements: object) -> tuple:
    async with shop.worker(*replacements):  # type: ignore[arg-type]
        result = await place_order(shop.client, order, shop.task_queue, wait="outcome")  # type: ignore[arg-type]
        status = await order_status(shop.client, result.order_id)
    return result, status


async def test_an_unknown_sku_cancels_the_order_only(shop: Shop) -> None:
    order = an_order(items=[{"sku": "NO-SUCH-SKU", "quantity": 1, "unit_price": "30"}])
    result, status = await _placed(shop, order)

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "unknown_sku"
    assert outcomes(status.steps, "compensated") == ["cancel_order"]
    assert shop.orders.get(order.order_id).status == "CANCELLED"
    [event] = shop.publisher.events
    assert isinstance(event, OrderFailedV1) and event.compensated == ["cancel_order"]


async def test_an_order_conflict_at_create_undoes_nothing_and_leaves_the_other_order(
    shop: Shop,
) -> None:
    order = an_order()
    shop.orders.create("another-workflow/create-order", order)
    result, status = await _placed(shop, order)

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "order_conflict"
    assert outcomes(status.steps, "compensated") == []
    assert "reserve_stock" not in [s.step for s in status.steps]
    assert shop.orders.get(order.order_id).status == "PENDING"  # the other order's, untouched
    [event] = shop.publisher.events
    assert isinstance(event, OrderFailedV1) and event.failure.code == "order_conflict"


async def test_an_idempotency_conflict_at_reserve_cancels_the_order(shop: Shop) -> None:
    order = an_order()
    key = f"{workflow_id_for(order.order_id)}/reserve-stock"
    shop.inventory.reserve(key, order.order_id, [StockLine(sku="SOCKS-3PK", quantity=1)])
    result, status = await _placed(shop, order)

    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "idempotency_conflict"
    assert outcomes(status.steps, "compensated") == ["cancel_order"]
    assert shop.inventory.stock("MUG-BLUE").available == 100
    assert shop.payments.charges() == []


class DownReserve(InventoryActivities):
    """reserve_stock always fails like an unreachable database."""

    def __init__(self, inventory: InventoryService) -> None:
        super().__init__(inventory)
        self.calls = 0

    @activity.defn(name="reserve_stock")
    def reserve_stock(self, command: ReserveStock) -> Reservation:
        self.calls += 1
        raise RuntimeError("inventory database unreachable")


async def test_a_local_step_whose_retries_run_out_is_given_up_and_undone(shop: Shop) -> None:
    down = DownReserve(shop.inventory)
    order = an_order()
    result, status = await _placed(shop, order, down.reserve_stock)

    assert down.calls == FORWARD_LOCAL.retry.maximum_attempts
    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == "reserve_stock_failed"
    assert "inventory database unreachable" in result.failure.message
    # Given up, the reservation may have happened: it is released (a tombstone) with the order.
    assert outcomes(status.steps, "compensated") == ["release_stock", "cancel_order"]
    assert shop.inventory.stock("MUG-BLUE").available == 100
    assert shop.orders.get(order.order_id).status == "CANCELLED"


class RefusedConfirm(OrderActivities):
    """confirm_order refused by the order service, past the pivot."""

    @activity.defn(name="confirm_order")
    def confirm_order(self, command: OrderRef) -> OrderRecord:
        raise ApplicationError(
            "confirm refused", "order_conflict", type="OrderConflict", non_retryable=True
        )


async def test_a_refused_confirm_past_the_pivot_fails_loudly(shop: Shop) -> None:
    refused = RefusedConfirm(shop.orders)
    order = an_order()
    async with shop.worker(refused.confirm_order):
        handle = await place_order(shop.client, order, shop.task_queue, wait="started")
        with pytest.raises(WorkflowFailureError) as raised:
            await handle.result()

    cause = raised.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "OnwardStepRefused"
    assert "confirm_order was refused after the order passed its pivot" in cause.message
    assert shop.publisher.events == []


def _activity_error(cause: BaseException) -> ActivityError:
    err = ActivityError(
        "activity failed",
        scheduled_event_id=5,
        started_event_id=6,
        identity="worker",
        activity_type="reserve_stock",
        activity_id="1",
        retry_state=RetryState.NON_RETRYABLE_FAILURE,
    )
    err.__cause__ = cause
    return err


@pytest.mark.parametrize("error_type", BUSINESS_ERRORS)
def test_every_refusal_reads_the_same_from_a_regular_or_a_local_step(error_type: str) -> None:
    refusal = ApplicationError("refused", "the_code", type=error_type, non_retryable=True)
    assert business_failure(refusal) == business_failure(_activity_error(refusal))
    failure = business_failure(refusal)
    assert failure is not None and failure.code == "the_code" and failure.message == "refused"


def test_give_ups_of_either_kind_are_not_refusals() -> None:
    last_retry = ApplicationError("database unreachable", type="RuntimeError")
    timed_out = TimeoutError(
        "timed out", type=TimeoutType.SCHEDULE_TO_CLOSE, last_heartbeat_details=[]
    )
    assert business_failure(last_retry) is None
    assert business_failure(_activity_error(last_retry)) is None
    assert business_failure(_activity_error(timed_out)) is None
