"""A confirmed publish is bounded by its time limit, also when the broker stops answering."""

import asyncio
import time

import aio_pika
import pytest
from aiormq.exceptions import ChannelInvalidStateError

from activities.publisher import EventPublisher
from adapters.rabbitmq import connect, declare_event_exchange, publish
from infra.stack import LocalStack
from tests.support.consumers import completed
from workers.runtime.settings import Settings

# Both stop the broker from answering: on the stack apart from the session's shared one.
pytestmark = [pytest.mark.integration, pytest.mark.restartable]


async def test_a_publish_the_broker_never_confirms_ends_in_timeout_error(
    settings: Settings, stack: LocalStack
) -> None:
    publisher = EventPublisher(settings.amqp_url, settings.exchange, timeout=1)
    await publisher.connect()
    # A memory alarm: the broker stops reading from publishing connections, so no confirm comes.
    await asyncio.to_thread(
        stack.rabbitmq.rabbitmqctl, "set_vm_memory_high_watermark", "absolute", "1"
    )
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await publisher.publish(completed())
        assert time.monotonic() - started < 3
    finally:
        await asyncio.to_thread(stack.rabbitmq.rabbitmqctl, "set_vm_memory_high_watermark", "0.4")
        await publisher.close()


async def test_a_publish_while_the_broker_is_down_fails_at_once_instead_of_waiting(
    settings: Settings, stack: LocalStack
) -> None:
    connection = await connect(settings.amqp_url, name="test", connect_timeout=5)
    channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await declare_event_exchange(channel, settings.exchange)
    message = aio_pika.Message(b"{}", message_id="down")
    await asyncio.to_thread(stack.rabbitmq.stop)
    try:
        started = time.monotonic()
        # The robust connection is reconnecting: its channel reads as closed, no waiting.
        with pytest.raises(ChannelInvalidStateError):
            await publish(exchange, message, "order.completed.v1", confirm_timeout=30)
        assert time.monotonic() - started < 5
    finally:
        await asyncio.to_thread(stack.rabbitmq.start)
        await connection.close()
