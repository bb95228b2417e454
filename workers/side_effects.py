"""The side-effect commands of `podium`, printed for a person at a terminal."""

import sys
from datetime import UTC, datetime

from contracts.broker import BrokerMismatch
from workers import exits
from workers.bootstrap import declare_consumer_topology
from workers.consumers_main import (
    analytics_report,
    consumers_status,
    loyalty_points,
    run_consumers,
)
from workers.runtime.settings import Settings


async def consume(settings: Settings, names: list[str]) -> int:
    try:
        await declare_consumer_topology(settings)
        await run_consumers(settings, names or None)
    except ValueError as err:  # an unknown consumer name
        return _fail(str(err), exits.BAD_INPUT)
    except BrokerMismatch as err:
        return _fail(str(err), exits.UNAVAILABLE)
    return exits.OK


async def show_status(settings: Settings, names: list[str]) -> int:
    try:
        statuses = await consumers_status(settings, names or None)
    except ValueError as err:
        return _fail(str(err), exits.BAD_INPUT)
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


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M:%SZ")


async def show_analytics(settings: Settings) -> int:
    report = await analytics_report(settings)
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())) or "none yet"
    print(f"orders by outcome: {outcomes}")
    print(f"{'hour (UTC)':<18} {'sku':<14} {'units':>6} {'revenue':>12}")
    for row in report.sku_hours:
        print(f"{row.hour:<18} {row.sku:<14} {row.units:>6} {row.revenue:>8} {row.currency}")
    return exits.OK


async def show_loyalty(settings: Settings, customer_id: str) -> int:
    points = await loyalty_points(settings, customer_id)
    print(f"{customer_id}: {points} points")
    return exits.OK


def _fail(message: str, code: int) -> int:
    print(f"podium: {message}", file=sys.stderr)
    return code
