"""`podium dlq` and `podium broker migrate`, printed for a person at a terminal.

Each prints one line and exits 2 for a wrong consumer name or message id (nothing changed), 3 when
the broker cannot be reached or refuses (what was done before that stays done).
"""

import asyncio
import sys
from collections.abc import Awaitable, Callable

from aio_pika.exceptions import AMQPConnectionError, AMQPError

from consumers.runtime.dlq import UNROUTED, DeadLetterInfo
from workers import exits
from workers.consumers_main import dlq_discard, dlq_list, dlq_replay, migrate_broker
from workers.runtime.settings import Settings

# Connecting fails with an OSError (refused, unreachable) or aiormq's connection errors.
BROKER_DOWN = (OSError, AMQPConnectionError, asyncio.TimeoutError)


async def show_dead_letters(settings: Settings, consumer: str) -> int:
    async def run() -> int:
        letters = await dlq_list(settings, consumer)
        kind = "unrouted event(s)" if consumer == UNROUTED else f"dead letter(s) for {consumer}"
        print(f"{len(letters)} {kind}")
        for letter in letters:
            print(_describe(letter))
        return exits.OK

    return await _one_line_errors(run)


async def replay_dead_letters(settings: Settings, consumer: str, ids: list[str] | None) -> int:
    async def run() -> int:
        moved = await dlq_replay(settings, consumer, ids)
        where = "the event exchange" if consumer == UNROUTED else f"{consumer}'s queue"
        print(f"{moved} message(s) moved back to {where}")
        return exits.OK

    return await _one_line_errors(run)


async def discard_dead_letters(settings: Settings, consumer: str, ids: list[str] | None) -> int:
    async def run() -> int:
        removed = await dlq_discard(settings, consumer, ids)
        print(f"{len(removed)} message(s) discarded from {consumer}")
        for letter in removed:
            print(_describe(letter))
        return exits.OK

    return await _one_line_errors(run)


async def migrate(settings: Settings) -> int:
    async def run() -> int:
        done = await migrate_broker(settings)
        if done.exchange_redeclared:
            print(f"exchange {settings.exchange}: declared again with its alternate exchange")
        for queue, kept in done.queues.items():
            print(f"queue {queue}: declared again, {kept} message(s) kept")
        if not done.exchange_redeclared and not done.queues:
            print("the broker already matches this version of Podium")
        return exits.OK

    return await _one_line_errors(run)


async def _one_line_errors(run: Callable[[], Awaitable[int]]) -> int:
    try:
        return await run()
    except ValueError as err:  # an unknown consumer, queue or message id
        return _fail(str(err), exits.BAD_INPUT)
    except BROKER_DOWN:
        raise  # one line from the command line's error mapping (workers/failures.py)
    except AMQPError as err:  # e.g. a replayed copy returned or refused by its target queue
        return _fail(f"the broker refused: {_line(err)}", exits.UNAVAILABLE)
    except RuntimeError as err:  # a queue the migration must rebuild is in use
        return _fail(str(err), exits.UNAVAILABLE)


def _line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300]


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
