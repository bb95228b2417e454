"""A workflow worker apart from the activity worker, so a test decides when workflow tasks run:
a charge completes and a cancel arrives while no workflow worker is there, as when a workflow
task is lost and retried later."""

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.worker import Worker

from activities.steps import PaymentActivities
from contracts.order import OrderRequest, workflow_id_for
from contracts.steps import Charge, ChargePayment
from podium.client import place_order
from services.payment import PaymentService
from tests.support.shop import Shop
from tests.support.waits import eventually
from workers.bootstrap import ORDER_WORKFLOWS, order_activities, running_worker, temporal_worker


class GatedCharge(PaymentActivities):
    """charge_payment waits at a gate, so a test decides when the charge completes."""

    def __init__(self, payments: PaymentService) -> None:
        super().__init__(payments)
        self.started = threading.Event()
        self.gate = threading.Event()

    @activity.defn(name="charge_payment")
    def charge_payment(self, command: ChargePayment) -> Charge:
        self.started.set()
        self.gate.wait(30)
        return super().charge_payment(command)


@asynccontextmanager
async def workflow_worker(shop: Shop) -> AsyncIterator[Worker]:
    """A worker that runs the workflow and its local steps only: no regular activity."""
    # No sticky cache: the next workflow task goes to whichever worker polls the queue. The
    # local steps run on the workflow worker itself, which takes no regular activity tasks.
    with ThreadPoolExecutor(4) as threads:
        async with temporal_worker(
            shop.client,
            shop.settings,
            shop.task_queue,
            ORDER_WORKFLOWS,
            order_activities(shop.services, shop.publisher, shop.settings),
            threads,
            max_cached_workflows=0,
            no_remote_activities=True,
        ) as worker:
            yield worker


def activity_worker(
    shop: Shop, *replacements: Callable[..., Any]
) -> AbstractAsyncContextManager[Worker]:
    """A worker that runs the regular activities only, `replacements` standing in for theirs."""
    return running_worker(
        shop.client,
        shop.settings,
        services=shop.services,
        publisher=shop.publisher,
        replacements=replacements,
        workflows=[],
    )


async def until_in_history(handle: object, event_type: int, count: int) -> None:
    await eventually(
        handle.fetch_history,  # type: ignore[attr-defined]
        lambda history: sum(e.event_type == event_type for e in history.events) >= count,
        30,
        interval=0.1,
        what=f"{count} events of type {event_type}",
    )


async def charged_then_cancelled_while_away(
    shop: Shop, order: OrderRequest, cancel: str, confirmed_by_lost_task: bool
) -> WorkflowHandle[Any, Any]:
    """The order is charged while no workflow worker is there; when `confirmed_by_lost_task`,
    the lost attempt of the next task confirms it with the workflow's own key; then the cancel
    (`update`: the customer's, `temporal`: an operator's) and the charge's result reach the
    retried task together. Returns with a workflow worker gone and the cancel sent."""
    gated = GatedCharge(shop.payments)
    async with activity_worker(shop, gated.charge_payment):
        async with workflow_worker(shop):
            handle = await place_order(shop.client, order, shop.task_queue, wait="started")
            await asyncio.to_thread(gated.started.wait, 30)
        gated.gate.set()
        # The charge is the order's first regular activity (the steps before it are local).
        await until_in_history(handle, EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, 1)
    if confirmed_by_lost_task:
        shop.orders.confirm(f"{workflow_id_for(order.order_id)}/confirm-order", order.order_id)
    if cancel == "update":
        cancelling = asyncio.create_task(handle.execute_update("cancel"))
        await asyncio.sleep(0.5)  # admitted: it waits for the next workflow task
        cancelling.add_done_callback(lambda task: task.exception())  # the outcome tells
    else:
        await handle.cancel()
    return handle
