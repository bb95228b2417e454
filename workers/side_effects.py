"""The side-effect commands of `podium`, printed for a person at a terminal."""

import asyncio
import sys

from aio_pika.exceptions import AMQPConnectionError

from consumers.dlq import UNROUTED, DeadLetterInfo
from contracts.broker import BrokerMismatch
from workers import exits
from workers.consumers_main import (
    analytics_report,
    declare_consumer_topology,
    dlq_discard,
    dlq_list,
    dlq_replay,
    loyalty_points,
    migrate_broker,
    run_consumers,
)
from workers.runtime.settings import Settings

# Connecting fails with an OSError (refused, unreachable) or aiormq's connection errors.
BROKER_DOWN = (OSError, AMQPConnectionError, asyncio.TimeoutError)


async def consume(settings: Settings, names: list[str]) -> int:
    try:
        await declare_consumer_topology(settings)
        await run_consumers(settings, names or None)
    except ValueError as err:  # an unknown consumer name
        return _fail(str(err), exits.BAD_INPUT)
    except BrokerMismatch as err:
        return _fail(str(err), exits.UNAVAILABLE)
    return exits.OK


async def show_dead_letters(settings: Settings, consumer: str) -> int:
    try:
        letters = await dlq_list(settings, consumer)
    except ValueError as err:  # an unknown consumer, or its queue was never declared
        return _fail(str(err), exits.BAD_INPUT)
    except BROKER_DOWN as err:
        return _fail(f"cannot reach the broker: {err}", exits.UNAVAILABLE)
    kind = "unrouted event(s)" if consumer == UNROUTED else f"dead letter(s) for {consumer}"
    print(f"{len(letters)} {kind}")
    for letter in letters:
        print(_describe(letter))
    return exits.OK


async def replay_dead_letters(settings: Settings, consumer: str, ids: list[str] | None) -> int:
    try:
        moved = await dlq_replay(settings, consumer, ids)
    except ValueError as err:  # an unknown consumer or message id: nothing was moved
        return _fail(str(err), exits.BAD_INPUT)
    except BROKER_DOWN as err:
        return _fail(f"cannot reach the broker: {err}", exits.UNAVAILABLE)
    where = "the event exchange" if consumer == UNROUTED else f"{consumer}'s queue"
    print(f"{moved} message(s) moved back to {where}")
    return exits.OK


async def discard_dead_letters(settings: Settings, consumer: str, ids: list[str] | None) -> int:
    try:
        removed = await dlq_discard(settings, consumer, ids)
    except ValueError as err:  # an unknown consumer or message id: nothing was removed
        return _fail(str(err), exits.BAD_INPUT)
    except BROKER_DOWN as err:
        return _fail(f"cannot reach the broker: {err}", exits.UNAVAILABLE)
    print(f"{len(removed)} message(s) discarded from {consumer}")
    for letter in removed:
        print(_describe(letter))
    return exits.OK


async def migrate(settings: Settings) -> int:
    try:
        done = await migrate_broker(settings)
    except BROKER_DOWN as err:
        return _fail(f"cannot reach the broker: {err}", exits.UNAVAILABLE)
    except RuntimeError as err:  # a queue to rebuild is in use
        return _fail(str(err), exits.UNAVAILABLE)
    if done.exchange_redeclared:
        print(f"exchange {settings.exchange}: declared again with its alternate exchange")
    for queue, kept in done.queues.items():
        print(f"queue {queue}: declared again, {kept} message(s) kept")
    if not done.exchange_redeclared and not done.queues:
        print("the broker already matches this version of Podium")
    return exits.OK


def _describe(letter: DeadLetterInfo) -> str:
    # Bodies and headers come from outside: shown escaped, never as raw terminal text.
    preview = ascii(letter.body_preview.decode(errors="replace"))[1:-1]
    reason = ascii(letter.reason[:500])[1:-1]
    return (
        f"  {ascii(letter.message_id or '(no id)')[1:-1]}  {ascii(letter.routing_key)[1:-1]}"
        f"  attempts {letter.attempts}  at {ascii(letter.dead_lettered_at or '?')[1:-1]}"
        f"\n    reason: {reason}\n    {preview}"
    )


def _fail(message: str, code: int) -> int:
    print(f"podium: {message}", file=sys.stderr)
    return code


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
