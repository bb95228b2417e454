"""An order's outcome is its run's status, so the Temporal UI's list tells it at a glance, and
`podium.client.outcome` still reads the structured outcome from every kind of ending."""

import asyncio

import pytest
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory, CancelledError

from contracts.order import OrderRequest, OrderResult, OrderState
from podium.client import cancel_order, order_handle, outcome, place_order, wait_for_state
from tests.support.factories import an_order
from tests.support.shop import Shop
from tests.workflow.test_local_steps import DownReserve
from workflows.outcome import ORDER_CANCELLED, ORDER_FAILED

REFUSALS = {
    "card_declined": {"payment_token": "tok_declined"},
    "out_of_stock": {"items": [{"sku": "VINYL-LTD", "quantity": 2, "unit_price": "30"}]},
    "fraud_suspected": {"payment_token": "tok_fraud"},
}


async def _ended(shop: Shop, handle: WorkflowHandle) -> tuple[WorkflowExecutionStatus, object]:
    """The run's status and what awaiting its result raised (or returned)."""
    try:
        ending: object = await handle.result()
    except WorkflowFailureError as err:
        ending = err.cause
    status = (await shop.client.get_workflow_handle(handle.id).describe()).status
    assert status is not None
    return status, ending


async def test_a_completed_order_completes_its_run(shop: Shop) -> None:
    order = an_order()
    async with shop.worker():
        handle = await place_order(shop.client, order, shop.task_queue, wait="started")
        status, ending = await _ended(shop, handle)
        result = await outcome(handle)

    assert status == WorkflowExecutionStatus.COMPLETED
    assert isinstance(ending, OrderResult) and ending == result
    assert result.state == OrderState.COMPLETED and result.compensated == []


@pytest.mark.parametrize("code", REFUSALS)
async def test_a_refused_order_fails_its_run_with_order_failed_and_its_outcome(
    shop: Shop, code: str
) -> None:
    order = an_order(**REFUSALS[code])
    async with shop.worker():
        handle = await place_order(shop.client, order, shop.task_queue, wait="started")
        status, error = await _ended(shop, handle)
        result = await outcome(handle)

    assert status == WorkflowExecutionStatus.FAILED
    assert isinstance(error, ApplicationError)
    assert error.type == ORDER_FAILED and error.non_retryable
    # A refusal is business as usual: benign, so neither logged as a warning nor counted.
    assert error.category == ApplicationErrorCategory.BENIGN
    assert OrderResult.model_validate(error.details[0]) == result
    assert result.state == OrderState.FAILED
    assert result.failure is not None and result.failure.code == code
    assert result.compensated[-1] == "cancel_order"


async def test_a_given_up_order_fails_its_run_as_a_real_failure(shop: Shop) -> None:
    down = DownReserve(shop.inventory)
    async with shop.worker(down.reserve_stock):
        handle = await place_order(shop.client, an_order(), shop.task_queue, wait="started")
        status, error = await _ended(shop, handle)
        result = await outcome(handle)

    assert status == WorkflowExecutionStatus.FAILED
    assert isinstance(error, ApplicationError) and error.type == ORDER_FAILED
    assert error.category == ApplicationErrorCategory.UNSPECIFIED  # worth a failure metric
    assert result.failure is not None and result.failure.code == "reserve_stock_failed"


async def _cancelled_while_charging(shop: Shop, order: OrderRequest, how: str) -> WorkflowHandle:
    handle = await place_order(shop.client, order, shop.task_queue, wait="started")
    await wait_for_state(shop.client, order.order_id, OrderState.RESERVED)
    if how == "customer":
        assert (await cancel_order(shop.client, order.order_id)).accepted
    else:
        await handle.cancel()
    return handle


async def test_a_customers_cancel_fails_its_run_with_order_cancelled(shop: Shop) -> None:
    """A run is Canceled only when a cancel request reached it through Temporal, and a workflow
    may not request its own: the customer's cancel (an update) ends the run failed, typed."""
    order = an_order(payment_token="tok_transient_1000")
    async with shop.worker():
        handle = await _cancelled_while_charging(shop, order, "customer")
        status, error = await _ended(shop, handle)
        result = await outcome(handle)

    assert status == WorkflowExecutionStatus.FAILED
    assert isinstance(error, ApplicationError) and error.type == ORDER_CANCELLED
    assert error.category == ApplicationErrorCategory.BENIGN and error.non_retryable
    assert result.state == OrderState.CANCELLED
    assert result.failure is not None and "customer" in result.failure.message
    assert result.compensated == ["refund_payment", "release_stock", "cancel_order"]


async def test_a_temporal_cancel_cancels_its_run_with_the_outcome_in_the_memo(
    shop: Shop,
) -> None:
    order = an_order(payment_token="tok_transient_1000")
    async with shop.worker():
        handle = await _cancelled_while_charging(shop, order, "temporal")
        status, error = await _ended(shop, handle)
        result = await outcome(handle)
    async with asyncio.timeout(10):  # answered with no worker: the outcome is the server's
        again = await outcome(order_handle(shop.client, order.order_id))

    assert status == WorkflowExecutionStatus.CANCELED
    assert isinstance(error, CancelledError)
    assert result.state == OrderState.CANCELLED and again == result
    assert result.failure is not None and "through Temporal" in result.failure.message
    assert result.compensated == ["refund_payment", "release_stock", "cancel_order"]
