"""`podium dev up | down | status`: the local stack (infra/stack)."""

import argparse
import asyncio
from typing import TYPE_CHECKING, Any

from podium.cli import exits
from podium.cli.exits import fail
from podium.cli.output import add_json_flag, emit
from podium.cli.parsing import Commands
from workers.runtime.settings import Settings

if TYPE_CHECKING:
    from infra.stack.status import ServiceStatus, StackStatus


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
    add_json_flag(cmd)
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
    if args.json:
        emit(status_json(stack.status()))
    else:
        print(stack.status().describe())
    return exits.OK


def status_json(status: "StackStatus") -> dict[str, Any]:
    """The stack's services and addresses, as `podium dev status` prints them."""
    from workers.runtime.redaction import redact_urls

    parts = (status.temporal, status.rabbitmq, status.mail, status.postgres)
    info = status.info
    return {
        "running": status.running,
        "services": [_service(svc) for svc in parts if svc is not None],
        "temporal_ui_url": info.temporal_ui_url if info else None,
        "temporal_address": info.temporal_address if info else None,
        "amqp_url": info.amqp_url if info else None,
        "amqps_url": info.amqps_url if info else None,
        "management_url": info.management_url if info else None,
        "management_user": info.management_user if info else None,
        "management_password": info.management_password if info else None,
        "smtp_port": info.smtp_port if info else None,
        "mail_dir": str(info.mail_dir) if info else None,
        # The password stays in the 0600 files (stack.env, postgres/credentials).
        "database_url": redact_urls(info.database_url) if info and info.database_url else None,
    }


def _service(svc: "ServiceStatus") -> dict[str, Any]:
    return {
        "name": svc.name,
        "running": svc.running,
        "pid": svc.pid,
        "ports": svc.ports,
        "log_file": str(svc.log_file),
    }
