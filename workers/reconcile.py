"""`podium reconcile`: undo what orders whose workflow ended without an outcome left behind.

A workflow that is terminated, times out or is reset away cannot compensate: Temporal gives it
no chance to run code. Its charge stays captured, its stock reserved, its order pending. This
command finds such orders from the services' own data, asks Temporal how each workflow ended,
and undoes the orders whose workflow is gone without an outcome through the same
compensations, with the same idempotency keys, as the workflow: a compensation already done is
a no-op, and running it twice changes nothing. A confirmed order (past the pivot) is never
undone; its missing order.completed.v1 is published instead.
"""

import asyncio
from datetime import UTC, datetime
from functools import partial

from aio_pika.exceptions import AMQPError
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from activities.publisher import EventPublisher
from contracts.events import OrderCompletedV1, OrderEvent, OrderFailedV1, event_id_for
from contracts.order import Failure, order_id_from_workflow_id, workflow_id_for
from contracts.problems import one_line
from contracts.steps import payment_id_for
from services.orders import CONFIRMED, PENDING
from workers.bootstrap import Services, event_publisher, open_services
from workers.runtime.redaction import redact_urls
from workers.runtime.settings import Settings
from workers.runtime.temporal import connect_temporal

# Orders examined per run, from each source: bounded work however much history there is.
LIMIT = 1000
ENDED_WITHOUT_OUTCOME = (
    "WorkflowType = 'OrderWorkflow' AND ExecutionStatus IN ('Terminated', 'TimedOut')"
    " AND TaskQueue = '{task_queue}'"
)
# Whoever ended these runs, the order's own workflow can no longer finish or undo it.
UNFINISHED = {
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT,
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.CANCELED,
}
COMPENSATIONS = ("refund_payment", "release_stock", "cancel_order")


def _candidates(services: Services) -> list[str]:
    """Orders whose reservation or charge may still be held for an unfinished order.

    The saga creates the order before it reserves or charges and cancels it after the
    refund and the release, except a charged order's cancel, which the orders service
    settles first (`settle-cancel-at-pivot`) and which its run then undoes: every effect held
    for an order that is not confirmed belongs to a PENDING order or to a run still undoing
    it (which finishes) or ended from outside (which Temporal lists).
    """
    return services.orders.with_status(PENDING, LIMIT)


def _undo(services: Services, order_id: str) -> list[str]:
    """The workflow's compensations, newest first, under the workflow's own keys."""
    key = workflow_id_for(order_id)
    charge = services.payments.refund(f"{key}/refund-payment", f"{key}/charge-payment")
    stock = services.inventory.release(f"{key}/release-stock", f"{key}/reserve-stock")
    order = services.orders.cancel(f"{key}/cancel-order", order_id)
    return [f"charge {charge.status}", f"stock {stock.status}", f"order {order.status}"]


async def reconcile(settings: Settings, *, dry_run: bool) -> int:
    """Print one line per order and a summary; how many events could not be published."""
    client = await connect_temporal(settings)
    services = await asyncio.to_thread(partial(open_services, settings, injected_faults=False))
    held = await asyncio.to_thread(_candidates, services)
    ended = await _orders_ended_without_outcome(client, settings.task_queue)
    publisher = event_publisher(settings)
    counts = {"undone": 0, "completed": 0, "left": 0}
    unpublished = 0
    try:
        for order_id in sorted({*held, *ended}):
            try:
                outcome = await _reconcile_one(client, services, publisher, order_id, dry_run)
            except (AMQPError, OSError, TimeoutError) as err:
                # Not marked reconciled: the next run finds the order again, its undo a no-op.
                reason = redact_urls(one_line(repr(err), 300))
                print(f"order {order_id}: its event could not be published ({reason}); run again")
                unpublished += 1
                continue
            if outcome is not None:
                counts[outcome] += 1
    finally:
        await publisher.close()
        await asyncio.to_thread(services.close)
    verb = "would undo" if dry_run else "undone"
    print(
        f"reconcile: {len(held)} orders hold effects, {len(ended)} workflows ended without an "
        f"outcome; {verb} {counts['undone']}, order.completed.v1 for {counts['completed']}, "
        f"left alone {counts['left']}"
    )
    if LIMIT in (len(held), len(ended)):
        print(f"reconcile: stopped at {LIMIT} orders per source; run it again for the rest")
    return unpublished


async def _orders_ended_without_outcome(client: Client, task_queue: str) -> list[str]:
    """Orders of this deployment (its task queue) whose run Temporal ended from outside."""
    query = ENDED_WITHOUT_OUTCOME.format(task_queue=task_queue.replace("'", "''"))
    found: list[str] = []
    async for execution in client.list_workflows(query, limit=LIMIT):
        if (order_id := order_id_from_workflow_id(execution.id)) is not None:
            found.append(order_id)
    return found


async def _workflow_status(client: Client, order_id: str) -> WorkflowExecutionStatus | None:
    """How the order's latest run stands; None when Temporal no longer knows it."""
    try:
        description = await client.get_workflow_handle(workflow_id_for(order_id)).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    return description.status


async def _reconcile_one(
    client: Client, services: Services, publisher: EventPublisher, order_id: str, dry_run: bool
) -> str | None:
    status = await _workflow_status(client, order_id)
    ended = "not found" if status is None else status.name
    if status is not None and status not in UNFINISHED:
        if status == WorkflowExecutionStatus.RUNNING:
            print(f"order {order_id}: left alone (its workflow is running)")
            return "left"
        return None  # finished with an outcome: whatever it holds is the order's due
    marker = f"{workflow_id_for(order_id)}/reconciled"
    if await asyncio.to_thread(services.orders.noted, marker):
        return None  # reconciled by an earlier run: nothing left to do
    record = await asyncio.to_thread(services.orders.get, order_id)
    confirmed = record is not None and record.status == CONFIRMED
    if dry_run:
        todo = "publish order.completed.v1" if confirmed else "undo it"
        print(f"order {order_id}: workflow {ended}; would {todo}")
        return "completed" if confirmed else "undone"
    if confirmed:  # past the pivot nothing is undone: the order completes
        published = await _publish(services, publisher, order_id, None)
        print(f"order {order_id}: confirmed (past the pivot), workflow {ended}{published}")
        outcome = "completed"
    else:
        undone = await asyncio.to_thread(_undo, services, order_id)
        failure = Failure(
            code=f"workflow_{ended.lower().replace(' ', '_')}",
            message=f"its workflow ended ({ended}) before the order finished; undone by reconcile",
        )
        published = await _publish(services, publisher, order_id, failure)
        print(f"order {order_id}: undone (workflow {ended}): {', '.join(undone)}{published}")
        outcome = "undone"
    await asyncio.to_thread(services.orders.note_once, marker)
    return outcome


async def _publish(
    services: Services, publisher: EventPublisher, order_id: str, failure: Failure | None
) -> str:
    """Publish the order's outcome with the event id its workflow would have used:
    consumers deduplicate on it should the workflow have published it before it ended."""
    snapshot = await asyncio.to_thread(services.orders.snapshot, order_id)
    if snapshot is None:
        return "; nothing to publish (the order was never created)"
    workflow_id = workflow_id_for(order_id)
    event: OrderEvent
    if failure is None:
        event = OrderCompletedV1(
            event_id=event_id_for(workflow_id, OrderCompletedV1.ROUTING_KEY),
            occurred_at=datetime.now(UTC),
            order=snapshot,
            payment_id=payment_id_for(f"{workflow_id}/charge-payment"),
        )
    else:
        event = OrderFailedV1(
            event_id=event_id_for(workflow_id, OrderFailedV1.ROUTING_KEY),
            occurred_at=datetime.now(UTC),
            order=snapshot,
            failure=failure,
            compensated=list(COMPENSATIONS),
        )
    await publisher.publish(event)
    return f"; {event.ROUTING_KEY} published"
