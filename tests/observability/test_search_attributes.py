"""Orders can be found in the Temporal UI by customer, status and total; the memo summarises."""

import asyncio
import time
import uuid

import pytest
from temporalio.client import Client, WorkflowExecutionDescription

from contracts.order import OrderRequest, OrderState
from podium.client import order_handle, place_order
from tests.support.factories import an_order
from tests.support.shop import Shop
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings
from workflows.visibility import CUSTOMER_ID, ORDER_STATUS, ORDER_TOTAL

PERSONAL = ["ada@example.com", "Ada Lovelace", "St James", "SW1Y", "tok_"]


async def _indexed(client: Client, order: OrderRequest) -> WorkflowExecutionDescription:
    description = await order_handle(client, order.order_id).describe()
    attributes = description.typed_search_attributes
    assert attributes.get(CUSTOMER_ID) == order.customer_id
    assert attributes.get(ORDER_TOTAL) == float(order.total)
    memo = await description.memo()
    assert memo["summary"] == {
        "customer_id": order.customer_id,
        "items": sum(i.quantity for i in order.items),
        "lines": len(order.items),
        "total": str(order.total),
        "currency": str(order.currency),
    }
    assert not [p for p in PERSONAL if p in str(memo)]
    return description


async def test_a_finished_order_is_indexed_by_customer_total_and_final_status(
    shop: Shop,
) -> None:
    completed, declined = an_order(), an_order(payment_token="tok_declined")
    async with shop.worker():
        await place_order(shop.client, completed, shop.task_queue, wait="outcome")
        await place_order(shop.client, declined, shop.task_queue, wait="outcome")
    done = await _indexed(shop.client, completed)
    failed = await _indexed(shop.client, declined)
    assert done.typed_search_attributes.get(ORDER_STATUS) == OrderState.COMPLETED
    assert failed.typed_search_attributes.get(ORDER_STATUS) == OrderState.FAILED


@pytest.mark.integration
async def test_a_customers_failed_orders_are_found_by_a_visibility_query(
    temporal: Client,
    settings: Settings,
    event_tap: object,
) -> None:
    customer = f"cust-{uuid.uuid4().hex[:8]}"
    completed = an_order(customer_id=customer)
    declined = an_order(customer_id=customer, payment_token="tok_declined")
    async with running_worker(temporal, settings):
        assert (
            await place_order(temporal, completed, settings.task_queue, wait="outcome")
        ).state == (OrderState.COMPLETED)
        assert (
            await place_order(temporal, declined, settings.task_queue, wait="outcome")
        ).state == (OrderState.FAILED)
    await _indexed(temporal, completed)

    query = f'CustomerId="{customer}" AND OrderStatus="FAILED"'
    assert await _found(temporal, query, expected={declined.workflow_id}) == {declined.workflow_id}
    assert await _found(temporal, f'CustomerId="{customer}"', expected=2) == {
        completed.workflow_id,
        declined.workflow_id,
    }
    failed_anywhere = await _found(
        temporal, 'OrderStatus="FAILED"', expected={declined.workflow_id}
    )
    assert completed.workflow_id not in failed_anywhere


async def _found(client: Client, query: str, expected: set[str] | int) -> set[str]:
    """Workflow ids matching `query`, polled briefly: visibility is eventually consistent."""
    deadline = time.monotonic() + 10
    while True:
        ids = {w.id async for w in client.list_workflows(query)}
        enough = len(ids) >= expected if isinstance(expected, int) else expected <= ids
        if enough or time.monotonic() > deadline:
            return ids
        await asyncio.sleep(0.2)
