"""The AMQP TLS settings against a real RabbitMQ node with a mutual-TLS listener.

The node is the local stack's own, started with `amqps_port` and `tls_dir` (RabbitMQ only).
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import aio_pika
import pytest
from aiormq.exceptions import AMQPConnectionError

from activities.publisher import EventPublisher
from adapters.rabbitmq import declare_event_exchange
from infra.stack import LocalStack, StackConfig
from infra.stack.ports import free_ports
from tests.security.certs import Certs, make_certs
from tests.support.consumers import completed, count, effects_consumer, store_of
from tests.support.waits import until
from workers.bootstrap import running_consumers
from workers.runtime.settings import Settings
from workers.runtime.tls import amqp_ssl_context

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class TLSBroker:
    stack: LocalStack
    amqps_url: str
    certs: Certs


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSBroker]:
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    with free_ports(1) as (amqps_port,):
        pass
    config = replace(
        StackConfig.ephemeral(tmp_path_factory.mktemp("tls-stack")),
        with_management=False,
        amqps_port=amqps_port,
        tls_dir=certs.ca.parent,
    )
    stack = LocalStack(config)
    try:
        stack.rabbitmq.start()
        info = stack.status().info
        assert info is not None and info.amqps_url is not None
        yield TLSBroker(stack, info.amqps_url, certs)
    finally:
        stack.down()


def tls_settings(broker: TLSBroker, tmp_path: Path, **files: Path | None) -> Settings:
    """Settings over TLS; by default our CA and the client certificate (mutual TLS)."""
    c = broker.certs
    chosen = {"ca": c.ca, "cert": c.client_cert, "key": c.client_key, **files}
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        amqp_url=broker.amqps_url,
        amqp_ca_file=chosen["ca"],
        amqp_cert_file=chosen["cert"],
        amqp_key_file=chosen["key"],
        exchange=f"tls-{uuid.uuid4()}",
        consumer_queue_prefix=f"tls-{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path / "data",
        publish_timeout_seconds=5,
    )


async def test_publisher_confirms_over_mutual_tls_and_a_tls_consumer_reads_it(
    broker: TLSBroker, tmp_path: Path
) -> None:
    settings = tls_settings(broker, tmp_path)
    context = amqp_ssl_context(settings)
    assert context is not None
    connection = await aio_pika.connect(settings.amqp_url, ssl_context=context, timeout=5)
    async with connection:
        channel = await connection.channel()
        exchange = await declare_event_exchange(channel, settings.exchange)
        queue = await channel.declare_queue(exclusive=True)
        await queue.bind(exchange, routing_key="order.#")
        publisher = EventPublisher(settings.amqp_url, settings.exchange, 5, ssl_context=context)
        event = completed()
        try:
            await publisher.publish(event)  # raises unless the broker confirms it
            # The broker's side: both connections are TLS and presented our client certificate.
            listed = broker.stack.rabbitmq.rabbitmqctl(
                "list_connections", "ssl", "peer_cert_subject", "--no-table-headers", "-q"
            )
        finally:
            await publisher.close()
        message = await queue.get(timeout=5)
        await message.ack()
    assert message.message_id == event.event_id
    assert [line.split("\t") for line in listed.strip().splitlines()] == [
        ["true", "CN=client"],
        ["true", "CN=client"],
    ]


async def test_the_consumer_runtime_processes_an_event_over_mutual_tls(
    broker: TLSBroker, tmp_path: Path
) -> None:
    settings = tls_settings(broker, tmp_path)
    consumer = effects_consumer("tls-probe")
    publisher = EventPublisher(
        settings.amqp_url, settings.exchange, 5, ssl_context=amqp_ssl_context(settings)
    )
    event = completed()
    store = store_of(settings, consumer)
    try:
        async with running_consumers(settings, consumers=[consumer]):
            await publisher.publish(event)
            await until(
                lambda: (
                    count(store, "SELECT count(*) FROM effects WHERE event_id = ?", event.event_id)
                    == 1
                ),
                what="the consumer's effect",
            )
    finally:
        await publisher.close()


# aio-pika leaves a close() coroutine behind when the handshake fails; nothing to close.
@pytest.mark.filterwarnings("ignore:coroutine 'Connection.close' was never awaited")
async def test_the_broker_refuses_a_client_without_a_certificate(
    broker: TLSBroker, tmp_path: Path
) -> None:
    settings = tls_settings(broker, tmp_path, cert=None, key=None)
    node_log = broker.stack.config.logs / "rabbitmq" / f"{broker.stack.config.node_name}.log"
    alerts_before = node_log.read_text().count("Certificate required")
    with pytest.raises(AMQPConnectionError):
        await aio_pika.connect(settings.amqp_url, ssl_context=amqp_ssl_context(settings), timeout=5)
    await until(
        lambda: node_log.read_text().count("Certificate required") > alerts_before,
        what="the broker's 'Certificate required' alert in its log",
    )


@pytest.mark.filterwarnings("ignore:coroutine 'Connection.close' was never awaited")
async def test_the_client_refuses_a_broker_signed_by_another_ca(
    broker: TLSBroker, tmp_path: Path
) -> None:
    other = make_certs(tmp_path / "other")
    settings = tls_settings(broker, tmp_path, ca=other.ca)
    with pytest.raises(AMQPConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await aio_pika.connect(settings.amqp_url, ssl_context=amqp_ssl_context(settings), timeout=5)
