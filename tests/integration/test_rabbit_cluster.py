"""`podium dev up --rabbit-nodes 3`: the stack's broker as a private three-node cluster, checked
from outside through RabbitMQ's management HTTP API."""

from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import aio_pika
import pytest

from adapters.amqp_urls import amqp_urls
from adapters.rabbitmq import FailoverConnection, connect
from infra.stack import LocalStack, StackInfo
from infra.stack.ports import free_port
from tests.support.management import Management
from tests.support.servers import settings_for
from workers.bootstrap import declare_consumer_topology
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture
def cluster_info(cluster_stack: LocalStack) -> StackInfo:
    return cluster_stack.up()  # already running: its connection details


def node_names(stack: LocalStack) -> list[str]:
    return [node.config.node_name for node in stack.rabbit_cluster.nodes]


async def test_up_runs_three_nodes_as_one_cluster_and_lists_every_address(
    cluster_stack: LocalStack, cluster_info: StackInfo
) -> None:
    status = cluster_stack.status()
    brokers = [svc for svc in status.parts if svc.name.startswith("rabbitmq")]
    assert [svc.name for svc in brokers] == ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]
    assert all(svc.running for svc in brokers) and status.running
    assert len({svc.ports["amqp"] for svc in brokers}) == 3
    # stack.env holds every node, node 1 first, for the settings to fail over along.
    from_env = Settings(_env_file=cluster_stack.env_file)  # type: ignore[call-arg]
    assert amqp_urls(from_env.amqp_url) == list(cluster_info.amqp_urls)
    assert cluster_info.amqp_urls[0] == cluster_info.amqp_url
    text = status.describe()
    assert all(url in text for url in cluster_info.amqp_urls)

    nodes = await Management(cluster_info).call("GET", "/nodes")
    assert sorted(n["name"] for n in nodes if n["running"]) == sorted(node_names(cluster_stack))
    for url in cluster_info.amqp_urls:  # one user, known to every node
        connection = await aio_pika.connect(url, timeout=10)
        await connection.close()


async def test_quorum_queues_replicate_to_all_three_nodes(
    cluster_stack: LocalStack, cluster_info: StackInfo, tmp_path: Path
) -> None:
    settings = settings_for(cluster_info, tmp_path)
    await declare_consumer_topology(settings)

    # Asked of node 3's own management listener: every node serves the cluster's view.
    node3 = cluster_stack.rabbit_cluster.nodes[2].config
    management = Management(
        replace(cluster_info, management_url=f"http://localhost:{node3.management_port}")
    )
    for consumer in ("notifications", "analytics", "loyalty"):
        queue = await management.queue(f"{settings.consumer_queue_prefix}.{consumer}")
        assert queue is not None and queue["type"] == "quorum"
        assert sorted(queue["members"]) == sorted(node_names(cluster_stack))
        assert queue["leader"] in queue["members"]


async def test_connect_passes_over_an_address_that_refuses(cluster_info: StackInfo) -> None:
    dead = cluster_info.amqp_url.replace(
        f":{urlsplit(cluster_info.amqp_url).port}/", f":{free_port()}/"
    )
    urls = [dead, *cluster_info.amqp_urls[1:]]
    connection = await connect(",".join(urls), name="failover-test", connect_timeout=5)
    try:
        assert isinstance(connection, FailoverConnection)
        assert connection.url.port == urlsplit(urls[1]).port
    finally:
        await connection.close()


def test_the_cluster_keeps_its_size_when_the_flag_is_left_out(cluster_stack: LocalStack) -> None:
    """`podium dev status` / `down` without `--rabbit-nodes` still see and stop every node."""
    again = LocalStack(replace(cluster_stack.config, rabbit_nodes=1))
    assert [n.config.node_name for n in again.rabbit_cluster.nodes] == node_names(cluster_stack)
    peers = again.status().rabbitmq_peers
    assert [(svc.name, svc.running) for svc in peers] == [
        ("rabbitmq-2", True),
        ("rabbitmq-3", True),
    ]
