"""Bad input from a client Podium did not write (the `temporal` CLI) fails the run at once.

Each case starts `OrderWorkflow` against the real dev server with a Podium worker polling, and
checks the run FAILED with a non-retryable `InvalidInput` and a readable one-line reason, and
that its history never shows a workflow task failing (which the server would retry forever).
"""

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from contracts.order import OrderState, workflow_id_for
from podium.cli import exits
from podium.cli import orders as order_commands
from podium.client import outcome, place_order
from tests.support.factories import an_order, order_data
from tests.support.servers import venv_binary
from workers.bootstrap import running_worker
from workers.runtime.payloads import INVALID_INPUT
from workers.runtime.settings import Settings
from workflows.order import OrderWorkflow

pytestmark = pytest.mark.integration


async def temporal_cli(settings: Settings, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        venv_binary("temporal"),
        *args,
        "--address",
        settings.temporal_address,
        "--namespace",
        settings.temporal_namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(errors="replace")


async def start_with(
    settings: Settings,
    folder: Path,
    *inputs: str,
    extra: tuple[str, ...] = (),
    workflow_id: str | None = None,
) -> str:
    """Start OrderWorkflow with these inputs (JSON text, passed in files: they can be large)."""
    workflow_id = workflow_id or f"hostile-{uuid.uuid4().hex[:12]}"
    args = ["workflow", "start", "--type", "OrderWorkflow", "--task-queue", settings.task_queue]
    args += ["--workflow-id", workflow_id, *extra]
    for index, value in enumerate(inputs):
        file = folder / f"{workflow_id}-{index}.json"
        file.write_text(value)
        args += ["--input-file", str(file)]
    code, out = await temporal_cli(settings, *args)
    assert code == 0, out
    return workflow_id


async def refused_at_once(client: Client, workflow_id: str) -> ApplicationError:
    handle = client.get_workflow_handle(workflow_id)
    with pytest.raises(WorkflowFailureError) as failed:
        await asyncio.wait_for(handle.result(), 20)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == INVALID_INPUT and cause.non_retryable
    assert "\n" not in cause.message and len(cause.message) <= 600
    assert "Traceback" not in cause.message
    kinds = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds
    assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
    return cause


def as_json(**overrides: Any) -> str:
    return json.dumps(order_data(**overrides))


def line(**overrides: Any) -> dict[str, Any]:
    return {"sku": "MUG-BLUE", "quantity": 1, "unit_price": "1.00", **overrides}


BAD_ORDERS = {
    "missing fields": (json.dumps({"order_id": "only-an-id"}), "email"),
    "negative quantity": (as_json(items=[line(quantity=-1)]), "items.0.quantity"),
    "float money": (as_json(items=[line(unit_price=12.5)]), "never a float"),
    "ten thousand lines": (
        as_json(items=[line(sku=f"SKU-{n}") for n in range(10_000)]),
        "items",
    ),
    "megabyte string": (as_json(email="a" * 1_000_000 + "@example.com"), "email"),
    "unknown field": (as_json(**{"x" * 5000: 1}), "Extra inputs"),
    "not an object": ('"an order"', "should be an object"),
    "null": ("null", "should be an object"),
}


@pytest.mark.parametrize("case", list(BAD_ORDERS))
async def test_bad_workflow_input_from_the_temporal_cli_fails_the_run_at_once(
    settings: Settings, temporal: Client, tmp_path: Path, case: str
) -> None:
    payload, says = BAD_ORDERS[case]
    async with running_worker(temporal, settings):
        cause = await refused_at_once(temporal, await start_with(settings, tmp_path, payload))
    assert says in cause.message
    assert cause.message.startswith("invalid input")


async def test_input_in_another_encoding_fails_the_run_at_once(
    settings: Settings, temporal: Client, tmp_path: Path
) -> None:
    async with running_worker(temporal, settings):
        workflow_id = await start_with(
            settings, tmp_path, "raw bytes", extra=("--input-meta", "encoding=binary/plain")
        )
        cause = await refused_at_once(temporal, workflow_id)
    assert "must be a OrderRequest" in cause.message


async def test_input_larger_than_the_servers_blob_limit_is_refused_at_start(
    settings: Settings, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.json"
    huge.write_text(as_json(email="a" * 3_000_000 + "@example.com"))
    args = ["workflow", "start", "--type", "OrderWorkflow", "--task-queue", settings.task_queue]
    code, out = await temporal_cli(settings, *args, "--input-file", str(huge))
    assert code != 0
    assert "size exceeds limit" in out.lower() or "blob" in out.lower()


async def test_bad_query_and_update_payloads_are_refused_and_the_order_carries_on(
    settings: Settings, temporal: Client, event_tap: object
) -> None:
    order = an_order(payment_token="tok_transient_1000")  # stays in its charge retries
    async with running_worker(temporal, settings):
        handle = await place_order(temporal, order, settings.task_queue, wait="started")
        target = ("--workflow-id", handle.id)
        query = ("workflow", "query", *target, "--name", "status")
        update = ("workflow", "update", "execute", *target, "--name", "cancel")
        undecodable = ("--input", '"x"', "--input-meta", "encoding=binary/none-such")
        code, out = await temporal_cli(settings, *query, *undecodable)
        assert code != 0 and "invalid input: 'Unknown payload encoding" in out, out
        code, out = await temporal_cli(settings, *update, *undecodable)
        assert code != 0 and "invalid input: 'Unknown payload encoding" in out, out
        # Neither takes an argument: extra ones, whatever they hold, are ignored.
        code, out = await temporal_cli(settings, *query, "--input", '{"x": 1}', "--input", "[]")
        assert code == 0 and '"state":"' in out, out
        code, out = await temporal_cli(settings, "workflow", "query", *target, "--name", "nope")
        assert code != 0 and "expected but not found" in out, out
        status = await handle.query(OrderWorkflow.status)
        assert status.state != OrderState.FAILED and not status.cancel_requested
        assert (await handle.execute_update(OrderWorkflow.cancel)).accepted
        result = await asyncio.wait_for(outcome(handle), 30)
    assert result.state == OrderState.CANCELLED
    kinds = [event.event_type async for event in handle.fetch_history_events()]
    assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED not in kinds


@pytest.mark.parametrize("inputs", [(), (as_json(), as_json())], ids=["no input", "two inputs"])
async def test_the_wrong_number_of_inputs_fails_the_run_at_once(
    settings: Settings, temporal: Client, tmp_path: Path, inputs: tuple[str, ...]
) -> None:
    async with running_worker(temporal, settings):
        cause = await refused_at_once(temporal, await start_with(settings, tmp_path, *inputs))
    assert f"OrderWorkflow takes 1 argument(s), got {len(inputs)}" in cause.message


async def test_status_and_cancel_of_a_refused_run_say_what_happened(
    settings: Settings, temporal: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    order_id = f"hostile-{uuid.uuid4().hex[:8]}"
    async with running_worker(temporal, settings):
        bad = as_json(items=[line(quantity=-1)])
        await start_with(settings, tmp_path, bad, workflow_id=workflow_id_for(order_id))
        await refused_at_once(temporal, workflow_id_for(order_id))
        assert await order_commands.status(settings, order_id) == exits.OK
        assert await order_commands.cancel(settings, order_id) == exits.ORDER_NOT_COMPLETED
    printed = capsys.readouterr()
    assert f"order {order_id}: FAILED (InvalidInput: invalid input: items.0.quantity" in printed.out
    assert f"order {order_id} cannot be cancelled" in printed.out
