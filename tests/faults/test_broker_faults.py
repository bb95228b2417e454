"""The broker misbehaves at publish time: the event is delayed or repeated, never lost, and
each consumer's effect still happens once."""

import asyncio

import pytest
from aio_pika.abc import AbstractChannel
from temporalio.client import Client

from activities.publisher import EventPublisher
from contracts.broker import unrouted_name
from contracts.events import OrderCompletedV1, OrderFailedV1
from contracts.order import OrderState
from infra.stack import LocalStack
from podium.client import order_status, outcome, place_order, wait_for_state
from tests.support.factories import an_order
from tests.support.invariants import ConsumerStores, assert_consumer_invariants, assert_invariants
from tests.support.running import consumers, fault_worker, wait_for_pending, wait_settled
from tests.support.servers import Mail
from tests.support.waits import drain, tap
from workers.bootstrap import open_services, running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.mark.restartable
async def test_broker_down_at_publish_the_order_completes_once_it_is_back_effects_once(
    stack: LocalStack, fault_settings: Settings, temporal: Client, mail: Mail
) -> None:
    settings = fault_settings
    order = an_order()
    async with consumers(settings), running_worker(temporal, settings):
        await asyncio.to_thread(stack.rabbitmq.stop)
        try:
            handle = await place_order(temporal, order, settings.task_queue, wait="started")
            async with asyncio.timeout(30):
                await wait_for_state(temporal, order.order_id, OrderState.CONFIRMED)
            await wait_for_pending(handle, "publish_event", lambda p: p.attempt >= 3)
            waiting = await order_status(temporal, order.order_id)
        finally:
            await asyncio.to_thread(stack.rabbitmq.start)
        async with asyncio.timeout(90):
            result = await outcome(handle)
        stores = ConsumerStores.of(settings, mail.folder)
        await wait_settled([result], stores, within=60)

    assert waiting.state == OrderState.CONFIRMED  # past the pivot, waiting for the broker
    assert result.state == OrderState.COMPLETED
    assert_invariants([result], *open_services(settings))
    assert_consumer_invariants([result], stores)


class ConfirmLostOnce:
    """Publishes for real, then reports the first publish as failed: the broker has the
    message but the publisher never saw the confirm (a connection drop at the wrong moment)."""

    def __init__(self, real: EventPublisher) -> None:
        self.real = real
        self.calls = 0

    async def publish(self, event: OrderCompletedV1 | OrderFailedV1) -> None:
        self.calls += 1
        await self.real.publish(event)
        if self.calls == 1:
            raise ConnectionError("connection lost before the confirm arrived (injected)")

    async def close(self) -> None:
        await self.real.close()


async def test_lost_confirm_publishes_twice_with_one_id_and_each_consumer_acts_once(
    fault_settings: Settings, temporal: Client, amqp_channel: AbstractChannel, mail: Mail
) -> None:
    settings = fault_settings
    events = await tap(amqp_channel, settings.exchange)
    publisher = ConfirmLostOnce(
        EventPublisher(settings.amqp_url, settings.exchange, settings.publish_timeout_seconds)
    )
    results = []
    try:
        async with consumers(settings), fault_worker(temporal, settings, publisher=publisher):
            async with asyncio.timeout(30):
                for order in (an_order(), an_order(payment_token="tok_declined")):
                    handle = await place_order(temporal, order, settings.task_queue, wait="started")
                    results.append(await outcome(handle))
                    publisher.calls = 0  # each order's first publish loses its confirm
            stores = ConsumerStores.of(settings, mail.folder)
            await wait_settled(results, stores)
    finally:
        await publisher.close()

    assert [r.state for r in results] == [OrderState.COMPLETED, OrderState.FAILED]
    messages = await drain(events)
    ids = sorted(m.message_id or "" for m in messages)
    assert ids == sorted(2 * [str(r.event_id) for r in results])  # every event twice
    assert_invariants(results, *open_services(settings))
    assert_consumer_invariants(results, stores)


async def test_an_event_no_queue_is_bound_for_completes_the_order_and_waits_unrouted(
    fault_settings: Settings, temporal: Client, amqp_channel: AbstractChannel
) -> None:
    settings = fault_settings  # its own exchange: nothing is bound to it
    order = an_order()
    async with running_worker(temporal, settings):
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        async with asyncio.timeout(30):
            result = await outcome(handle)

    assert result.state == OrderState.COMPLETED  # the critical path never waits for consumers
    unrouted = await amqp_channel.get_queue(unrouted_name(settings.exchange))
    [message] = await drain(unrouted)  # kept once, for `podium dlq replay unrouted`
    assert message.message_id == result.event_id
    assert message.routing_key == OrderCompletedV1.ROUTING_KEY
    assert_invariants([result], *open_services(settings))
