"""`podium dev up | down | status`: the local stack (infra/stack)."""

import argparse
import asyncio

from podium.cli import exits
from podium.cli.exits import fail
from podium.cli.parsing import Commands
from workers.runtime.settings import Settings


def register(commands: Commands) -> None:
    cmd = commands.add_parser(
        "dev", help="the local stack: Temporal, RabbitMQ, mail (and PostgreSQL)"
    )
    cmd.add_argument("action", choices=["up", "down", "status"])
    cmd.add_argument(
        "--postgres",
        action="store_true",
        help="up: also start a private PostgreSQL cluster and write its URL to stack.env",
    )
    cmd.add_argument(
        "--rabbit-nodes",
        type=_node_count,
        default=1,
        metavar="N",
        help="up: run RabbitMQ as a private cluster of N nodes (1 to 5; a cluster keeps its size)",
    )
    cmd.set_defaults(command=_dev)


def _node_count(text: str) -> int:
    from infra.stack.rabbitmq_cluster import MAX_NODES

    if not (text.isascii() and text.isdigit() and len(text) <= 2 and 1 <= int(text) <= MAX_NODES):
        raise argparse.ArgumentTypeError(f"a whole number from 1 to {MAX_NODES}")
    return int(text)


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.rabbitmq import BrokerMismatch
    from contracts.problems import one_line
    from infra.stack import LocalStack, StackConfig, StackError
    from workers.bootstrap import declare_consumer_topology

    stack = LocalStack(StackConfig(with_postgres=args.postgres, rabbit_nodes=args.rabbit_nodes))
    try:
        if args.action == "up":
            stack.up()
            # Declared now, events are routable (and wait in the consumers' queues) even while
            # no consumer runs. Settings are read again: `up` has just written stack.env.
            asyncio.run(declare_consumer_topology(Settings()))
        elif args.action == "down":
            stack.down()
    except (StackError, BrokerMismatch) as err:
        return fail(one_line(err), exits.UNAVAILABLE)
    print(stack.status().describe())
    return exits.OK
