"""One private stack (Temporal dev server + RabbitMQ node) for the whole integration session,
started by the project's own code exactly as `podium dev up` starts it."""

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractQueue
from temporalio.client import Client

from adapters.rabbitmq import declare_event_exchange
from infra.stack import LocalStack, StackConfig, StackInfo
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(StackConfig.ephemeral(tmp_path_factory.mktemp("stack")))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="session")
def stack_info(stack: LocalStack) -> StackInfo:
    return stack.up()  # already running: returns its connection details


@pytest.fixture
def settings(stack_info: StackInfo, tmp_path: Path) -> Settings:
    """Settings for one test: the session's servers, the test's own databases and task queue."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_address=stack_info.temporal_address,
        amqp_url=stack_info.amqp_url,
        data_dir=tmp_path / "data",
        task_queue=f"it-{uuid.uuid4()}",
        publish_timeout_seconds=3,
    )


@pytest.fixture(scope="session")
async def temporal(stack_info: StackInfo) -> Client:
    settings = Settings(_env_file=None, temporal_address=stack_info.temporal_address)  # type: ignore[call-arg]
    return await connect_temporal(settings)


@pytest.fixture
async def amqp_channel(stack_info: StackInfo) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect_robust(stack_info.amqp_url)
    async with connection:
        yield await connection.channel()


@pytest.fixture
async def event_tap(amqp_channel: AbstractChannel) -> AsyncIterator[AbstractQueue]:
    """A durable queue bound to every order event, so published events are routable and
    can be inspected; it survives a broker restart like the real consumer queues."""
    exchange = await declare_event_exchange(amqp_channel, "orders")
    queue = await amqp_channel.declare_queue(f"tap-{uuid.uuid4()}", durable=True)
    await queue.bind(exchange, routing_key="order.#")
    yield queue
    await queue.delete(if_unused=False, if_empty=False)
