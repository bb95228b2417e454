"""Manual review from any Python script: the orders that wait for a reviewer, and the decision.

    waiting = await podium.orders_awaiting_review(client, task_queue)
    await podium.approve_order(client, "ord-42", reviewer="grace", reason="known customer")

An order held for review (above `PODIUM_REVIEW_ABOVE`, or flagged by the fraud screen) waits
before its charge; approved it is charged and completes, rejected it is undone.
"""

import asyncio
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from contracts.order import OrderState, order_id_from_workflow_id
from contracts.problems import one_line
from contracts.review import ReviewDecision, Reviewed
from podium.client import order_handle, order_status
from workers.runtime.settings import DEFAULT_TASK_QUEUE
from workflows.order import OrderWorkflow
from workflows.visibility import ORDER_STATUS

MAX_LISTED = 200


class ReviewRefused(Exception):
    """The order is not awaiting review (never flagged, already decided, finished)."""


@dataclass(frozen=True)
class AwaitingReview:
    order_id: str
    customer_id: str
    total: Decimal | None
    currency: str
    since: datetime | None  # when the order was placed
    deadline: datetime | None = None  # when it is rejected unless decided (from its status)


async def approve_order(client: Client, order_id: str, *, reviewer: str, reason: str) -> Reviewed:
    """Let an order held for review go on to its charge (ValidationError for bad input,
    ReviewRefused when it is not awaiting review, RPCError NOT_FOUND for no such order)."""
    decision = ReviewDecision(reviewer=reviewer, reason=reason)
    return await _decide(client, order_id, decision, approve=True)


async def reject_order(client: Client, order_id: str, *, reviewer: str, reason: str) -> Reviewed:
    """Refuse an order held for review: its stock is released and it is cancelled."""
    decision = ReviewDecision(reviewer=reviewer, reason=reason)
    return await _decide(client, order_id, decision, approve=False)


async def _decide(
    client: Client, order_id: str, decision: ReviewDecision, *, approve: bool
) -> Reviewed:
    update = OrderWorkflow.approve if approve else OrderWorkflow.reject
    handle = order_handle(client, order_id)
    try:
        return await handle.execute_update(update, decision)
    except WorkflowUpdateFailedError as err:  # refused by the workflow's validator
        cause = err.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause)
        raise ReviewRefused(reason) from None
    except RPCError:
        description = await handle.describe()  # raises NOT_FOUND for an unknown order
        if description.status == WorkflowExecutionStatus.RUNNING:
            raise
        raise ReviewRefused(f"order {order_id} is already finished") from None


async def is_running(client: Client, order_id: str) -> bool:
    """Whether the order's workflow still runs (RPCError NOT_FOUND for no such order)."""
    description = await order_handle(client, order_id).describe()
    return description.status == WorkflowExecutionStatus.RUNNING


async def orders_awaiting_review(
    client: Client, task_queue: str = DEFAULT_TASK_QUEUE, limit: int = 50
) -> list[AwaitingReview]:
    """Running orders awaiting review on `task_queue`, oldest first, at most `limit`. Read from
    the server's visibility store, which lags a moment behind; of more than MAX_LISTED waiting
    orders, the newest MAX_LISTED are looked at (the dev server's store cannot sort)."""
    query = (
        f"{ORDER_STATUS.name} = '{OrderState.AWAITING_REVIEW}' "
        f"AND ExecutionStatus = 'Running' AND TaskQueue = '{_quoted(task_queue)}'"
    )
    listed = []
    async for execution in client.list_workflows(query, limit=MAX_LISTED):
        order_id = order_id_from_workflow_id(execution.id)
        if order_id is None:
            continue
        summary = await _summary(execution)
        listed.append(
            AwaitingReview(
                order_id=order_id,
                customer_id=one_line(summary.get("customer_id", "?"), 64),
                total=_decimal(summary.get("total")),
                currency=one_line(summary.get("currency", ""), 8),
                since=execution.start_time,
            )
        )
    listed.sort(key=lambda order: order.since or datetime.max.replace(tzinfo=UTC))
    return listed[: max(1, min(limit, MAX_LISTED))]


async def with_deadlines(client: Client, waiting: list[AwaitingReview]) -> list[AwaitingReview]:
    """The same orders with their deadlines, asked of each one's status query (which needs a
    running worker); an order that does not answer within a few seconds keeps none."""

    at_once = asyncio.Semaphore(16)

    async def deadline(order: AwaitingReview) -> AwaitingReview:
        try:
            async with at_once, asyncio.timeout(5):
                status = await order_status(client, order.order_id)
        except (TimeoutError, RPCError, WorkflowQueryFailedError, ApplicationError):
            return order  # e.g. a run another client started under an order's id
        return replace(order, deadline=status.review.deadline if status.review else None)

    return list(await asyncio.gather(*(deadline(order) for order in waiting)))


async def _summary(execution: WorkflowExecution) -> dict[str, object]:
    """The memo our client wrote; another client's (the `temporal` CLI's) may hold anything."""
    try:
        summary = (await execution.memo()).get("summary")
    except (ApplicationError, ValueError):
        return {}
    return summary if isinstance(summary, dict) else {}


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _decimal(value: object) -> Decimal | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        amount = Decimal(value)
    except ArithmeticError:
        return None
    return amount if amount.is_finite() else None
