"""Each run explains itself on the real dev server: a static summary and details from the
start, activity summaries that say what the step does to this order, and an outcome the
workflow list filters on (the UI's Failures filter is `ExecutionStatus = "Failed"`)."""

import asyncio
import json

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from contracts.order import OrderRequest, OrderState
from podium.client import order_handle, outcome, place_order
from tests.integration.test_hostile_input import temporal_cli
from tests.support.factories import an_order
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings
from workflows.summaries import TIMES as X

STEPS = (EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, EventType.EVENT_TYPE_MARKER_RECORDED)


async def step_summaries(client: Client, order: OrderRequest) -> list[str]:
    """The summaries of the run's activities, local ones (markers) included, in order."""
    summaries = []
    async for event in order_handle(client, order.order_id).fetch_history_events():
        if event.event_type in STEPS and event.user_metadata.HasField("summary"):
            [text] = await client.data_converter.decode([event.user_metadata.summary], [str])
            summaries.append(text)
    return summaries


async def test_a_declined_order_reads_as_failed_and_each_step_says_what_it_did(
    temporal: Client, settings: Settings
) -> None:
    order = an_order(payment_token="tok_declined")
    async with running_worker(temporal, settings), asyncio.timeout(60):
        answer = await place_order(temporal, order, settings.task_queue)
        result = await outcome(order_handle(temporal, order.order_id))
        again = await place_order(temporal, order, settings.task_queue)  # answered from its end
    description = await order_handle(temporal, order.order_id).describe()
    code, listed = await temporal_cli(
        settings,
        "workflow",
        "list",
        "--namespace",
        settings.temporal_namespace,
        "--query",
        f'ExecutionStatus = "Failed" AND WorkflowId = "{order.workflow_id}"',
        "--output",
        "json",
    )

    assert description.status == WorkflowExecutionStatus.FAILED
    assert code == 0, listed
    assert [run["execution"]["workflowId"] for run in json.loads(listed)] == [order.workflow_id]
    assert not answer.confirmed and again == answer
    assert result.state == OrderState.FAILED and result.failure == answer.failure
    assert await description.static_summary() == (
        f"order {order.order_id} · 3 items · 34.99 EUR · cust-1"
    )
    details = await description.static_details()
    assert details is not None and f"2{X}MUG-BLUE at 12.50 EUR" in details
    assert await step_summaries(temporal, order) == [
        f"create order {order.order_id} for cust-1",
        f"reserve 2{X}MUG-BLUE, 1{X}SOCKS-3PK",
        "screen 34.99 EUR for fraud",
        "charge 34.99 EUR",
        f"undo: release 2{X}MUG-BLUE, 1{X}SOCKS-3PK",
        f"undo: cancel order {order.order_id}",
        "publish order.failed.v1",
    ]


async def test_a_completed_order_reads_as_completed(temporal: Client, settings: Settings) -> None:
    order = an_order()
    async with running_worker(temporal, settings), asyncio.timeout(60):
        result = await place_order(temporal, order, settings.task_queue, wait="outcome")
    description = await order_handle(temporal, order.order_id).describe()

    assert result.state == OrderState.COMPLETED
    assert description.status == WorkflowExecutionStatus.COMPLETED
    assert (await step_summaries(temporal, order))[-2:] == [
        "confirm the order (pivot: no way back after it)",
        "publish order.completed.v1",
    ]
