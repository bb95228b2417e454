"""`place_order` answers at the pivot (update-with-start), on the real dev server: before the
outcome's event is published, with the refusal's reason, once per order however often it is
placed, and only after a worker has started."""

import asyncio

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from contracts.events import OrderEvent
from contracts.order import OrderState
from podium.client import (
    OrderIdTaken,
    cancel_order,
    order_handle,
    outcome,
    place_order,
    wait_for_state,
)
from tests.support.factories import an_order
from tests.support.waits import eventually, until
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


class GatedPublisher:
    """Holds every publish until the test opens the gate: the order's answer must not wait."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.waiting = 0
        self.events: list[OrderEvent] = []

    async def publish(self, event: OrderEvent) -> None:
        self.waiting += 1
        await self.gate.wait()
        self.events.append(event)


async def runs_of(client: Client, workflow_id: str) -> int:
    return len([w async for w in client.list_workflows(f"WorkflowId = '{workflow_id}'")])


async def history(handle: WorkflowHandle) -> list[EventType.ValueType]:
    return [event.event_type async for event in handle.fetch_history_events()]


async def test_the_answer_comes_before_the_publish_and_the_run_waits_for_it(
    temporal: Client, settings: Settings
) -> None:
    publisher = GatedPublisher()
    order = an_order()
    async with running_worker(temporal, settings, publisher=publisher), asyncio.timeout(60):
        answer = await place_order(temporal, order, settings.task_queue)
        handle = order_handle(temporal, order.order_id)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        assert publisher.events == []  # nothing published yet: the gate is shut
        publisher.gate.set()
        result = await outcome(handle)
    assert answer.confirmed and answer.failure is None
    assert answer.state == OrderState.CONFIRMED
    assert (answer.order_id, answer.total, answer.currency) == (
        result.order_id,
        result.total,
        result.currency,
    )
    assert result.state == OrderState.COMPLETED and len(publisher.events) == 1
    kinds = await history(handle)
    completed = kinds.index(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED)
    published = kinds.index(EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED, completed)
    assert completed < published < len(kinds)
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds


REFUSALS = {
    "out of stock": (
        {"items": [{"sku": "VINYL-LTD", "quantity": 2, "unit_price": "30.00"}]},
        "out_of_stock",
    ),
    "fraud": ({"payment_token": "tok_fraud"}, "fraud_suspected"),
    "card declined": ({"payment_token": "tok_declined"}, "card_declined"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_each_refusal_answers_not_confirmed_with_its_reason(
    temporal: Client, settings: Settings, case: str
) -> None:
    overrides, code = REFUSALS[case]
    publisher = GatedPublisher()
    order = an_order(**overrides)
    async with running_worker(temporal, settings, publisher=publisher), asyncio.timeout(60):
        answer = await place_order(temporal, order, settings.task_queue)
        assert publisher.events == []
        publisher.gate.set()
        result = await outcome(order_handle(temporal, order.order_id))
    assert not answer.confirmed
    assert answer.failure is not None and answer.failure.code == code
    assert answer.failure == result.failure and result.state == OrderState.FAILED


async def test_a_cancel_before_the_pivot_answers_not_confirmed(
    temporal: Client, settings: Settings, event_tap: object
) -> None:
    order = an_order(payment_token="tok_transient_1000")  # stays in its charge retries
    async with running_worker(temporal, settings), asyncio.timeout(60):
        placing = asyncio.create_task(place_order(temporal, order, settings.task_queue))
        await wait_for_state(temporal, order.order_id, OrderState.RESERVED)
        assert not placing.done()
        assert (await cancel_order(temporal, order.order_id)).accepted
        answer = await placing
    assert not answer.confirmed
    assert answer.failure is not None and answer.failure.code == "cancelled"
    assert "customer" in answer.failure.message


async def test_placing_the_same_order_again_answers_from_its_one_run(
    temporal: Client, settings: Settings
) -> None:
    publisher = GatedPublisher()
    order = an_order()
    async with running_worker(temporal, settings, publisher=publisher), asyncio.timeout(60):
        first, second = await asyncio.gather(
            place_order(temporal, order, settings.task_queue),
            place_order(temporal, order, settings.task_queue),
        )
        while_publishing = await place_order(temporal, order, settings.task_queue)
        publisher.gate.set()
        await outcome(order_handle(temporal, order.order_id))
        finished = await place_order(temporal, order, settings.task_queue)
        answered = await place_order(temporal, order, settings.task_queue, wait="outcome")
        # Placed without asking for the answer: a finished run answers from its result.
        declined = an_order(payment_token="tok_declined")
        await place_order(temporal, declined, settings.task_queue, wait="outcome")
        late = await place_order(temporal, declined, settings.task_queue)
    assert first.confirmed and first == second == while_publishing == finished
    assert answered.state == OrderState.COMPLETED
    assert not late.confirmed and late.state == OrderState.FAILED
    assert late.failure is not None and late.failure.code == "card_declined"
    for placed in (order, declined):
        assert await runs_of(temporal, placed.workflow_id) == 1
    assert len(publisher.events) == 2


async def test_other_contents_under_a_taken_id_are_refused_running_or_finished(
    temporal: Client, settings: Settings
) -> None:
    publisher = GatedPublisher()
    order = an_order()
    other = order.model_copy(update={"payment_token": "tok_other"})
    async with running_worker(temporal, settings, publisher=publisher), asyncio.timeout(60):
        assert (await place_order(temporal, order, settings.task_queue)).confirmed
        with pytest.raises(OrderIdTaken, match="different contents"):
            await place_order(temporal, other, settings.task_queue)  # running
        publisher.gate.set()
        await outcome(order_handle(temporal, order.order_id))
        for wait in ("confirmed", "outcome", "started"):
            with pytest.raises(OrderIdTaken, match="different contents"):
                await place_order(temporal, other, settings.task_queue, wait=wait)  # type: ignore[call-overload]
    assert await runs_of(temporal, order.workflow_id) == 1


async def test_with_no_worker_the_answer_waits_for_one_to_start(
    temporal: Client, settings: Settings, event_tap: object
) -> None:
    order = an_order()
    placing = asyncio.create_task(place_order(temporal, order, settings.task_queue))
    try:
        await until(lambda: placing.done(), within=3, what="an answer with no worker")
    except AssertionError:
        pass  # still waiting, as it should
    else:
        pytest.fail(f"answered with no worker running: {placing.result()}")
    async with running_worker(temporal, settings), asyncio.timeout(60):
        answer = await placing
        await outcome(order_handle(temporal, order.order_id))
    assert answer.confirmed
    assert await runs_of(temporal, order.workflow_id) == 1


async def test_a_temporal_cancel_before_the_pivot_answers_not_confirmed_then_and_later(
    temporal: Client, settings: Settings, event_tap: object
) -> None:
    asked = an_order(payment_token="tok_transient_1000")  # stays in its charge retries
    started = an_order(payment_token="tok_transient_1000")
    async with running_worker(temporal, settings), asyncio.timeout(60):
        placing = asyncio.create_task(place_order(temporal, asked, settings.task_queue))
        await place_order(temporal, started, settings.task_queue, wait="started")
        for order in (asked, started):
            await wait_for_state(temporal, order.order_id, OrderState.RESERVED)
            await order_handle(temporal, order.order_id).cancel()
        answer = await placing
        for order in (asked, started):
            await until_closed(temporal, order.workflow_id)
        # A run that ended Canceled without being asked: answered from how it ended.
        later = await place_order(temporal, started, settings.task_queue)
    for said in (answer, later):
        assert not said.confirmed and said.failure is not None
        assert said.failure.code == "cancelled" and "through Temporal" in said.failure.message
    assert later.state == OrderState.CANCELLED
    for order in (asked, started):
        assert await runs_of(temporal, order.workflow_id) == 1


async def until_closed(client: Client, workflow_id: str) -> None:
    handle = client.get_workflow_handle(workflow_id)

    async def status() -> WorkflowExecutionStatus | None:
        return (await handle.describe()).status

    await eventually(status, lambda s: s == WorkflowExecutionStatus.CANCELED, 30)
