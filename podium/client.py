"""Podium's client API: place an order, follow it, cancel it, from any Python script.

    client = await podium.connect()
    answer = await podium.place_order(client, podium.OrderRequest.model_validate(data))
    print(answer.confirmed, answer.total, answer.currency)

Every function takes a Temporal client (from `connect`) and the contracts' types. An order is
one workflow, `order-<order_id>`: placing the same order again returns the same run.
"""

import asyncio
import hashlib
from contextlib import suppress
from typing import Any, Literal, overload

from opentelemetry import trace
from pydantic import ValidationError
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, CancelledError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from contracts.order import (
    CancelResult,
    Confirmation,
    OrderRequest,
    OrderResult,
    OrderState,
    OrderStatus,
    order_id_from_workflow_id,
    workflow_id_for,
)
from workers.runtime.settings import DEFAULT_TASK_QUEUE, Settings
from workers.runtime.temporal import connect_temporal
from workflows.order import CANCELLED_THROUGH_TEMPORAL, ORDER_ID_TAKEN, OrderWorkflow
from workflows.outcome import ORDER_CANCELLED, ORDER_FAILED, OUTCOME_MEMO
from workflows.summaries import order_details, order_summary

OrderHandle = WorkflowHandle[OrderWorkflow, OrderResult]
tracer = trace.get_tracer(__name__)


class OrderIdTaken(Exception):
    """An order with this id exists and was placed with different contents."""


async def connect(settings: Settings | None = None) -> Client:
    """A Temporal client for Podium (settings: `PODIUM_*` variables and `.env` by default).

    client = await podium.connect()
    status = await podium.order_status(client, "ord-42")
    print(status.state)
    """
    return await connect_temporal(settings or Settings())


Wait = Literal["confirmed", "outcome", "started"]


@overload
async def place_order(
    client: Client,
    request: OrderRequest,
    task_queue: str = ...,
    *,
    wait: Literal["confirmed"] = ...,
) -> Confirmation: ...


@overload
async def place_order(
    client: Client, request: OrderRequest, task_queue: str = ..., *, wait: Literal["outcome"]
) -> OrderResult: ...


@overload
async def place_order(
    client: Client, request: OrderRequest, task_queue: str = ..., *, wait: Literal["started"]
) -> OrderHandle: ...


async def place_order(
    client: Client,
    request: OrderRequest,
    task_queue: str = DEFAULT_TASK_QUEUE,
    *,
    wait: Wait = "confirmed",
) -> Confirmation | OrderResult | OrderHandle:
    """Place the order and answer once it is confirmed or refused (the customer's answer).

        request = podium.OrderRequest.model_validate_json(Path("order.json").read_text())
        answer = await podium.place_order(client, request)
        print(answer.confirmed, answer.failure)  # failure: why not, when not confirmed

    The answer comes as soon as the pivot is durable, while the workflow goes on to publish
    the outcome's event. `wait="outcome"` waits for that too and returns the `OrderResult`
    (COMPLETED, FAILED or CANCELLED); `wait="started"` returns the run's handle at once.

    Placing the same order again answers from the existing run, running or finished, and never
    charges twice; the same id with other contents raises OrderIdTaken, and an order whose run
    an operator terminated (or that timed out) raises RunEndedWithoutResult. With no worker running
    the call waits until one starts: bound it with `asyncio.timeout`. `task_queue` is the one
    the workers poll (`PODIUM_TASK_QUEUE`).
    """
    # The order's trace starts here; it carries ids only, never email, address or token.
    with tracer.start_as_current_span(
        "order.place",
        attributes={"podium.order_id": request.order_id, "podium.customer_id": request.customer_id},
    ):
        if wait == "confirmed":
            return await _confirmed(client, request, task_queue)
        handle = await _start(client, request, task_queue)
    return await outcome(handle) if wait == "outcome" else handle


def _start_options(request: OrderRequest, task_queue: str) -> dict[str, Any]:
    # REJECT_DUPLICATE: an order's id names one run for good; a finished order is never started
    # again, whatever ended it.
    return {
        "id": request.workflow_id,
        "task_queue": task_queue,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "memo": {"fingerprint": fingerprint(request), "summary": summary(request)},
        "static_summary": order_summary(request),
        "static_details": order_details(request),
    }


async def _start(client: Client, request: OrderRequest, task_queue: str) -> OrderHandle:
    try:
        return await client.start_workflow(
            OrderWorkflow.run,
            request,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            **_start_options(request, task_queue),
        )
    except WorkflowAlreadyStartedError:
        return await _existing(client, request)


async def _existing(client: Client, request: OrderRequest) -> OrderHandle:
    """The run that holds the order's id, if it was placed with these very contents."""
    existing = await order_handle(client, request.order_id).describe()
    handle = client.get_workflow_handle_for(OrderWorkflow.run, existing.id, run_id=existing.run_id)
    placed = (await existing.memo()).get("fingerprint")
    if placed is None:  # started by a client we did not write (the `temporal` CLI): no memo
        placed = await _input_fingerprint(client, handle)
    if placed != fingerprint(request):
        raise OrderIdTaken(f"order {request.order_id} was already placed with different contents")
    return handle


async def _input_fingerprint(client: Client, handle: OrderHandle) -> str | None:
    """The fingerprint of the request the run was started with, None when it holds none."""
    async for event in handle.fetch_history_events():
        payloads = event.workflow_execution_started_event_attributes.input.payloads
        try:
            [started] = await client.data_converter.decode(payloads, [OrderRequest])
        except (ApplicationError, ValueError):  # not one order request (e.g. its undo's run)
            return None
        return fingerprint(started)
    return None


async def _confirmed(client: Client, request: OrderRequest, task_queue: str) -> Confirmation:
    """Start the run and send it the confirmation update in one request (update-with-start).

    A running order (USE_EXISTING) gets the update, whose validator refuses other contents
    inside the run itself; a finished one cannot be started again, so it answers from its
    result. The update's id derives from the contents: placing the same order again, or the
    SDK re-sending while no worker answers, joins the same update instead of adding one.
    """
    while True:
        start = WithStartWorkflowOperation(
            OrderWorkflow.run,
            request,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            **_start_options(request, task_queue),
        )
        try:
            return await client.execute_update_with_start_workflow(
                OrderWorkflow.confirmation,
                request,
                start_workflow_operation=start,
                id=f"confirmation-{fingerprint(request)[:32]}",
            )
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == ORDER_ID_TAKEN:
                raise OrderIdTaken(cause.message) from None
            raise
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise asyncio.CancelledError from None  # the caller's cancel or timeout
            continue  # the server's long poll ended before a worker answered: ask again
        except WorkflowAlreadyStartedError:
            pass  # finished: its id is not reused
        except RPCError as err:
            # The run ended between the start and the update: answered from its result too.
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        finally:
            _forget_start_failure(start)
        return await _finished_answer(client, request)


def _forget_start_failure(start: WithStartWorkflowOperation[Any, Any]) -> None:
    # The SDK hands a failed start to the operation's future too; nobody awaits it here, and
    # asyncio would print "exception was never retrieved" for every finished order placed again.
    future = start._workflow_handle
    if future.done() and not future.cancelled():
        future.exception()


async def _finished_answer(client: Client, request: OrderRequest) -> Confirmation:
    handle = await _existing(client, request)
    status = (await handle.describe()).status
    if status in ENDED_FROM_OUTSIDE:  # terminated or timed out: nothing inside undid it
        raise RunEndedWithoutResult(status)
    return Confirmation.of(await outcome(handle))


async def outcome(handle: WorkflowHandle[Any, Any]) -> OrderResult:
    """The order's outcome once its run ended, whatever the UI's list shows for the run.

        result = await podium.outcome(podium.order_handle(client, "ord-42"))
        print(result.state, result.failure, result.compensated)

    A completed order completes its run; an undone one fails it (`OrderFailed` after a refusal
    or a give-up, `OrderCancelled` after the customer's cancel) with the outcome as the error's
    details; a cancel through Temporal cancels it, with the outcome in the memo. Orders that
    ended before that change completed whatever their outcome. A run that ended without an outcome
    (refused input) raises its WorkflowFailureError; one terminated, timed out or cancelled
    with nothing recorded raises RunEndedWithoutResult.
    """
    try:
        result: OrderResult = await handle.result()
        return result
    except WorkflowFailureError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in (ORDER_FAILED, ORDER_CANCELLED):
            # Anything else under that name (another client's run) raises as it came.
            with suppress(IndexError, ValidationError):
                return OrderResult.model_validate(cause.details[0])
        if isinstance(cause, CancelledError):
            return await _cancelled_outcome(handle)
        ended = (await handle.describe()).status
        if ended in ENDED_FROM_OUTSIDE:
            raise RunEndedWithoutResult(ended) from None
        raise


async def _cancelled_outcome(handle: WorkflowHandle[Any, Any]) -> OrderResult:
    description = await handle.describe()
    with suppress(ValidationError, ApplicationError):  # a memo Podium did not write
        memo = await description.memo()
        if (recorded := memo.get(OUTCOME_MEMO)) is not None:
            return OrderResult.model_validate(recorded)
        # Cancelled before the outcome was recorded in the memo: what its start's memo tells.
        placed = memo.get("summary")
        order_id = order_id_from_workflow_id(handle.id)
        if isinstance(placed, dict) and order_id is not None:
            return OrderResult(
                order_id=order_id,
                state=OrderState.CANCELLED,
                total=placed.get("total"),
                currency=placed.get("currency"),
                failure=CANCELLED_THROUGH_TEMPORAL,
            )
    raise RunEndedWithoutResult(WorkflowExecutionStatus.CANCELED)


def fingerprint(request: OrderRequest) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()


def summary(request: OrderRequest) -> dict[str, str | int]:
    """The memo the Temporal UI shows: no email, address or payment token."""
    return {
        "customer_id": request.customer_id,
        "items": sum(item.quantity for item in request.items),
        "lines": len(request.items),
        "total": str(request.total),
        "currency": str(request.currency),
    }


def order_handle(client: Client, order_id: str) -> OrderHandle:
    return client.get_workflow_handle_for(OrderWorkflow.run, workflow_id_for(order_id))


async def order_status(client: Client, order_id: str) -> OrderStatus:
    """The order's state and step history (a query: needs a running worker).

    status = await podium.order_status(client, "ord-42")
    for step in status.steps:
        print(step.step, step.outcome)
    """
    return await order_handle(client, order_id).query(OrderWorkflow.status)


async def wait_for_outcome(
    client: Client,
    order_id: str,
    timeout: float | None = None,  # noqa: ASYNC109  (a script's one-liner; asyncio.timeout works too)
) -> OrderResult:
    """The order's result once it has one (TimeoutError after `timeout` seconds).

    await podium.place_order(client, request, wait="started")
    result = await podium.wait_for_outcome(client, request.order_id, timeout=60)
    print(result.failure)  # None when completed
    """
    async with asyncio.timeout(timeout):
        return await outcome(order_handle(client, order_id))


async def cancel_order(client: Client, order_id: str) -> CancelResult:
    """Cancel an order that is not confirmed yet; the answer says why not when it is too late.

    answer = await podium.cancel_order(client, "ord-42")
    if not answer.accepted:
        print(answer.reason)
    """
    handle = order_handle(client, order_id)
    try:
        return await handle.execute_update(OrderWorkflow.cancel)
    except WorkflowUpdateFailedError as err:  # refused by the workflow's validator
        reason = err.cause.message if isinstance(err.cause, ApplicationError) else str(err.cause)
    except RPCError as err:
        description = await handle.describe()  # raises NOT_FOUND for an unknown order
        if description.status == WorkflowExecutionStatus.RUNNING:
            raise
        reason = f"the order is already finished ({err.message})"
    try:
        state = (await handle.query(OrderWorkflow.status)).state
    except WorkflowQueryFailedError:  # a run refused at its start (invalid input) has no state
        state = OrderState.FAILED
    return CancelResult(accepted=False, state=state, reason=reason)


async def wait_for_state(client: Client, order_id: str, state: OrderState) -> OrderStatus:
    """Poll the status query until the order reaches `state` (bound it with asyncio.timeout).

    An order not started yet is waited for too, as when `place_order` runs in another task.
    """
    while True:
        try:
            status = await order_status(client, order_id)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        else:
            if status.state == state:
                return status
        await asyncio.sleep(0.05)


# Ends that no workflow code saw: the run holds no result and undid nothing.
ENDED_FROM_OUTSIDE = (WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.TIMED_OUT)


class RunEndedWithoutResult(Exception):
    """The order's run ended without returning a result (cancelled, terminated, timed out,
    failed): the server knows how it ended, not the order's state."""

    def __init__(self, status: WorkflowExecutionStatus) -> None:
        super().__init__(status.name)
        self.status = status


async def last_known_result(client: Client, order_id: str) -> OrderResult | None:
    """A finished order's result, which the server answers without any worker (None while
    the order runs). A status query, by contrast, needs a worker to replay the workflow."""
    handle = order_handle(client, order_id)
    status = (await handle.describe()).status
    if status is None or status == WorkflowExecutionStatus.RUNNING:
        return None
    if status in ENDED_FROM_OUTSIDE:
        raise RunEndedWithoutResult(status)
    return await outcome(handle)


async def has_worker(client: Client, namespace: str, task_queue: str) -> bool:
    """Whether any worker polled the task queue recently."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(response.pollers) > 0
