"""The order saga on the real Temporal dev server and the real RabbitMQ node."""

import asyncio
import json
import random
from collections import Counter

import aio_pika
import pytest
from aio_pika.abc import AbstractQueue
from temporalio.client import Client

from contracts.events import OrderCompletedV1
from contracts.money import Currency
from contracts.order import OrderRequest, OrderResult, OrderState
from infra.stack import LocalStack
from podium.client import cancel_order, order_status, outcome, place_order, wait_for_state
from tests.support.factories import ORDER_TOTAL, an_order
from tests.support.invariants import assert_invariants, reserved_units
from tests.support.waits import drain
from workers.bootstrap import open_services, running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def test_completed_order_publishes_one_persistent_event_with_its_ids(
    settings: Settings, temporal: Client, event_tap: AbstractQueue
) -> None:
    order = an_order()
    async with running_worker(temporal, settings):
        result = await place_order(temporal, order, settings.task_queue, wait="outcome")

    assert result.state == OrderState.COMPLETED
    [message] = await drain(event_tap)
    assert message.routing_key == "order.completed.v1"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.message_id == result.event_id
    assert message.correlation_id == order.order_id
    assert message.content_type == "application/json"
    assert message.headers["event-type"] == "order.completed"
    assert message.headers["event-version"] == 1
    event = OrderCompletedV1.model_validate_json(message.body)
    assert event.order.total == ORDER_TOTAL
    assert order.payment_token not in message.body.decode()


async def test_duplicate_submits_start_one_workflow_and_charge_once(
    settings: Settings, temporal: Client, event_tap: AbstractQueue
) -> None:
    order = an_order()
    async with running_worker(temporal, settings):
        handles = await asyncio.gather(
            *(place_order(temporal, order, settings.task_queue, wait="started") for _ in range(5))
        )
        await outcome(handles[0])
        again = await place_order(temporal, order, settings.task_queue, wait="outcome")

    assert len({h.result_run_id for h in handles}) == 1
    assert again.state == OrderState.COMPLETED
    _, _, payments = open_services(settings)
    assert [c.status for c in payments.charges()] == ["CAPTURED"]
    assert payments.captured_total(Currency.EUR) == ORDER_TOTAL
    assert len(await drain(event_tap)) == 1


@pytest.mark.restartable
async def test_broker_down_at_publish_delays_the_event_until_it_is_back(
    stack: LocalStack, settings: Settings, temporal: Client, event_tap: AbstractQueue
) -> None:
    order = an_order()
    async with running_worker(temporal, settings):
        stack.rabbitmq.stop()
        try:
            handle = await place_order(temporal, order, settings.task_queue, wait="started")
            for _ in range(100):
                status = await order_status(temporal, order.order_id)
                if status.state == OrderState.CONFIRMED:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(2)  # publish attempts fail meanwhile; the order must wait
            waiting = await order_status(temporal, order.order_id)
        finally:
            stack.rabbitmq.start()
        result = await asyncio.wait_for(outcome(handle), timeout=90)

    assert waiting.state == OrderState.CONFIRMED  # past the pivot, event not yet confirmed
    assert result.state == OrderState.COMPLETED
    messages = await drain(event_tap)
    assert [m.message_id for m in messages if m.correlation_id == order.order_id] == [
        result.event_id
    ]


def mixed_orders(count: int, seed: int) -> list[OrderRequest]:
    rng = random.Random(seed)
    kinds = ["ok", "ok", "ok", "declined", "insufficient", "transient", "scarce", "cancel"]
    orders = []
    for i in range(count):
        kind = kinds[i % len(kinds)]
        token = {
            "declined": "tok_declined",
            "insufficient": "tok_insufficient_funds",
            "transient": "tok_transient_2",
            "cancel": "tok_transient_1000",
        }.get(kind, "tok_visa")
        items = [
            {"sku": "MUG-BLUE", "quantity": rng.randint(1, 3), "unit_price": "12.50"},
            {"sku": rng.choice(["TSHIRT-M", "NOTEBOOK-A5"]), "quantity": 1, "unit_price": "19.99"},
        ]
        if kind == "scarce":  # five units in stock: some of these orders must run out
            items = [{"sku": "POSTER-A2", "quantity": 2, "unit_price": "8.00"}]
        orders.append(an_order(order_id=f"mix-{seed}-{i}-{kind}", items=items, payment_token=token))
    return orders


async def test_a_batch_of_mixed_orders_keeps_stock_ledger_and_states_consistent(
    settings: Settings, temporal: Client, event_tap: AbstractQueue
) -> None:
    orders = mixed_orders(24, seed=7)

    async def run(order: OrderRequest) -> OrderResult:
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        if order.order_id.endswith("-cancel"):
            await wait_for_state(temporal, order.order_id, OrderState.RESERVED)
            await cancel_order(temporal, order.order_id)
        return await outcome(handle)

    async with running_worker(temporal, settings):
        results = await asyncio.gather(*(run(o) for o in orders))

    states = Counter(r.state for r in results)
    assert states[OrderState.COMPLETED] >= 10
    assert states[OrderState.FAILED] >= 6
    assert states[OrderState.CANCELLED] == 3
    orders_db, inventory, payments = open_services(settings)
    assert_invariants(results, orders_db, inventory, payments)
    quantities = {o.order_id: {i.sku: i.quantity for i in o.items} for o in orders}
    held = reserved_units(results, quantities)
    assert {lvl.sku: lvl.reserved for lvl in inventory.levels() if lvl.reserved} == dict(held)
    events = await drain(event_tap)
    assert sorted(m.correlation_id or "" for m in events) == sorted(o.order_id for o in orders)
    assert all(json.loads(m.body)["event_id"] == m.message_id for m in events)
