"""The Temporal server restarts with orders in flight: its database file keeps them, and each
order completes afterwards, once."""

import asyncio
from collections import Counter

import pytest
from aio_pika.abc import AbstractChannel
from temporalio.client import Client

from contracts.order import OrderState
from infra.stack import LocalStack
from podium.client import order_handle, outcome, place_order, wait_for_state
from tests.support.factories import an_order
from tests.support.invariants import assert_invariants
from tests.support.waits import drain, tap
from workers.bootstrap import open_services, running_worker
from workers.runtime.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.restartable]

IN_FLIGHT = 5


async def test_orders_in_flight_complete_once_after_a_temporal_restart(
    stack: LocalStack, fault_settings: Settings, temporal: Client, amqp_channel: AbstractChannel
) -> None:
    # Charges take 1.5 s, so every order is mid-charge when the server goes away.
    settings = fault_settings.model_copy(update={"payment_latency_ms": 1500})
    events = await tap(amqp_channel, settings.exchange)
    orders = [an_order() for _ in range(IN_FLIGHT)]
    async with running_worker(temporal, settings):
        handles = [
            await place_order(temporal, o, settings.task_queue, wait="started") for o in orders
        ]
        async with asyncio.timeout(30):
            for order in orders:
                await wait_for_state(temporal, order.order_id, OrderState.RESERVED)
        await asyncio.to_thread(stack.temporal.stop)
        await asyncio.to_thread(stack.temporal.start)
        async with asyncio.timeout(90):
            results = await asyncio.gather(*(outcome(h) for h in handles))

    assert [r.state for r in results] == [OrderState.COMPLETED] * IN_FLIGHT
    for order, handle in zip(orders, handles, strict=True):
        description = await order_handle(temporal, order.order_id).describe()
        assert description.run_id == handle.result_run_id  # the same run, not a new one
    captured = Counter(c.order_id for c in open_services(settings)[2].charges())
    assert captured == Counter({o.order_id: 1 for o in orders})
    messages = await drain(events)
    assert sorted(m.message_id or "" for m in messages) == sorted(str(r.event_id) for r in results)
    assert_invariants(results, *open_services(settings))
