"""What the client commands do, printed for a person at a terminal."""

import asyncio
import sys
from contextlib import suppress

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowQueryFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from contracts.order import OrderRequest, OrderResult, OrderState, OrderStatus
from contracts.problems import one_line
from podium.client import (
    OrderIdTaken,
    RunEndedWithoutResult,
    cancel_order,
    has_worker,
    last_known_result,
    order_status,
    place_order,
)
from workers import exits
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal


def ui_link(settings: Settings, order_id: str) -> str:
    return (
        f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}"
        f"/workflows/order-{order_id}"
    )


def describe_result(result: OrderResult) -> str:
    line = f"order {result.order_id}: {result.state} {result.total} {result.currency}"
    if result.failure:
        line += f" ({result.failure.code}: {result.failure.message})"
    return line


async def place(settings: Settings, request: OrderRequest, *, wait: bool) -> int:
    client = await connect_temporal(settings)
    try:
        handle = await place_order(client, request, settings.task_queue, wait=False)
    except OrderIdTaken as err:
        print(f"podium: {err}", file=sys.stderr)
        return exits.BAD_INPUT
    except asyncio.CancelledError:  # Ctrl-C mid-submit: the server may or may not have it
        print(
            f"podium: interrupted while submitting order {request.order_id}; "
            f"`podium status {request.order_id}` tells whether it was placed, and placing it "
            f"again with --order-id {request.order_id} never places it twice",
            file=sys.stderr,
        )
        raise
    if not await has_worker(client, settings.temporal_namespace, settings.task_queue):
        print(
            f"podium: no worker is polling task queue {settings.task_queue}; the order waits "
            "until one starts (`podium worker`)",
            file=sys.stderr,
        )
    if not wait:
        print(f"order {request.order_id} submitted: {ui_link(settings, request.order_id)}")
        return exits.OK
    try:
        result = await handle.result()
    except asyncio.CancelledError:  # Ctrl-C: only the waiting stops, never the order
        print(
            f"podium: stopped waiting; order {request.order_id} carries on in Temporal. Follow "
            f"it with `podium status {request.order_id}` or {ui_link(settings, request.order_id)}",
            file=sys.stderr,
        )
        raise
    print(describe_result(result))
    print(f"  {ui_link(settings, request.order_id)}")
    return exits.OK if result.state == OrderState.COMPLETED else exits.ORDER_NOT_COMPLETED


async def status(settings: Settings, order_id: str) -> int:
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
        print(f"order {order_id}: its workflow run ended {ended.status.name}")
        if ended.status != WorkflowExecutionStatus.CANCELED:
            print("  nothing undid it from inside: `podium reconcile` gives back what it holds")
        print("  (the step history needs a running worker: `podium worker`)")
        return exits.OK
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            print(f"podium: no order {order_id}", file=sys.stderr)
            return exits.BAD_INPUT
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


def _failure(err: WorkflowFailureError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return one_line(f"{cause.type}: {cause.message}", 300)
    return one_line(f"{type(cause).__name__}: {cause}", 300)


async def _queried(client: Client, order_id: str) -> OrderStatus:
    try:
        return await order_status(client, order_id)
    except WorkflowQueryFailedError as err:  # e.g. a run refused at its start has no state
        raise _NoWorkerAnswered from err
    except RPCError as err:
        if err.status == RPCStatusCode.FAILED_PRECONDITION:  # the worker went away meanwhile
            raise _NoWorkerAnswered from err
        raise


def describe_status(current: OrderStatus) -> str:
    lines = [f"order {current.order_id}: {current.state} {current.total} {current.currency}"]
    if current.failure:
        lines.append(f"  reason: {current.failure.code}: {current.failure.message}")
    if stuck := current.needs_operator:
        lines.append(
            f"  NEEDS AN OPERATOR: {stuck.compensation} failed {stuck.rounds} rounds, still "
            f"retrying (last error: {stuck.last_error})"
        )
    for step in current.steps:
        detail = f" ({step.detail})" if step.detail else ""
        lines.append(f"  {step.at:%H:%M:%S.%f} {step.step:<16} {step.outcome}{detail}")
    return "\n".join(lines)


async def cancel(settings: Settings, order_id: str) -> int:
    client = await connect_temporal(settings)
    if not await has_worker(client, settings.temporal_namespace, settings.task_queue):
        print(
            "podium: no worker is running to accept the cancel; start `podium worker` first",
            file=sys.stderr,
        )
        return exits.UNAVAILABLE
    try:
        answer = await cancel_order(client, order_id)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            print(f"podium: no order {order_id}", file=sys.stderr)
            return exits.BAD_INPUT
        raise
    if not answer.accepted:
        print(f"order {order_id} cannot be cancelled: {answer.reason} (state {answer.state})")
        return exits.ORDER_NOT_COMPLETED
    print(f"order {order_id}: cancellation accepted; compensating")
    return exits.OK


def dev(action: str) -> int:
    from contracts.broker import BrokerMismatch
    from infra.stack import LocalStack, StackConfig, StackError
    from workers.bootstrap import declare_consumer_topology

    stack = LocalStack(StackConfig())
    try:
        if action == "up":
            stack.up()
            # Declared now, events are routable (and wait in the consumers' queues) even while
            # no consumer runs. Settings are read again: `up` has just written stack.env.
            asyncio.run(declare_consumer_topology(Settings()))
        elif action == "down":
            stack.down()
    except (StackError, BrokerMismatch) as err:
        print(f"podium: {one_line(err)}", file=sys.stderr)
        return exits.UNAVAILABLE
    print(stack.status().describe())
    return exits.OK
