"""The stack's broker as a private RabbitMQ cluster: node 1 (the single node of a default stack)
and nodes 2..N joined to it, all on loopback (`podium dev up --rabbit-nodes N`).

Every node is started by the one-node recipe (rabbitmq.py) with its own name, ports and folder;
they share one private epmd, the `podium` password and one Erlang cookie (a 0600 file in each
node's HOME). A new node 2..N boots once node 1 runs and joins it by classic-config peer discovery
(node 1 its only peer). Discovery that cannot reach node 1 would let the node boot as a cluster of
its own, so the cluster's members are checked with `rabbitmqctl cluster_status` before a new node
is marked joined (a `cluster` file in its folder); `rabbitmqctl stop_app; join_cluster; start_app`
does the same job with three more CLI runs per node, each booting an Erlang VM of its own.
Joined nodes start together with node 1: a clustered node waits at boot for the peers it last saw
running, so starting them one after another could wait for minutes.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import secrets
from collections.abc import Callable
from pathlib import Path

from infra.stack.config import StackConfig
from infra.stack.errors import StackError
from infra.stack.processes import write_private
from infra.stack.rabbitmq import RabbitNode

log = logging.getLogger(__name__)

MAX_NODES = 5
COOKIE = ".erlang.cookie"
JOINED = "cluster"  # in a node's folder once it joined node 1


class RabbitCluster:
    def __init__(self, config: StackConfig) -> None:
        if not 1 <= config.rabbit_nodes <= MAX_NODES:
            raise StackError(f"a RabbitMQ cluster has 1 to {MAX_NODES} nodes")
        # A cluster keeps its size: nodes found on disk are started (and stopped) too.
        size = max(config.rabbit_nodes, _nodes_on_disk(config.home))
        self.nodes = [RabbitNode(config, index) for index in range(1, size + 1)]

    @property
    def first(self) -> RabbitNode:
        return self.nodes[0]

    @property
    def peers(self) -> list[RabbitNode]:
        return self.nodes[1:]

    def start(self) -> None:
        """Start every node not running (new ones join node 1); check they all run as one."""
        if not self.peers:
            self.first.start()
            return
        self.first.password(create=True)
        cookie = self._cookie()
        for node in self.peers:
            write_private(node.dir / COOKIE, cookie)
        new = [node for node in self.peers if not (node.dir / JOINED).exists()]
        _each([node for node in self.nodes if node not in new], RabbitNode.start)
        if new:
            _each(new, RabbitNode.start)
        self._check_running()
        for node in new:
            write_private(node.dir / JOINED, f"{self.first.config.node_name}\n")

    def stop(self) -> None:
        """Stop every node (in parallel: a graceful stop takes seconds); data stays."""
        _each(self.nodes, RabbitNode.stop)
        self.first.stop_epmd()  # each node left it to the others while they still ran

    def amqp_urls(self, password: str) -> list[str]:
        return [node.amqp_url(password) for node in self.nodes]

    def _cookie(self) -> str:
        """Node 1's cookie (Erlang wrote one at its first boot), or a new one for all."""
        path = self.first.dir / COOKIE
        if path.exists():
            return path.read_text().strip()
        cookie = secrets.token_hex(20).upper()
        write_private(path, cookie)
        return cookie

    def _check_running(self) -> None:
        status = json.loads(self.first.rabbitmqctl("cluster_status", "--formatter", "json"))
        running = set(status.get("running_nodes", []))
        missing = [n.config.node_name for n in self.nodes if n.config.node_name not in running]
        if missing:
            raise StackError(
                f"RabbitMQ nodes {', '.join(missing)} are not running in node 1's cluster; see "
                f"{self.first.config.logs / 'rabbitmq'} (remove a new node's folder to retry)"
            )


def _nodes_on_disk(home: Path) -> int:
    size = 1
    while size < MAX_NODES and (home.absolute() / f"rabbitmq-{size + 1}").is_dir():
        size += 1
    return size


def _each(nodes: list[RabbitNode], action: Callable[[RabbitNode], object]) -> None:
    """`action` on every node at once; the first failure is raised once all have finished."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(nodes)) as pool:
        futures = [pool.submit(action, node) for node in nodes]
    errors = [str(err) for f in futures if (err := f.exception()) is not None]
    if errors:
        raise StackError("; ".join(errors))
