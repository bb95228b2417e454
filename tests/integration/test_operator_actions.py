"""Operators act on orders with Temporal's own tools (`temporal workflow start | cancel |
terminate`), on the real dev server; the services' own data shows nothing is left behind."""

import asyncio
import json
import subprocess

import pytest
from aio_pika.abc import AbstractQueue
from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError

from contracts.events import OrderCompletedV1, OrderFailedV1, event_id_for
from contracts.order import OrderRequest, OrderState
from contracts.steps import Published, PublishEvent
from podium.cli import exits
from podium.cli import orders as order_commands
from podium.client import OrderIdTaken, order_handle, order_status, place_order, wait_for_state
from tests.support.factories import an_order, order_data
from tests.support.servers import venv_binary
from tests.support.waits import drain, eventually
from workers.bootstrap import open_services, running_worker
from workers.reconcile import reconcile
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


def temporal_cli(settings: Settings, *args: str) -> str:
    command = [
        venv_binary("temporal"),
        *args,
        "--address",
        settings.temporal_address,
        "--namespace",
        settings.temporal_namespace,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def start_with_cli(settings: Settings, order: OrderRequest) -> None:
    """Start the order's workflow as a client Podium did not write would: plain JSON input."""
    data = order_data(**order.model_dump(mode="json"))
    temporal_cli(
        settings,
        "workflow",
        "start",
        "--type",
        "OrderWorkflow",
        "--task-queue",
        settings.task_queue,
        "--workflow-id",
        order.workflow_id,
        "--input",
        json.dumps(data),
    )


async def until_status(
    client: Client, order_id: str, status: WorkflowExecutionStatus
) -> WorkflowExecutionStatus:
    async def fetch() -> WorkflowExecutionStatus | None:
        return (await order_handle(client, order_id).describe()).status

    found = await eventually(fetch, lambda s: s == status, 60, interval=0.1, what=str(status))
    assert found is not None
    return found


def events_of(messages: list, order_id: str) -> list[OrderCompletedV1 | OrderFailedV1]:
    found: list[OrderCompletedV1 | OrderFailedV1] = []
    for message in messages:
        body = json.loads(message.body)
        if body["order"]["order_id"] != order_id:
            continue
        model = OrderFailedV1 if body["type"] == "order.failed" else OrderCompletedV1
        found.append(model.model_validate(body))
    return found


async def test_temporal_workflow_cancel_undoes_the_order_in_the_services_own_data(
    settings: Settings, temporal: Client, event_tap: AbstractQueue, capsys: pytest.CaptureFixture
) -> None:
    order = an_order(payment_token="tok_transient_1000")  # the charge keeps being retried
    async with running_worker(temporal, settings):
        start_with_cli(settings, order)
        await wait_for_state(temporal, order.order_id, OrderState.RESERVED)
        await asyncio.sleep(0.5)  # the charge is in flight, retrying
        temporal_cli(settings, "workflow", "cancel", "--workflow-id", order.workflow_id)
        await until_status(temporal, order.order_id, WorkflowExecutionStatus.CANCELED)
        status = await order_status(temporal, order.order_id)

    orders, inventory, payments = open_services(settings)
    key = order.workflow_id
    charge = payments.charge_made(f"{key}/charge-payment")
    assert charge is not None and charge.status in ("REFUNDED", "VOIDED")
    reservation = inventory.reservation(f"{key}/reserve-stock")
    assert reservation is not None and reservation.status in ("RELEASED", "VOIDED")
    assert inventory.stock("MUG-BLUE").reserved == 0
    assert orders.get(order.order_id).status == "CANCELLED"
    assert status.state == OrderState.CANCELLED
    [event] = events_of(await drain(event_tap), order.order_id)
    assert isinstance(event, OrderFailedV1)
    assert event.failure.code == "cancelled"
    assert event.event_id == event_id_for(key, OrderFailedV1.ROUTING_KEY)
    # Without a worker, `podium status` gives the outcome the run left in its memo.
    idle = settings.model_copy(update={"task_queue": "nobody-polls-this-queue"})
    assert await order_commands.status(idle, order.order_id) == exits.OK
    assert (
        f"order {order.order_id}: CANCELLED 34.99 EUR (cancelled: cancelled through Temporal"
        in capsys.readouterr().out
    )


async def test_reconcile_after_a_terminate_undoes_the_order_once(
    settings: Settings, temporal: Client, event_tap: AbstractQueue, capsys: pytest.CaptureFixture
) -> None:
    # The gateway captures at once but answers slowly: the charge is in flight when the
    # operator terminates the run, and its effect has already happened.
    slow = settings.model_copy(update={"payment_response_latency_ms": 4000})
    order = an_order()
    async with running_worker(temporal, slow):
        start_with_cli(slow, order)
        await wait_for_state(temporal, order.order_id, OrderState.RESERVED)
        orders, inventory, payments = open_services(slow)
        async with asyncio.timeout(30):
            while payments.charge_made(f"{order.workflow_id}/charge-payment") is None:
                await asyncio.sleep(0.05)
        temporal_cli(slow, "workflow", "terminate", "--workflow-id", order.workflow_id)
        await until_status(temporal, order.order_id, WorkflowExecutionStatus.TERMINATED)

        key = order.workflow_id
        assert payments.charge_made(f"{key}/charge-payment").status == "CAPTURED"  # type: ignore[union-attr]
        assert orders.get(order.order_id).status == "PENDING"  # type: ignore[union-attr]

        assert await reconcile(slow, dry_run=True) == exits.OK
        assert payments.charge_made(f"{key}/charge-payment").status == "CAPTURED"  # type: ignore[union-attr]
        assert await reconcile(slow, dry_run=False) == exits.OK
        first = (
            payments.charges(),
            inventory.levels(),
            orders.all(),
        )
        assert await reconcile(slow, dry_run=False) == exits.OK
        second = (payments.charges(), inventory.levels(), orders.all())

    out = capsys.readouterr().out
    assert f"order {order.order_id}: workflow TERMINATED; would undo it" in out
    assert f"order {order.order_id}: undone (workflow TERMINATED)" in out
    assert payments.charge_made(f"{key}/charge-payment").status == "REFUNDED"  # type: ignore[union-attr]
    assert inventory.reservation(f"{key}/reserve-stock").status == "RELEASED"  # type: ignore[union-attr]
    assert inventory.stock("MUG-BLUE").reserved == 0
    assert orders.get(order.order_id).status == "CANCELLED"  # type: ignore[union-attr]
    assert first == second  # the second run changed nothing
    [event] = events_of(await drain(event_tap), order.order_id)
    assert isinstance(event, OrderFailedV1)
    assert event.event_id == event_id_for(key, OrderFailedV1.ROUTING_KEY)
    assert event.failure.code == "workflow_terminated"
    idle = settings.model_copy(update={"task_queue": "nobody-polls-this-queue"})
    assert await order_commands.status(idle, order.order_id) == exits.OK
    told = capsys.readouterr().out
    assert "ended TERMINATED" in told and "podium reconcile" in told


@activity.defn(name="publish_event")
async def broker_out(command: PublishEvent) -> Published:
    raise ApplicationError("the broker is unreachable (test)")


async def test_reconcile_leaves_running_orders_and_completes_a_confirmed_one(
    settings: Settings, temporal: Client, event_tap: AbstractQueue, capsys: pytest.CaptureFixture
) -> None:
    running = an_order(payment_token="tok_transient_1000")  # stays before its pivot
    confirmed = an_order()
    # The broker is out for this worker: the confirmed order's publish keeps failing, so its
    # run can be terminated past the pivot, before it published.
    async with running_worker(temporal, settings, replacements=[broker_out]):
        start_with_cli(settings, running)
        start_with_cli(settings, confirmed)
        await wait_for_state(temporal, running.order_id, OrderState.RESERVED)
        async with asyncio.timeout(30):
            while not (await order_status(temporal, confirmed.order_id)).pivot_passed:
                await asyncio.sleep(0.05)
        temporal_cli(settings, "workflow", "terminate", "--workflow-id", confirmed.workflow_id)
        await until_status(temporal, confirmed.order_id, WorkflowExecutionStatus.TERMINATED)

        assert await reconcile(settings, dry_run=False) == exits.OK
        assert await reconcile(settings, dry_run=False) == exits.OK
        out = capsys.readouterr().out
        still = await order_status(temporal, running.order_id)
        temporal_cli(settings, "workflow", "terminate", "--workflow-id", running.workflow_id)

    assert f"order {running.order_id}: left alone (its workflow is running)" in out
    line = f"order {confirmed.order_id}: confirmed (past the pivot), workflow TERMINATED"
    assert out.count(line) == 1
    assert still.state == OrderState.RESERVED
    orders, _, payments = open_services(settings)
    assert orders.get(confirmed.order_id).status == "CONFIRMED"  # type: ignore[union-attr]
    charge = payments.charge_made(f"{confirmed.workflow_id}/charge-payment")
    assert charge is not None and charge.status == "CAPTURED"
    events = events_of(await drain(event_tap), confirmed.order_id)
    assert [type(e) for e in events] == [OrderCompletedV1]
    assert events[0].event_id == event_id_for(confirmed.workflow_id, OrderCompletedV1.ROUTING_KEY)


async def test_an_order_the_temporal_cli_started_is_answered_when_placed_again(
    settings: Settings, temporal: Client
) -> None:
    # No memo on such a run: its own input says whether the contents are the same.
    order = an_order()
    async with running_worker(temporal, settings):
        start_with_cli(settings, order)
        await until_status(temporal, order.order_id, WorkflowExecutionStatus.COMPLETED)
        answer = await place_order(temporal, order, settings.task_queue)
        other = order.model_copy(update={"payment_token": "tok_other"})
        with pytest.raises(OrderIdTaken):
            await place_order(temporal, other, settings.task_queue)

    assert answer.confirmed and answer.state == OrderState.COMPLETED
    runs = [r async for r in temporal.list_workflows(f"WorkflowId = '{order.workflow_id}'")]
    assert len(runs) == 1
