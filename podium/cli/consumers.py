"""`podium consumers [--status]`, `podium analytics`, `podium loyalty`: the side-effect
consumers and the read models they keep, printed for a person at a terminal."""

import argparse
import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from podium.cli import exits
from podium.cli.exits import fail
from podium.cli.output import add_json_flag, emit, utc
from podium.cli.parsing import Commands, identifier
from workers.runtime.settings import Settings

if TYPE_CHECKING:
    from consumers.analytics import AnalyticsReport
    from consumers.runtime.status import ConsumerStatus

# The broker's answers for `--status`, all queues together; a stuck broker ends in one line.
STATUS_TIMEOUT_SECONDS = 30


def register(commands: Commands) -> None:
    cmd = commands.add_parser("consumers", help="run side-effect consumers (all, or those named)")
    cmd.add_argument("names", nargs="*", metavar="NAME", help="notifications, analytics, loyalty")
    cmd.add_argument(
        "--status",
        action="store_true",
        help="show queue, retry and dead-letter depths and the breaker state of the consumers"
        " running on this host (as their processes last reported it), then exit",
    )
    cmd.add_argument("--json", action="store_true", help="with --status: print one JSON document")
    cmd.set_defaults(command=_consumers, traced="podium-consumers", log_off_loop=True)

    cmd = commands.add_parser(
        "analytics", help="revenue and units per SKU and hour, orders by outcome"
    )
    add_json_flag(cmd)
    cmd.set_defaults(
        command=lambda args, settings: asyncio.run(show_analytics(settings, as_json=args.json))
    )

    cmd = commands.add_parser("loyalty", help="a customer's loyalty points")
    cmd.add_argument("customer_id", type=identifier)
    add_json_flag(cmd)
    cmd.set_defaults(
        command=lambda args, settings: asyncio.run(
            show_loyalty(settings, args.customer_id, as_json=args.json)
        )
    )


def _consumers(args: argparse.Namespace, settings: Settings) -> int:
    if args.status:
        return asyncio.run(show_status(settings, args.names, as_json=args.json))
    if args.json:
        return fail("--json goes with --status", exits.BAD_INPUT)
    return asyncio.run(consume(settings, args.names))


async def consume(settings: Settings, names: list[str]) -> int:
    from adapters.rabbitmq import BrokerMismatch
    from workers.bootstrap import declare_consumer_topology
    from workers.consumer_process import serve

    try:
        await declare_consumer_topology(settings)
        await serve(settings, names or None)
    except ValueError as err:  # an unknown consumer name
        return fail(str(err), exits.BAD_INPUT)
    except BrokerMismatch as err:
        return fail(str(err), exits.UNAVAILABLE)
    return exits.OK


async def show_status(settings: Settings, names: list[str], *, as_json: bool = False) -> int:
    from consumers.runtime.status import consumer_statuses
    from workers.bootstrap import registered, runtime_options

    try:
        chosen = [c.name for c in registered(settings, names or None)]
    except ValueError as err:
        return fail(str(err), exits.BAD_INPUT)
    async with asyncio.timeout(STATUS_TIMEOUT_SECONDS):
        statuses = await consumer_statuses(runtime_options(settings), chosen)
    if as_json:
        emit({"consumers": [_status_json(s) for s in statuses]})
        return exits.OK
    print(f"{'consumer':<16} {'queued':>7} {'retrying':>9} {'dead':>6}  breaker (this host)")
    for s in statuses:
        depths = [_count(n) for n in (s.queued, s.retrying, s.dead)]
        running = [p for p in s.processes if p.alive]
        if running:
            breakers = ", ".join(
                f"{p.breaker} since {_time(p.since)} (pid {p.pid})" for p in running
            )
        else:
            breakers = "not running here"
        stale = len(s.processes) - len(running)
        if stale:
            breakers += f"; {stale} stale report(s) of stopped processes"
        print(f"{s.name:<16} {depths[0]:>7} {depths[1]:>9} {depths[2]:>6}  {breakers}")
    return exits.OK


def _status_json(status: "ConsumerStatus") -> dict[str, object]:
    return {
        "name": status.name,
        "queued": status.queued,
        "retrying": status.retrying,
        "dead": status.dead,
        "processes": [
            {
                "pid": p.pid,
                "breaker": p.breaker,
                "failures": p.failures,
                "since": utc(p.since),
                "alive": p.alive,
            }
            for p in status.processes
        ],
    }


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M:%SZ")


async def analytics_report(settings: Settings) -> "AnalyticsReport":
    from consumers import analytics
    from workers.bootstrap import consumer_stores

    store = (await consumer_stores(settings, [analytics.NAME]))[analytics.NAME]
    return await asyncio.to_thread(analytics.report, store)


async def loyalty_points(settings: Settings, customer_id: str) -> int:
    from consumers import loyalty
    from workers.bootstrap import consumer_stores

    store = (await consumer_stores(settings, [loyalty.NAME]))[loyalty.NAME]
    return await asyncio.to_thread(loyalty.points, store, customer_id)


async def show_analytics(settings: Settings, *, as_json: bool = False) -> int:
    report = await analytics_report(settings)
    if as_json:
        rows = [
            {**row.__dict__, "revenue": str(row.revenue)}  # money stays a decimal string
            for row in report.sku_hours
        ]
        emit({"outcomes": dict(sorted(report.outcomes.items())), "sku_hours": rows})
        return exits.OK
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())) or "none yet"
    print(f"orders by outcome: {outcomes}")
    print(f"{'hour (UTC)':<18} {'sku':<14} {'units':>6} {'revenue':>12}")
    for row in report.sku_hours:
        print(f"{row.hour:<18} {row.sku:<14} {row.units:>6} {row.revenue:>8} {row.currency}")
    return exits.OK


async def show_loyalty(settings: Settings, customer_id: str, *, as_json: bool = False) -> int:
    points = await loyalty_points(settings, customer_id)
    if as_json:
        emit({"customer_id": customer_id, "points": points})
        return exits.OK
    print(f"{customer_id}: {points} points")
    return exits.OK
