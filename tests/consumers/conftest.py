"""One private RabbitMQ node and one debugging mail server for all consumer tests.

Each test gets its own exchange, queue prefix and data folder, so tests never see each other's
messages while sharing the broker (starting one costs ~10 s).
"""

import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from activities.publisher import EventPublisher
from infra import mailserver
from infra.stack import LocalStack, StackConfig
from workers.runtime.settings import Settings

RETRY_DELAYS_MS = [200, 400]


@dataclass(frozen=True)
class Broker:
    stack: LocalStack
    amqp_url: str


@dataclass(frozen=True)
class MailServer:
    port: int
    folder: Path


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    # With the management plugin: some tests publish through its HTTP API, a client we did not
    # write, as outside tools do.
    stack = LocalStack(StackConfig.ephemeral(tmp_path_factory.mktemp("rabbit")))
    try:
        stack.start_rabbitmq()
        info = stack.status().info
        assert info is not None
        yield Broker(stack, info.amqp_url)
    finally:
        stack.down()


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    folder = tmp_path_factory.mktemp("mail")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = mailserver.start(folder, port)
    try:
        yield MailServer(port, folder)
    finally:
        controller.stop()


@pytest.fixture
def settings(broker: Broker, mail_server: MailServer, tmp_path: Path) -> Settings:
    uid = uuid.uuid4().hex[:8]
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        amqp_url=broker.amqp_url,
        exchange=f"orders-{uid}",
        consumer_queue_prefix=f"t{uid}",
        data_dir=tmp_path / "data",
        consumer_retry_delays_ms=RETRY_DELAYS_MS,
        consumer_reconnect_interval_seconds=0.5,
        consumer_shutdown_timeout_seconds=10,
        publish_timeout_seconds=5,
        smtp_port=mail_server.port,
        mail_dir=mail_server.folder,
    )


@pytest.fixture
async def publisher(settings: Settings) -> AsyncIterator[EventPublisher]:
    publisher = EventPublisher(settings.amqp_url, settings.exchange, timeout=5)
    yield publisher
    await publisher.close()
