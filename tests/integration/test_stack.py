"""The local stack against the real servers: a private Temporal dev server, RabbitMQ node and
debugging SMTP server.

The tests share one ephemeral stack and run in file order: they follow its life cycle.
"""

import itertools
import os
import smtplib
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import aio_pika
import pytest
from aiormq.exceptions import ProbableAuthenticationError
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from infra.mailserver import stored_emails
from infra.stack import LocalStack, StackConfig, StackInfo
from workers.runtime.settings import BENCH_NAMESPACE, Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    stack = LocalStack(StackConfig.ephemeral(tmp_path_factory.mktemp("stack")))
    try:
        yield stack
    finally:
        stack.down()


@pytest.fixture(scope="module")
def info(stack: LocalStack) -> StackInfo:
    return stack.up()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def test_up_serves_temporal_and_the_broker_with_generated_credentials(
    info: StackInfo,
) -> None:
    client = await Client.connect(info.temporal_address)
    assert await client.service_client.check_health()
    # The user's orders and the benchmark's runs each have a namespace from the start.
    for namespace in ("default", BENCH_NAMESPACE):
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )

    connection = await aio_pika.connect(info.amqp_url)
    await connection.close()
    assert info.management_password and info.management_password in info.amqp_url


async def test_guest_does_not_exist(stack: LocalStack, info: StackInfo) -> None:
    port = stack.config.amqp_port
    with pytest.raises(ProbableAuthenticationError):
        await aio_pika.connect(f"amqp://guest:guest@localhost:{port}/", timeout=5)
    users = stack.rabbitmq.rabbitmqctl("list_users", "--quiet", "--no-table-headers")
    assert [line.split()[0] for line in users.splitlines() if line.strip()] == ["podium"]


def test_secrets_are_private_files(stack: LocalStack, info: StackInfo) -> None:
    env = stack.env_file.read_text()
    assert f"PODIUM_AMQP_URL={info.amqp_url}\n" in env
    assert f"PODIUM_TEMPORAL_ADDRESS={info.temporal_address}\n" in env
    assert f"PODIUM_SMTP_PORT={stack.config.smtp_port}\n" in env
    for path in (stack.env_file, stack.rabbitmq.credentials_file):
        assert os.stat(path).st_mode & 0o777 == 0o600


def test_up_again_leaves_running_servers_alone(stack: LocalStack, info: StackInfo) -> None:
    before = stack.status()
    assert before.running
    assert stack.up() == info
    after = stack.status()
    pids = (after.temporal.pid, after.rabbitmq.pid, after.mail.pid)
    assert pids == (before.temporal.pid, before.rabbitmq.pid, before.mail.pid)


def test_status_reports_all_servers(stack: LocalStack, info: StackInfo) -> None:
    status = stack.status()
    assert status.temporal.running and status.rabbitmq.running and status.mail.running
    assert status.temporal.ports["grpc"] == stack.config.temporal_port
    assert status.rabbitmq.ports["amqp"] == stack.config.amqp_port
    assert status.mail.ports["smtp"] == stack.config.smtp_port
    assert status.info == info
    text = status.describe()
    assert info.temporal_ui_url in text and str(info.management_url) in text
    assert f"localhost:{info.smtp_port}" in text and str(info.mail_dir) in text


def test_the_dev_server_keeps_its_sqlite_in_wal_with_normal_sync(
    stack: LocalStack, info: StackInfo
) -> None:
    pid = stack.temporal.pid()
    assert pid is not None
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    pragmas = [value for flag, value in itertools.pairwise(args) if flag == "--sqlite-pragma"]
    assert pragmas == ["journal_mode=wal", "synchronous=normal"]
    # The server applied them: the mode is written in the file itself.
    with closing(sqlite3.connect(f"file:{stack.temporal.db}?mode=ro", uri=True)) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_settings_read_from_the_env_file_point_at_the_mail_server(
    stack: LocalStack, info: StackInfo
) -> None:
    settings = Settings(_env_file=stack.env_file)  # type: ignore[call-arg]
    assert (settings.smtp_port, settings.mail_dir) == (info.smtp_port, info.mail_dir)


def test_email_sent_to_the_stack_lands_as_a_file(info: StackInfo) -> None:
    message_id = f"<{uuid.uuid4().hex}@podium.test>"
    email = (
        "From: orders@podium.test\r\nTo: alice@example.com\r\n"
        f"Message-ID: {message_id}\r\nSubject: hello\r\n\r\nyour order shipped\r\n"
    )
    with smtplib.SMTP("localhost", info.smtp_port, timeout=5) as smtp:
        smtp.sendmail("orders@podium.test", ["alice@example.com"], email)
    [stored] = [p for p in stored_emails(info.mail_dir) if message_id.strip("<>") in p.name]
    assert b"your order shipped" in stored.read_bytes()


def test_the_stack_mail_server_takes_an_international_address_with_smtputf8(
    info: StackInfo,
) -> None:
    message_id = f"<{uuid.uuid4().hex}@podium.test>"
    email = (
        "From: orders@podium.test\r\nTo: jörg@example.de\r\n"
        f"Message-ID: {message_id}\r\nSubject: hallo\r\n\r\nIhre Bestellung\r\n"
    ).encode()
    with smtplib.SMTP("localhost", info.smtp_port, timeout=5) as smtp:
        smtp.sendmail("orders@podium.test", ["jörg@example.de"], email, mail_options=["SMTPUTF8"])
    [stored] = [p for p in stored_emails(info.mail_dir) if message_id.strip("<>") in p.name]
    assert "To: jörg@example.de" in stored.read_bytes().decode()


async def test_persistent_message_survives_a_broker_restart(
    stack: LocalStack, info: StackInfo
) -> None:
    queue_name = f"test.durable.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(info.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue_name, durable=True)
        message = aio_pika.Message(b"kept", delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await channel.default_exchange.publish(message, routing_key=queue_name)

    old_pid = stack.status().rabbitmq.pid
    stack.rabbitmq.stop()
    assert not stack.status().rabbitmq.running
    stack.rabbitmq.start()
    assert stack.status().rabbitmq.pid != old_pid

    connection = await aio_pika.connect(info.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True, passive=True)
        received = await queue.get(timeout=5)
        assert received.body == b"kept"
        await received.ack()
        await queue.delete()


async def test_workflow_history_survives_a_temporal_restart(
    stack: LocalStack, info: StackInfo
) -> None:
    client = await Client.connect(info.temporal_address)
    workflow_id = f"stack-test-{uuid.uuid4().hex[:8]}"
    # No worker needed: the started execution is stored by the server.
    await client.start_workflow("NoSuchWorkflow", id=workflow_id, task_queue="stack-test")

    stack.temporal.stop()
    assert not stack.status().temporal.running
    stack.temporal.start()

    client = await Client.connect(info.temporal_address)
    description = await client.get_workflow_handle(workflow_id).describe()
    assert description.workflow_type == "NoSuchWorkflow"
    await client.get_workflow_handle(workflow_id).terminate()


def test_down_stops_everything_and_is_idempotent(stack: LocalStack, info: StackInfo) -> None:
    status = stack.status()
    beam = int((stack.rabbitmq.dir / "beam.pid").read_text())
    pids = [status.temporal.pid, status.rabbitmq.pid, status.mail.pid, beam]
    assert all(pids)
    stack.down()
    assert not any(_alive(pid) for pid in pids if pid)
    after = stack.status()
    assert not after.temporal.running and not after.rabbitmq.running and not after.mail.running
    pid_files = (stack.temporal.pid_file, stack.rabbitmq.pid_file, stack.mail.pid_file)
    assert not any(path.exists() for path in pid_files)
    with pytest.raises(OSError):
        smtplib.SMTP("localhost", info.smtp_port, timeout=2)
    stack.down()


def test_stale_pid_files_are_cleaned_up(tmp_path: Path) -> None:
    stack = LocalStack(StackConfig.ephemeral(tmp_path))
    stack.rabbitmq.dir.mkdir(parents=True)
    # Our own pid: alive, but not a Temporal or RabbitMQ process of this stack.
    stack.temporal.pid_file.write_text(f"{os.getpid()}\n")
    stack.rabbitmq.pid_file.write_text("999999999\n")
    stack.mail.pid_file.write_text(f"{os.getpid()}\n")
    status = stack.status()
    assert not status.temporal.running and not status.rabbitmq.running
    assert not status.mail.running
    assert status.info is None
    pid_files = (stack.temporal.pid_file, stack.rabbitmq.pid_file, stack.mail.pid_file)
    assert not any(path.exists() for path in pid_files)
    stack.down()
