"""`podium place | status | cancel`: one order, printed for a person at a terminal."""

import argparse
import asyncio
import uuid
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from podium.cli import exits
from podium.cli.exits import fail, warn
from podium.cli.parsing import Commands, identifier
from workers.runtime.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import Client, WorkflowFailureError

    from contracts.order import Confirmation, OrderRequest, OrderResult, OrderStatus
    from podium.client import RunEndedWithoutResult, Wait


def register(commands: Commands) -> None:
    cmd = commands.add_parser(
        "place", help="place one order and print whether it is confirmed, as soon as it is known"
    )
    cmd.add_argument("--file", help="order as JSON ('-' reads standard input)")
    cmd.add_argument("--order-id", help="default: a new unique id")
    cmd.add_argument("--customer-id", default="cust-demo")
    cmd.add_argument("--email", default="ada@example.com")
    cmd.add_argument("--item", action="append", default=[], metavar="SKU:QTY:PRICE")
    cmd.add_argument("--currency", default="EUR")
    cmd.add_argument("--token", default="tok_visa", help="payment token, e.g. tok_declined")
    waits = cmd.add_mutually_exclusive_group()
    waits.add_argument("--no-wait", action="store_true", help="submit and return at once")
    waits.add_argument(
        "--wait-for-outcome",
        action="store_true",
        help="wait until the outcome's event is published and print the final state",
    )
    cmd.set_defaults(command=_place, traced="podium-cli")

    cmd = commands.add_parser("status", help="show an order's state and step history")
    cmd.add_argument("order_id", type=identifier)
    cmd.set_defaults(command=lambda args, settings: asyncio.run(status(settings, args.order_id)))

    cmd = commands.add_parser("cancel", help="cancel an order that has not been confirmed yet")
    cmd.add_argument("order_id", type=identifier)
    cmd.set_defaults(
        command=lambda args, settings: asyncio.run(cancel(settings, args.order_id)),
        traced="podium-cli",
    )


def _place(args: argparse.Namespace, settings: Settings) -> int:
    from podium.cli.order_input import BadOrder, order_from_dict, order_from_file, order_from_stdin

    try:
        if args.file == "-":
            request = order_from_stdin()
        elif args.file:
            request = order_from_file(args.file)
        else:
            request = order_from_dict(_order_from_flags(args))
    except BadOrder as err:
        return fail(str(err), exits.BAD_INPUT)
    wait: Wait = "started" if args.no_wait else "outcome" if args.wait_for_outcome else "confirmed"
    return asyncio.run(place(settings, request, wait=wait))


def _order_from_flags(args: argparse.Namespace) -> dict[str, Any]:
    from podium.cli.order_input import SAMPLE_ADDRESS, BadOrder, parse_item

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


def ui_link(settings: Settings, order_id: str) -> str:
    from contracts.order import workflow_id_for

    return (
        f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{workflow_id_for(order_id)}"
    )


def describe_result(result: "OrderResult") -> str:
    line = f"order {result.order_id}: {result.state} {result.total} {result.currency}"
    if result.failure:
        line += f" ({result.failure.code}: {result.failure.message})"
    return line


def describe_status(current: "OrderStatus") -> str:
    lines = [f"order {current.order_id}: {current.state} {current.total} {current.currency}"]
    if current.failure:
        lines.append(f"  reason: {current.failure.code}: {current.failure.message}")
    if stuck := current.needs_operator:
        lines.append(
            f"  NEEDS AN OPERATOR: {stuck.compensation} failed {stuck.rounds} rounds, still "
            f"retrying (last error: {stuck.last_error})"
        )
    if review := current.review:
        lines.append(
            f"  AWAITING REVIEW ({review.reason}): approve or reject by "
            f"{review.deadline:%Y-%m-%d %H:%M} UTC with `podium review approve|reject "
            f"{current.order_id} --reviewer NAME --reason TEXT`, else it is rejected"
        )
    for step in current.steps:
        detail = f" ({step.detail})" if step.detail else ""
        lines.append(f"  {step.at:%H:%M:%S.%f} {step.step:<16} {step.outcome}{detail}")
    return "\n".join(lines)


def describe_confirmation(answer: "Confirmation") -> str:
    from contracts.order import OrderState

    if answer.confirmed:
        return f"order {answer.order_id}: confirmed {answer.total} {answer.currency}"
    if answer.state == OrderState.AWAITING_REVIEW:
        return (
            f"order {answer.order_id}: awaiting manual review {answer.total} {answer.currency} "
            "(not charged yet)\n  a reviewer decides with `podium review approve|reject "
            f"{answer.order_id} --reviewer NAME --reason TEXT`; follow it with "
            f"`podium status {answer.order_id}`"
        )
    line = f"order {answer.order_id}: not confirmed {answer.total} {answer.currency}"
    if answer.failure:
        line += f" ({answer.failure.code}: {answer.failure.message})"
    return line


async def place(settings: Settings, request: "OrderRequest", *, wait: "Wait") -> int:
    """Exit codes: OK when confirmed or held for review (with `wait="outcome"`: completed;
    `"started"`: submitted),
    ORDER_NOT_COMPLETED when refused, failed or cancelled, BAD_INPUT when the id is taken."""
    from temporalio.service import RPCError

    from contracts.order import OrderState
    from podium.client import OrderIdTaken, RunEndedWithoutResult, has_worker, place_order
    from workers.runtime.temporal import connect_temporal

    client = await connect_temporal(settings)

    async def warn_if_no_worker() -> None:
        try:
            working = await has_worker(client, settings.temporal_namespace, settings.task_queue)
        except RPCError:  # placing the order says what is wrong with the server
            return
        if not working:
            warn(
                f"no worker is polling task queue {settings.task_queue}; the order waits "
                "until one starts (`podium worker`)"
            )

    # Asked beside the order, not before it: the answer does not wait for the check.
    check = asyncio.create_task(warn_if_no_worker())
    try:
        if wait == "started":
            await place_order(client, request, settings.task_queue, wait="started")
            await check  # its warning matters most when nothing waits for a worker
            print(f"order {request.order_id} submitted: {ui_link(settings, request.order_id)}")
            return exits.OK
        if wait == "confirmed":
            answer = await place_order(client, request, settings.task_queue)
            print(describe_confirmation(answer))
            print(f"  {ui_link(settings, request.order_id)}")
            held = answer.state == OrderState.AWAITING_REVIEW  # placed; a reviewer decides
            return exits.OK if answer.confirmed or held else exits.ORDER_NOT_COMPLETED
        result = await place_order(client, request, settings.task_queue, wait="outcome")
    except OrderIdTaken as err:
        return fail(str(err), exits.BAD_INPUT)
    except RunEndedWithoutResult as ended:
        print(describe_ended(request.order_id, ended))
        return exits.ORDER_NOT_COMPLETED
    except asyncio.CancelledError:  # Ctrl-C: only the waiting stops, never the order
        warn(
            f"stopped waiting; order {request.order_id} carries on in Temporal if the server "
            f"took it. Follow it with `podium status {request.order_id}` or "
            f"{ui_link(settings, request.order_id)}; placing it again with --order-id "
            f"{request.order_id} never places it twice"
        )
        raise
    finally:
        check.cancel()
    print(describe_result(result))
    print(f"  {ui_link(settings, request.order_id)}")
    return exits.OK if result.state == OrderState.COMPLETED else exits.ORDER_NOT_COMPLETED


def describe_ended(order_id: str, ended: "RunEndedWithoutResult") -> str:
    from temporalio.client import WorkflowExecutionStatus

    line = f"order {order_id}: its workflow run ended {ended.status.name}"
    if ended.status == WorkflowExecutionStatus.CANCELED:
        return line
    return f"{line}\n  nothing undid it from inside: `podium reconcile` gives back what it holds"


async def status(settings: Settings, order_id: str) -> int:
    from temporalio.client import WorkflowFailureError
    from temporalio.service import RPCError, RPCStatusCode

    from podium.client import RunEndedWithoutResult, has_worker, last_known_result
    from workers.runtime.temporal import connect_temporal

    client = await connect_temporal(settings)
    try:
        if await has_worker(client, settings.temporal_namespace, settings.task_queue):
            with suppress(_NoWorkerAnswered):
                print(describe_status(await _queried(client, order_id)))
                return exits.OK
        result = await last_known_result(client, order_id)
    except WorkflowFailureError as err:  # ended without an order result: refused input, say
        print(f"order {order_id}: FAILED ({_failure(err)})")
        return exits.OK
    except RunEndedWithoutResult as ended:
        print(describe_ended(order_id, ended))
        print("  (the step history needs a running worker: `podium worker`)")
        return exits.OK
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return fail(f"no order {order_id}", exits.BAD_INPUT)
        raise
    # A query needs a worker to replay the workflow; the server alone knows the outcome.
    if result is None:
        print(f"order {order_id}: running; no worker is answering, start `podium worker`")
    else:
        print(describe_result(result))
        print("  (the step history needs a running worker: `podium worker`)")
    return exits.OK


class _NoWorkerAnswered(Exception):
    pass


def _failure(err: "WorkflowFailureError") -> str:
    from temporalio.exceptions import ApplicationError

    from contracts.problems import one_line

    cause = err.cause
    if isinstance(cause, ApplicationError):
        return one_line(f"{cause.type}: {cause.message}", 300)
    return one_line(f"{type(cause).__name__}: {cause}", 300)


async def _queried(client: "Client", order_id: str) -> "OrderStatus":
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.service import RPCError, RPCStatusCode

    from podium.client import order_status

    try:
        return await order_status(client, order_id)
    except WorkflowQueryFailedError as err:  # e.g. a run refused at its start has no state
        raise _NoWorkerAnswered from err
    except RPCError as err:
        if err.status == RPCStatusCode.FAILED_PRECONDITION:  # the worker went away meanwhile
            raise _NoWorkerAnswered from err
        raise


async def cancel(settings: Settings, order_id: str) -> int:
    from temporalio.service import RPCError, RPCStatusCode

    from podium.client import cancel_order, has_worker
    from workers.runtime.temporal import connect_temporal

    client = await connect_temporal(settings)
    if not await has_worker(client, settings.temporal_namespace, settings.task_queue):
        return fail(
            "no worker is running to accept the cancel; start `podium worker` first",
            exits.UNAVAILABLE,
        )
    try:
        answer = await cancel_order(client, order_id)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return fail(f"no order {order_id}", exits.BAD_INPUT)
        raise
    if not answer.accepted:
        print(f"order {order_id} cannot be cancelled: {answer.reason} (state {answer.state})")
        return exits.ORDER_NOT_COMPLETED
    print(f"order {order_id}: cancellation accepted; compensating")
    return exits.OK
