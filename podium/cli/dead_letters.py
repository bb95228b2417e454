"""`podium dlq list | replay | discard` and `podium broker migrate`, printed for a person.

Each prints one line and exits 2 for a wrong consumer name or message id (nothing changed), 3 when
the broker cannot be reached or refuses (what was done before that stays done).
"""

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from podium.cli import exits
from podium.cli.exits import fail
from podium.cli.output import add_json_flag, emit
from podium.cli.parsing import Commands
from workers.runtime.settings import Settings

if TYPE_CHECKING:
    from consumers.runtime.dlq import DeadLetterInfo
    from consumers.runtime.options import RuntimeOptions


def register(commands: Commands) -> None:
    dlq = commands.add_parser(
        "dlq", help="inspect, replay or discard dead letters (a consumer's, or `unrouted`)"
    )
    actions = dlq.add_subparsers(metavar="ACTION", required=True)
    cmd = actions.add_parser("list", help="list dead letters (they stay in the queue)")
    cmd.add_argument("consumer", help="a consumer's name, or `unrouted`")
    add_json_flag(cmd)
    cmd.set_defaults(
        command=lambda args, settings: asyncio.run(
            show_dead_letters(settings, args.consumer, as_json=args.json)
        )
    )
    cmd = actions.add_parser("replay", help="move dead letters back to the consumer's queue")
    cmd.add_argument("consumer", help="a consumer's name, or `unrouted`")
    cmd.add_argument("--id", action="append", dest="ids", metavar="MESSAGE_ID")
    cmd.set_defaults(command=_replay)
    cmd = actions.add_parser("discard", help="delete dead letters for good, printing each")
    cmd.add_argument("consumer", help="a consumer's name, or `unrouted`")
    which = cmd.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", action="append", dest="ids", metavar="MESSAGE_ID")
    which.add_argument("--all", action="store_true")
    cmd.set_defaults(command=_discard)

    broker = commands.add_parser("broker", help="maintain the broker's exchanges and queues")
    actions = broker.add_subparsers(metavar="ACTION", required=True)
    cmd = actions.add_parser(
        "migrate", help="declare again what an older Podium declared otherwise, keeping messages"
    )
    cmd.set_defaults(command=lambda args, settings: asyncio.run(migrate(settings)))


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(replay_dead_letters(settings, args.consumer, args.ids))


def _discard(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(discard_dead_letters(settings, args.consumer, args.ids))


def _source(settings: Settings, name: str) -> "RuntimeOptions":
    """The runtime's options, once `name` is known to be a consumer or `unrouted`
    (ValueError otherwise)."""
    from consumers.runtime.dlq import UNROUTED
    from workers.bootstrap import registered, runtime_options

    if name != UNROUTED:
        try:
            registered(settings, [name])
        except ValueError as err:
            raise ValueError(f"{err}, or {UNROUTED}") from err
    return runtime_options(settings)


async def show_dead_letters(settings: Settings, consumer: str, *, as_json: bool = False) -> int:
    from consumers.runtime.dlq import UNROUTED, list_dead_letters

    async def run() -> int:
        letters = await list_dead_letters(_source(settings, consumer), consumer)
        if as_json:
            messages = [_json(letter) for letter in letters]
            emit({"consumer": consumer, "count": len(letters), "messages": messages})
            return exits.OK
        kind = "unrouted event(s)" if consumer == UNROUTED else f"dead letter(s) for {consumer}"
        print(f"{len(letters)} {kind}")
        for letter in letters:
            print(_describe(letter))
        return exits.OK

    return await _one_line_errors(run)


async def replay_dead_letters(settings: Settings, consumer: str, ids: list[str] | None) -> int:
    from consumers.runtime.dlq import UNROUTED, replay

    async def run() -> int:
        moved = await replay(_source(settings, consumer), consumer, ids)
        where = "the event exchange" if consumer == UNROUTED else f"{consumer}'s queue"
        print(f"{moved} message(s) moved back to {where}")
        return exits.OK

    return await _one_line_errors(run)


async def discard_dead_letters(settings: Settings, consumer: str, ids: list[str] | None) -> int:
    from consumers.runtime.dlq import discard

    async def run() -> int:
        removed = await discard(_source(settings, consumer), consumer, ids)
        print(f"{len(removed)} message(s) discarded from {consumer}")
        for letter in removed:
            print(_describe(letter))
        return exits.OK

    return await _one_line_errors(run)


async def migrate(settings: Settings) -> int:
    """Declare today's topology over one an older Podium declared, keeping every message."""
    from consumers.runtime import migrate
    from workers.bootstrap import registered, runtime_options

    async def run() -> int:
        done = await migrate.migrate(runtime_options(settings), registered(settings))
        if done.exchange_redeclared:
            print(f"exchange {settings.exchange}: declared again with its alternate exchange")
        for queue, kept in done.queues.items():
            print(f"queue {queue}: declared again, {kept} message(s) kept")
        if not done.exchange_redeclared and not done.queues:
            print("the broker already matches this version of Podium")
        return exits.OK

    return await _one_line_errors(run)


async def _one_line_errors(run: Callable[[], Awaitable[int]]) -> int:
    from aio_pika.exceptions import AMQPConnectionError, AMQPError

    try:
        return await run()
    except ValueError as err:  # an unknown consumer, queue or message id
        return fail(str(err), exits.BAD_INPUT)
    # Connecting fails with an OSError (refused, unreachable) or aiormq's connection errors.
    except (TimeoutError, OSError, AMQPConnectionError):
        raise  # one line from the command line's error mapping (podium/cli/failures.py)
    except AMQPError as err:  # e.g. a replayed copy returned or refused by its target queue
        return fail(f"the broker refused: {_line(err)}", exits.UNAVAILABLE)
    except RuntimeError as err:  # a queue the migration must rebuild is in use
        return fail(str(err), exits.UNAVAILABLE)


def _line(err: BaseException) -> str:
    return " ".join(str(err).split())[:300]


def _json(letter: "DeadLetterInfo") -> dict[str, object]:
    return {
        "message_id": letter.message_id,
        "routing_key": letter.routing_key,
        "attempts": letter.attempts,
        "dead_lettered_at": letter.dead_lettered_at,
        "reason": letter.reason[:500],
        "body_preview": letter.body_preview.decode(errors="replace"),
    }


def _describe(letter: "DeadLetterInfo") -> str:
    # Bodies and headers come from outside: shown escaped, never as raw terminal text.
    preview = ascii(letter.body_preview.decode(errors="replace"))[1:-1]
    reason = ascii(letter.reason[:500])[1:-1]
    return (
        f"  {ascii(letter.message_id or '(no id)')[1:-1]}  {ascii(letter.routing_key)[1:-1]}"
        f"  attempts {letter.attempts}  at {ascii(letter.dead_lettered_at or '?')[1:-1]}"
        f"\n    reason: {reason}\n    {preview}"
    )
