"""`podium`: the command line. Each command reads the settings once and passes them down."""

import argparse
import asyncio
import os
import sys
import uuid
from collections.abc import Coroutine, Sequence
from pathlib import Path
from typing import Any, NoReturn

from workers import exits
from workers.runtime.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    # Files Podium and the servers it starts create (databases, logs, spans, the Temporal
    # database) hold customer data or secrets: private to this user from the first byte.
    os.umask(0o077)
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return exits.BAD_INPUT
    settings: Settings | None = None
    try:
        from workers.runtime.logging import configure_logging
        from workers.runtime.tracing import configure_tracing

        settings = Settings()
        configure_logging(settings.log_level, settings.log_format, file=args.log_file)
        if args.traced:
            configure_tracing(settings, args.traced)
        return int(args.command(args, settings))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `podium ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return exits.OK
    except Exception as err:
        from workers.failures import explain

        return _fail(*explain(err, settings.amqp_url if settings else None))
    finally:
        if args.traced and settings is not None:
            from workers.runtime.tracing import flush_tracing

            flush_tracing()


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="podium", description=__doc__)
    # Commands that take part in an order's trace name their service; the others trace nothing.
    parser.set_defaults(traced=None, log_file=None)
    sub = parser.add_subparsers(metavar="COMMAND")

    cmd = sub.add_parser("worker", help="run a Temporal worker for the order workflow")
    cmd.set_defaults(command=_worker, traced="podium-worker")

    cmd = sub.add_parser("place", help="place one order and print its outcome")
    cmd.add_argument("--file", help="order as JSON ('-' reads standard input)")
    cmd.add_argument("--order-id", help="default: a new unique id")
    cmd.add_argument("--customer-id", default="cust-demo")
    cmd.add_argument("--email", default="ada@example.com")
    cmd.add_argument("--item", action="append", default=[], metavar="SKU:QTY:PRICE")
    cmd.add_argument("--currency", default="EUR")
    cmd.add_argument("--token", default="tok_visa", help="payment token, e.g. tok_declined")
    cmd.add_argument("--no-wait", action="store_true", help="submit and return at once")
    cmd.set_defaults(command=_place, traced="podium-cli")

    cmd = sub.add_parser("status", help="show an order's state and step history")
    cmd.add_argument("order_id", type=_identifier)
    cmd.set_defaults(command=_status)

    cmd = sub.add_parser("cancel", help="cancel an order that has not been confirmed yet")
    cmd.add_argument("order_id", type=_identifier)
    cmd.set_defaults(command=_cancel, traced="podium-cli")

    cmd = sub.add_parser(
        "reconcile", help="undo orders whose workflow was terminated, timed out or lost"
    )
    cmd.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    cmd.set_defaults(command=_reconcile)

    cmd = sub.add_parser("consumers", help="run side-effect consumers (all, or those named)")
    cmd.add_argument("names", nargs="*", metavar="NAME", help="notifications, analytics, loyalty")
    cmd.add_argument(
        "--status",
        action="store_true",
        help="show queue, retry and dead-letter depths and the breaker state of the consumers"
        " running on this host (as their processes last reported it), then exit",
    )
    cmd.set_defaults(command=_consumers, traced="podium-consumers")

    dlq = sub.add_parser(
        "dlq", help="inspect, replay or discard dead letters (a consumer's, or `unrouted`)"
    )
    dlq_sub = dlq.add_subparsers(metavar="ACTION", required=True)
    cmd = dlq_sub.add_parser("list", help="list dead letters (they stay in the queue)")
    cmd.add_argument("consumer", help="a consumer's name, or `unrouted`")
    cmd.set_defaults(command=_dlq_list)
    cmd = dlq_sub.add_parser("replay", help="move dead letters back to the consumer's queue")
    cmd.add_argument("consumer", help="a consumer's name, or `unrouted`")
    cmd.add_argument("--id", action="append", dest="ids", metavar="MESSAGE_ID")
    cmd.set_defaults(command=_dlq_replay)
    cmd = dlq_sub.add_parser("discard", help="delete dead letters for good, printing each")
    cmd.add_argument("consumer", help="a consumer's name, or `unrouted`")
    which = cmd.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", dest="ids", metavar="MESSAGE_ID")
    which.add_argument("--all", action="store_true")
    cmd.set_defaults(command=_dlq_discard)

    broker = sub.add_parser("broker", help="maintain the broker's exchanges and queues")
    broker_sub = broker.add_subparsers(metavar="ACTION", required=True)
    cmd = broker_sub.add_parser(
        "migrate", help="declare again what an older Podium declared otherwise, keeping messages"
    )
    cmd.set_defaults(command=_broker_migrate)

    cmd = sub.add_parser("analytics", help="revenue and units per SKU and hour, orders by outcome")
    cmd.set_defaults(command=_analytics)

    cmd = sub.add_parser("loyalty", help="a customer's loyalty points")
    cmd.add_argument("customer_id", type=_identifier)
    cmd.set_defaults(command=_loyalty)

    cmd = sub.add_parser(
        "codec-server", help="decrypt payloads for the Temporal UI (needs the keys)"
    )
    cmd.add_argument("--port", type=int, default=None, help="default: PODIUM_CODEC_SERVER_PORT")
    cmd.add_argument("--host", default=None, help="default: 127.0.0.1")
    cmd.set_defaults(command=_codec_server)

    cmd = sub.add_parser("trace", help="print an order's trace (client to side effects) as a tree")
    cmd.add_argument("order_id", type=_identifier)
    cmd.set_defaults(command=_trace)

    cmd = sub.add_parser("demo", help="start the stack, run a worker, place sample orders")
    # The demo's worker and consumers log to a file: the terminal shows the orders' story.
    cmd.set_defaults(command=_demo, traced="podium-demo", log_file=Path(".podium/logs/demo.log"))

    cmd = sub.add_parser("bench", help="measure the saga against the bare engine (needs the stack)")
    cmd.add_argument("--quick", action="store_true", help="a short run with fewer samples")
    cmd.add_argument("--orders", type=int, default=None, help="workflows per variant (time-capped)")
    cmd.add_argument("--concurrency", type=int, default=None, help="workflows in flight (16)")
    cmd.set_defaults(command=_bench)

    dev = sub.add_parser("dev", help="the local stack: Temporal dev server and RabbitMQ")
    dev.add_argument("action", choices=["up", "down", "status"])
    dev.set_defaults(command=_dev)
    return parser


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line too (argparse prints the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        from contracts.problems import one_line

        self.exit(exits.BAD_INPUT, f"podium: {one_line(message, 300)} (see `{self.prog} -h`)\n")


def _identifier(text: str) -> str:
    """An order or customer id as the contracts define it (checked before any server is asked)."""
    from pydantic import TypeAdapter, ValidationError

    from contracts.order import Identifier

    try:
        return TypeAdapter(Identifier).validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(
            "an id is 1 to 64 letters, digits, '_' or '-', starting with a letter or digit"
        ) from None


def _codec_server(args: argparse.Namespace, settings: Settings) -> int:
    from workers.codec_server import serve

    serve(settings, port=args.port, host=args.host)
    return exits.OK


def _fail(message: str, code: int) -> int:
    print(f"podium: {message}", file=sys.stderr)
    return code


def _run(coro: Coroutine[Any, Any, int]) -> int:
    """Run a command's coroutine; its errors become one line in `main` (workers/failures.py)."""
    return asyncio.run(coro)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    return _run(_served(settings))


async def _served(settings: Settings) -> int:
    from workers.temporal_worker import serve

    await serve(settings)
    return exits.OK


def _place(args: argparse.Namespace, settings: Settings) -> int:
    from workers.order_input import BadOrder, order_from_dict, order_from_file, order_from_stdin

    try:
        if args.file == "-":
            request = order_from_stdin()
        elif args.file:
            request = order_from_file(args.file)
        else:
            request = order_from_dict(_order_from_flags(args))
    except BadOrder as err:
        return _fail(str(err), exits.BAD_INPUT)
    from workers.commands import place

    return _run(place(settings, request, wait=not args.no_wait))


def _order_from_flags(args: argparse.Namespace) -> dict[str, Any]:
    from workers.order_input import SAMPLE_ADDRESS, BadOrder, parse_item

    if not args.item:
        raise BadOrder("give at least one --item SKU:QTY:PRICE, or --file")
    return {
        "order_id": args.order_id or f"ord-{uuid.uuid4().hex[:12]}",
        "customer_id": args.customer_id,
        "email": args.email,
        "shipping_address": SAMPLE_ADDRESS,
        "items": [parse_item(text) for text in args.item],
        "currency": args.currency,
        "payment_token": args.token,
    }


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from workers.commands import status

    return _run(status(settings, args.order_id))


def _cancel(args: argparse.Namespace, settings: Settings) -> int:
    from workers.commands import cancel

    return _run(cancel(settings, args.order_id))


def _reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from workers.reconcile import reconcile

    return _run(reconcile(settings, dry_run=args.dry_run))


def _consumers(args: argparse.Namespace, settings: Settings) -> int:
    from workers import side_effects

    if args.status:
        return _run(side_effects.show_status(settings, args.names))
    return _run(side_effects.consume(settings, args.names))


def _dlq_list(args: argparse.Namespace, settings: Settings) -> int:
    from workers import dead_letters

    return _run(dead_letters.show_dead_letters(settings, args.consumer))


def _dlq_replay(args: argparse.Namespace, settings: Settings) -> int:
    from workers import dead_letters

    return _run(dead_letters.replay_dead_letters(settings, args.consumer, args.ids))


def _dlq_discard(args: argparse.Namespace, settings: Settings) -> int:
    from workers import dead_letters

    return _run(dead_letters.discard_dead_letters(settings, args.consumer, args.ids))


def _broker_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from workers import dead_letters

    return _run(dead_letters.migrate(settings))


def _analytics(args: argparse.Namespace, settings: Settings) -> int:
    from workers import side_effects

    return _run(side_effects.show_analytics(settings))


def _loyalty(args: argparse.Namespace, settings: Settings) -> int:
    from workers import side_effects

    return _run(side_effects.show_loyalty(settings, args.customer_id))


def _trace(args: argparse.Namespace, settings: Settings) -> int:
    from workers.trace_view import show_trace

    return show_trace(settings, args.order_id)


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from workers.demo import run_demo

    return _run(run_demo(settings))


def _bench(args: argparse.Namespace, settings: Settings) -> int:
    from bench.run import run_bench

    return _run(run_bench(settings, args.orders, concurrency=args.concurrency, quick=args.quick))


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from workers.commands import dev

    return dev(args.action)


if __name__ == "__main__":
    sys.exit(main())
