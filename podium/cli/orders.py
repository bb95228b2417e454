"""`podium place | status | cancel`: one order, printed for a person at a terminal."""

import argparse
import asyncio
import os
import signal
import threading
import uuid
from typing import TYPE_CHECKING, Any

from podium.cli import exits
from podium.cli.exits import fail, warn
from podium.cli.output import add_json_flag
from podium.cli.parsing import Commands, identifier, seconds
from workers.runtime.settings import Settings

if TYPE_CHECKING:
    from temporalio.client import WorkflowFailureError

    from contracts.order import Confirmation, OrderRequest, OrderResult, OrderStatus
    from podium.cli.progress import Current, ProgressLine
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
    cmd.add_argument(
        "--timeout",
        type=seconds,
        metavar="SECONDS",
        help="stop waiting after this long (exit 5); the order carries on",
    )
    add_json_flag(cmd)
    cmd.set_defaults(command=_place, traced="podium-cli")

    cmd = commands.add_parser("status", help="show an order's state, current step and step history")
    cmd.add_argument("order_id", type=identifier)
    add_json_flag(cmd)
    cmd.set_defaults(
        command=lambda args, settings: asyncio.run(
            status(settings, args.order_id, as_json=args.json)
        )
    )

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
    try:
        return asyncio.run(
            place(settings, request, wait=wait, timeout=args.timeout, as_json=args.json)
        )
    except asyncio.CancelledError:  # Ctrl-C, said already (_on_ctrl_c)
        raise KeyboardInterrupt from None


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


def describe_status(current: "OrderStatus", now: "Current | None" = None) -> str:
    from podium.cli.order_views import dated
    from podium.cli.progress import describe_current

    lines = [f"order {current.order_id}: {current.state} {current.total} {current.currency}"]
    if now is not None and now.step:
        lines.append(f"  now: {describe_current(now)}")
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
    if current.steps:
        lines.append("  steps (local time = UTC):")
    width = min(32, max([16, *(len(step.step) for step in current.steps)]))
    for step in current.steps:
        detail = f" ({step.detail})" if step.detail else ""
        lines.append(f"  {dated(step.at)}  {step.step:<{width}} {step.outcome}{detail}")
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


async def place(
    settings: Settings,
    request: "OrderRequest",
    *,
    wait: "Wait",
    timeout: float | None = None,  # noqa: ASYNC109  (the --timeout flag, seconds)
    as_json: bool = False,
) -> int:
    """Exit codes: OK when confirmed or held for review (with `wait="outcome"`: completed;
    `"started"`: submitted),
    ORDER_NOT_COMPLETED when refused, failed or cancelled, BAD_INPUT when the id is taken,
    STILL_RUNNING when `timeout` ran out first."""
    from temporalio.service import RPCError

    from contracts.order import Confirmation, OrderResult, OrderState
    from podium.cli.order_views import answer_json
    from podium.cli.output import emit
    from podium.cli.progress import ProgressLine, follow
    from podium.client import OrderIdTaken, RunEndedWithoutResult, has_worker, place_order
    from workers.runtime.temporal import connect_temporal

    client = await connect_temporal(settings)
    order_id, link = request.order_id, ui_link(settings, request.order_id)

    async def warn_if_no_worker() -> None:
        try:
            working = await has_worker(client, settings.temporal_namespace, settings.task_queue)
        except RPCError:  # placing the order says what is wrong with the server
            return
        if not working:
            progress.clear()
            warn(
                f"no worker is polling task queue {settings.task_queue}; the order waits "
                "until one starts (`podium worker`)"
            )

    progress = ProgressLine()
    interrupted = _on_ctrl_c(order_id, link, progress)
    # Asked beside the order, not before it: the answer does not wait for the check.
    check = asyncio.create_task(warn_if_no_worker())
    following = None
    if wait != "started":
        following = asyncio.create_task(follow(client, order_id, progress.show))
    limit = asyncio.timeout(timeout)
    try:
        async with limit:
            if wait == "started":
                await place_order(client, request, settings.task_queue, wait="started")
                await check  # its warning matters most when nothing waits for a worker
                if as_json:
                    emit({"order_id": order_id, "submitted": True, "ui_url": link})
                else:
                    print(f"order {order_id} submitted: {link}")
                return exits.OK
            answer: Confirmation | OrderResult
            if wait == "confirmed":
                answer = await place_order(client, request, settings.task_queue)
            else:
                answer = await place_order(client, request, settings.task_queue, wait="outcome")
    except OrderIdTaken as err:
        await _stop(following, progress)
        return fail(str(err), exits.BAD_INPUT)
    except RunEndedWithoutResult as ended:
        await _stop(following, progress)
        if as_json:
            emit({"order_id": order_id, "run_status": ended.status.name, "ui_url": link})
        else:
            print(describe_ended(order_id, ended))
        return exits.ORDER_NOT_COMPLETED
    except TimeoutError:
        if not limit.expired():  # a server's own timeout, not --timeout
            raise
        await _stop(following, progress)
        if as_json:
            emit({"order_id": order_id, "timed_out": True, "ui_url": link})
        warn(f"stopped waiting after {timeout:g} s; {_carries_on(order_id, link)}")
        return exits.STILL_RUNNING
    except asyncio.CancelledError:  # Ctrl-C: only the waiting stops, never the order
        await _stop(following, progress)
        if not interrupted:
            warn(f"stopped waiting; {_carries_on(order_id, link)}")
        raise
    finally:
        if threading.current_thread() is threading.main_thread():
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)
        check.cancel()
        await _stop(following, progress)
    if isinstance(answer, Confirmation):
        held = answer.state == OrderState.AWAITING_REVIEW  # placed; a reviewer decides
        text, done = describe_confirmation(answer), answer.confirmed or held
    else:
        text, done = describe_result(answer), answer.state == OrderState.COMPLETED
    if as_json:
        emit(answer_json(answer, link))
    else:
        print(f"{text}\n  {link}")
    return exits.OK if done else exits.ORDER_NOT_COMPLETED


def _carries_on(order_id: str, link: str) -> str:
    return (
        f"order {order_id} carries on in Temporal if the server took it. Follow it with "
        f"`podium status {order_id}` or {link}; placing it again with --order-id {order_id} "
        "never places it twice"
    )


STOP_FOLLOWING_SECONDS = 2.0
# After Ctrl-C the command ends within this long, whatever it was waiting on.
CTRL_C_EXIT_SECONDS = 5.0


def _on_ctrl_c(order_id: str, link: str, progress: "ProgressLine") -> list[bool]:
    """Ctrl-C: say at once that the order carries on, stop waiting, and exit 130.

    The SDK turns a cancel that lands inside some of its calls into errors it handles itself
    (an update's RPC becomes a timeout it retries), so the cancel alone may never end the
    command: past CTRL_C_EXIT_SECONDS it exits all the same. The order is the server's; no
    state here is lost. Returns a list that holds True once it was pressed."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    pressed: list[bool] = []

    def interrupted() -> None:
        if not pressed:
            progress.clear()
            warn(f"stopped waiting; {_carries_on(order_id, link)}")
        pressed.append(True)
        if main is not None:
            main.cancel()
        loop.call_later(CTRL_C_EXIT_SECONDS, os._exit, 130)

    # Signal handlers belong to the main thread; elsewhere (a command run in a thread) Ctrl-C
    # is the caller's to handle.
    if threading.current_thread() is threading.main_thread():
        loop.add_signal_handler(signal.SIGINT, interrupted)
    return pressed


async def _stop(following: "asyncio.Task[None] | None", progress: "ProgressLine") -> None:
    """End the progress display before anything else is printed."""
    if following is not None and not following.done():
        following.cancel()
        # Bounded: Ctrl-C must end the command even if a look in flight is slow to stop.
        await asyncio.wait({following}, timeout=STOP_FOLLOWING_SECONDS)
    progress.clear()


def describe_ended(order_id: str, ended: "RunEndedWithoutResult") -> str:
    from temporalio.client import WorkflowExecutionStatus

    line = f"order {order_id}: its workflow run ended {ended.status.name}"
    if ended.status == WorkflowExecutionStatus.CANCELED:
        return line
    return f"{line}\n  nothing undid it from inside: `podium reconcile` gives back what it holds"


async def status(settings: Settings, order_id: str, *, as_json: bool = False) -> int:
    from temporalio.client import WorkflowFailureError
    from temporalio.service import RPCError, RPCStatusCode

    from podium.cli.order_views import status_json
    from podium.cli.output import data, emit
    from podium.cli.progress import describe_current, look
    from podium.client import RunEndedWithoutResult, has_worker, last_known_result
    from workers.runtime.temporal import connect_temporal

    client = await connect_temporal(settings)
    link = ui_link(settings, order_id)
    no_history = "  (the step history needs a running worker: `podium worker`)"
    try:
        # A query needs a worker to replay the workflow; the server alone knows the outcome.
        worker = await has_worker(client, settings.temporal_namespace, settings.task_queue)
        seen = await look(client, order_id, query=worker)
        if seen.status is not None:
            if as_json:
                emit(status_json(order_id, seen, link))
            else:
                print(describe_status(seen.status, seen.current))
            return exits.OK
        result = await last_known_result(client, order_id)
    except WorkflowFailureError as err:  # ended without an order result: refused input, say
        kind, message = _failure(err)
        if as_json:
            failure = {"code": kind, "message": message}
            emit(status_json(order_id, seen, link, {"state": "FAILED", "failure": failure}))
        else:
            print(f"order {order_id}: FAILED ({kind}: {message})")
        return exits.OK
    except RunEndedWithoutResult as ended:
        if as_json:
            emit(status_json(order_id, seen, link))
        else:
            print(f"{describe_ended(order_id, ended)}\n{no_history}")
        return exits.OK
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return fail(f"no order {order_id}", exits.BAD_INPUT)
        raise
    if as_json:
        emit(status_json(order_id, seen, link, data(result) if result else {}))
    elif result is None:
        where = describe_current(seen.current)
        print(f"order {order_id}: running; no worker is answering, start `podium worker`")
        if where:  # the server knows the regular activities without a worker
            print(f"  now: {where}")
    else:
        print(f"{describe_result(result)}\n{no_history}")
    return exits.OK


def _failure(err: "WorkflowFailureError") -> tuple[str, str]:
    from temporalio.exceptions import ApplicationError

    from contracts.problems import one_line

    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.type or "ApplicationError", one_line(cause.message, 300)
    return type(cause).__name__, one_line(cause, 300)


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
