"""`podium review list | approve | reject`: orders held for manual review, and the decision.

Exit codes: OK when listed or when the decision was taken; ORDER_NOT_COMPLETED when the order
is not awaiting review (never flagged, already decided, finished); BAD_INPUT for a bad
reviewer or reason, or no such order; UNAVAILABLE when no worker runs to take the decision.
"""

import argparse
import asyncio
from typing import TYPE_CHECKING

from podium.cli import exits
from podium.cli.exits import fail
from podium.cli.parsing import Commands, identifier
from workers.runtime.settings import Settings

if TYPE_CHECKING:
    from podium.review import AwaitingReview


def register(commands: Commands) -> None:
    review = commands.add_parser(
        "review", help="orders held for manual review: list them, approve or reject one"
    )
    actions = review.add_subparsers(metavar="ACTION", required=True)
    cmd = actions.add_parser(
        "list", help="orders awaiting review on PODIUM_TASK_QUEUE, oldest first"
    )
    cmd.add_argument("--limit", type=_limit, default=50, help="at most this many (1 to 200)")
    cmd.set_defaults(command=lambda args, settings: asyncio.run(list_(settings, args.limit)))
    for action, verb in (("approve", "charge and complete it"), ("reject", "undo it")):
        cmd = actions.add_parser(action, help=f"{action} an order awaiting review: {verb}")
        cmd.add_argument("order_id", type=identifier)
        cmd.add_argument("--reviewer", required=True, help="who decides (name or e-mail)")
        cmd.add_argument("--reason", required=True, help="why, in one line (up to 500 chars)")
        cmd.set_defaults(command=_decide, action=action, traced="podium-cli")


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 200:
        raise argparse.ArgumentTypeError("a whole number from 1 to 200")
    return value


def _decide(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(
        decide(settings, args.action, args.order_id, reviewer=args.reviewer, reason=args.reason)
    )


async def decide(
    settings: Settings, action: str, order_id: str, *, reviewer: str, reason: str
) -> int:
    from pydantic import ValidationError
    from temporalio.service import RPCError, RPCStatusCode

    from contracts.problems import describe
    from contracts.review import ReviewDecision
    from podium.client import has_worker
    from podium.review import ReviewRefused, approve_order, is_running, reject_order
    from workers.runtime.temporal import connect_temporal

    try:
        ReviewDecision(reviewer=reviewer, reason=reason)  # refused before any server is asked
    except ValidationError as err:
        return fail(describe(err, "review decision"), exits.BAD_INPUT)
    client = await connect_temporal(settings)
    try:
        running = await is_running(client, order_id)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return fail(f"no order {order_id}", exits.BAD_INPUT)
        raise
    if not running:
        return fail(
            f"cannot {action} order {order_id}: it is already finished "
            f"(`podium status {order_id}` tells how it ended)",
            exits.ORDER_NOT_COMPLETED,
        )
    if not await has_worker(client, settings.temporal_namespace, settings.task_queue):
        return fail(
            "no worker is running to take the decision; start `podium worker` first",
            exits.UNAVAILABLE,
        )
    decide_order = approve_order if action == "approve" else reject_order
    try:
        await decide_order(client, order_id, reviewer=reviewer, reason=reason)
    except ReviewRefused as err:
        return fail(f"cannot {action} order {order_id}: {err}", exits.ORDER_NOT_COMPLETED)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return fail(f"no order {order_id}", exits.BAD_INPUT)
        raise
    if action == "approve":
        done, goes_on = "approved", "it goes on to its charge"
    else:
        done, goes_on = "rejected", "it is being undone"
    print(
        f"order {order_id}: {done} by {reviewer}; {goes_on}. "
        f"Follow it with `podium status {order_id}`"
    )
    return exits.OK


async def list_(settings: Settings, limit: int) -> int:
    from podium.client import has_worker
    from podium.review import orders_awaiting_review, with_deadlines
    from workers.runtime.temporal import connect_temporal

    client = await connect_temporal(settings)
    waiting = await orders_awaiting_review(client, settings.task_queue, limit)
    if not waiting:
        print("no order is awaiting review")
        return exits.OK
    if await has_worker(client, settings.temporal_namespace, settings.task_queue):
        waiting = await with_deadlines(client, waiting)
    print(f"{len(waiting)} order(s) awaiting review, oldest first:")
    for order in waiting:
        print(f"  {describe_waiting(order)}")
    print("decide with `podium review approve|reject ORDER --reviewer NAME --reason TEXT`")
    return exits.OK


def describe_waiting(order: "AwaitingReview") -> str:
    total = f"{order.total} {order.currency}" if order.total is not None else "?"
    since = f"placed {order.since:%Y-%m-%d %H:%M} UTC" if order.since else ""
    by = f", decide by {order.deadline:%Y-%m-%d %H:%M} UTC" if order.deadline else ""
    return f"{order.order_id:<24} {total:>14}  {order.customer_id:<16} {since}{by}"
