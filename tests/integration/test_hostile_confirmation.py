"""The confirmation update, sent bad arguments by the `temporal` CLI: refused with one line,
and the order carries on, answers its real customer and never fails a workflow task."""

import asyncio
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from contracts.order import OrderRequest, OrderState
from podium.client import order_handle, outcome, place_order, wait_for_state
from tests.integration.test_early_return import GatedPublisher
from tests.integration.test_hostile_input import as_json, line, temporal_cli
from tests.support.factories import an_order
from workers.bootstrap import running_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration

UNDECODABLE = ("--input", '"x"', "--input-meta", "encoding=binary/none-such")

# What the CLI sends (as --input values, or files for the large ones), what the refusal says.
BAD_ARGUMENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "no input": ((), "update confirmation takes 1 argument(s), got 0"),
    "two inputs": (("--input", "{}", "--input", "{}"), "takes 1 argument(s), got 2"),
    "undecodable": (UNDECODABLE, "invalid input: 'Unknown payload encoding"),
    "not an object": (("--input", '"an order"'), "should be an object"),
    "null": (("--input", "null"), "should be an object"),
    "missing fields": (("--input", '{"order_id": "x"}'), "email"),
    "float money": (("--input", as_json(items=[line(unit_price=12.5)])), "never a float"),
    "another order": (("--input", as_json()), "already placed with different contents"),
}


async def update(settings: Settings, workflow_id: str, *args: str) -> tuple[int, str]:
    target = ("--workflow-id", workflow_id, "--name", "confirmation")
    return await temporal_cli(settings, "workflow", "update", "execute", *target, *args)


def refused(code: int, out: str, says: str) -> None:
    assert code != 0, out
    assert says in out, out
    assert "Traceback" not in out and len(out) < 2000, out


async def no_failed_workflow_task(client: Client, order_id: str) -> None:
    handle = order_handle(client, order_id)
    kinds = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds


async def test_bad_confirmation_arguments_are_refused_before_and_after_the_pivot(
    settings: Settings, temporal: Client, tmp_path: Path
) -> None:
    waiting = an_order(payment_token="tok_transient_1000")  # before the pivot: in its charge
    confirmed = an_order()  # past it: its publish held at the gate
    publisher = GatedPublisher()
    huge = tmp_path / "ten-thousand-lines.json"
    huge.write_text(as_json(items=[line(sku=f"SKU-{n}") for n in range(10_000)]))
    cases = {**BAD_ARGUMENTS, "ten thousand lines": (("--input-file", str(huge)), "items")}
    async with running_worker(temporal, settings, publisher=publisher), asyncio.timeout(300):
        await place_order(temporal, waiting, settings.task_queue, wait="started")
        await wait_for_state(temporal, waiting.order_id, OrderState.RESERVED)
        assert (await place_order(temporal, confirmed, settings.task_queue)).confirmed
        for order in (waiting, confirmed):
            for args, says in cases.values():
                refused(*await update(settings, order.workflow_id, *args), says)
        # Its own contents, from the CLI too: the answer, at once since it is confirmed.
        code, out = await update(settings, confirmed.workflow_id, "--input", order_json(confirmed))
        assert code == 0 and "confirmed:true" in out, out
        status = await order_handle(temporal, waiting.order_id).describe()
        assert status.status is not None and status.status.name == "RUNNING"
        publisher.gate.set()
        assert (await outcome(order_handle(temporal, confirmed.order_id))).state == (
            OrderState.COMPLETED
        )
        await order_handle(temporal, waiting.order_id).terminate("test over")
    for order in (waiting, confirmed):
        await no_failed_workflow_task(temporal, order.order_id)


def order_json(order: OrderRequest) -> str:
    return order.model_dump_json()


async def test_a_confirmation_sent_to_a_finished_order_is_refused_by_the_server(
    settings: Settings, temporal: Client
) -> None:
    order = an_order(payment_token="tok_declined")
    publisher = GatedPublisher()
    publisher.gate.set()
    async with running_worker(temporal, settings, publisher=publisher), asyncio.timeout(60):
        await place_order(temporal, order, settings.task_queue, wait="outcome")
    for args in ((), UNDECODABLE, ("--input", order_json(order))):
        code, out = await update(settings, order.workflow_id, *args)
        assert code != 0, out
        assert "completed" in out.lower() and "Traceback" not in out, out
    await no_failed_workflow_task(temporal, order.order_id)
