"""A three-node RabbitMQ cluster loses the node that leads the consumers' quorum queues while
orders flow, then gets it back: the publisher and consumers fail over along PODIUM_AMQP_URL's
addresses, no event is lost, no effect doubles, every order ends."""

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle

from contracts.order import OrderResult, OrderState
from infra.stack import LocalStack, StackInfo
from infra.stack.rabbitmq import RabbitNode
from podium.client import place_order
from tests.support.factories import an_order
from tests.support.invariants import ConsumerStores, assert_consumer_invariants, assert_invariants
from tests.support.management import Management
from tests.support.running import consumers, wait_settled
from tests.support.servers import Mail, quick_consumers, settings_for
from tests.support.waits import eventually
from workers.bootstrap import open_services, running_worker
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

pytestmark = pytest.mark.integration

CONSUMERS = ("notifications", "analytics", "loyalty")
BATCH = 8  # orders placed before, during and after the stop


@pytest.fixture
def cluster_settings(cluster_stack: LocalStack, mail: Mail, tmp_path: Path) -> Settings:
    info = cluster_stack.up()  # already running: its connection details
    return quick_consumers(settings_for(info, tmp_path), mail).model_copy(
        update={
            "amqp_url": ",".join(info.amqp_urls),  # node 1 first, as stack.env lists them
            "metrics_port": 0,
            "consumer_metrics_port": 0,
            "trace_file": tmp_path / "spans.jsonl",
        }
    )


def management_on(info: StackInfo, node: RabbitNode) -> Management:
    """The management API of one node (any node answers for the whole cluster)."""
    url = f"http://localhost:{node.config.management_port}"
    return Management(replace(info, management_url=url))


async def nodes_of(management: Management, connection_name: str) -> set[str]:
    return {str(c["node"]) for c in await management.connections_named(connection_name)}


async def leaders(management: Management, settings: Settings) -> set[str]:
    names = [f"{settings.consumer_queue_prefix}.{c}" for c in CONSUMERS]
    queues = [await management.queue(name) for name in names]
    return {str(q["leader"]) for q in queues if q is not None}


@pytest.mark.parametrize("loss", ["stop", "kill"])
async def test_losing_the_node_that_leads_the_queues_loses_no_event_and_doubles_no_effect(
    cluster_stack: LocalStack, cluster_settings: Settings, mail: Mail, loss: str
) -> None:
    """`stop`: a graceful shutdown (rabbitmqctl stop); `kill`: SIGKILL, a crash."""
    settings = cluster_settings
    info = cluster_stack.up()
    nodes = cluster_stack.rabbit_cluster.nodes
    temporal = await connect_temporal(
        Settings(_env_file=None, temporal_address=info.temporal_address)  # type: ignore[call-arg]
    )
    handles: list[WorkflowHandle[object, OrderResult]] = []

    async def place(count: int) -> None:
        orders = [an_order() for _ in range(count)]
        handles.extend(
            await asyncio.gather(
                *(place_order(temporal, o, settings.task_queue, wait="started") for o in orders)
            )
        )

    async with consumers(settings), running_worker(temporal, settings):
        [leader_name] = await leaders(management_on(info, nodes[0]), settings)
        leader = next(n for n in nodes if n.config.node_name == leader_name)
        survivor = management_on(info, next(n for n in nodes if n is not leader))
        await place(BATCH)
        async with asyncio.timeout(30):
            await asyncio.gather(*(h.result() for h in handles))  # the publisher is connected
        # Both halves use node 1, the first address, which also leads the queues it declared.
        on_leader = {
            name: await eventually(
                lambda name=name: nodes_of(survivor, name), bool, 20, interval=0.5, what=name
            )
            for name in ("podium-consumers", "podium-publisher")
        }
        lose = leader.stop if loss == "stop" else leader.kill
        stopping = asyncio.create_task(asyncio.to_thread(lose))
        await place(BATCH)  # while the node shuts down
        await stopping
        try:
            await place(BATCH)  # while it is down
            moved = await eventually(
                lambda: leaders(survivor, settings),
                lambda found: bool(found) and leader_name not in found,
                30,
                interval=0.5,
                what="the queues to elect leaders on the other nodes",
            )
        finally:
            await asyncio.to_thread(leader.start)
        failed_over = {
            name: await eventually(
                lambda name=name: nodes_of(survivor, name),
                lambda found: bool(found) and leader_name not in found,
                30,
                interval=0.5,
                what=f"{name} on another node",
            )
            for name in ("podium-consumers", "podium-publisher")
        }
        await place(BATCH)  # once it is back
        async with asyncio.timeout(90):
            results = list(await asyncio.gather(*(h.result() for h in handles)))
        stores = ConsumerStores.of(settings, mail.folder)
        await wait_settled(results, stores, within=60)

    assert on_leader == {"podium-consumers": {leader_name}, "podium-publisher": {leader_name}}
    assert moved and leader_name not in moved
    assert all(leader_name not in found for found in failed_over.values())
    assert [r.state for r in results] == [OrderState.COMPLETED] * 4 * BATCH
    assert_invariants(results, *open_services(settings))
    assert_consumer_invariants(results, stores)
