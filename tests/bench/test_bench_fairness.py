"""The bench's fairness on the real dev server: the bare same-shape workflow really has the
order's shape, and the CPU figures read the right processes. No timing is asserted."""

import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from bench.baseline import LOCAL, REGULAR, BareShapeWorkflow
from bench.cpu import Reading, cpu_seconds, listening_pid
from bench.cpu_cost import worker_process
from bench.noop import noop
from bench.shape import LOCAL_ACTIVITY_MARKER, shape_of_run
from contracts.order import OrderState
from infra.stack import LocalStack, StackInfo
from podium.client import place_order
from tests.support.factories import an_order
from workers.bootstrap import running_worker, temporal_worker
from workers.runtime.settings import Settings


def kinds_of_events(history: WorkflowHistory) -> dict[str, int]:
    """What makes a history's shape, counted without the bench's own reader."""
    counts = {"workflow tasks": 0, "activities scheduled": 0, "local activity markers": 0}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            counts["workflow tasks"] += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts["activities scheduled"] += 1
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            name = event.marker_recorded_event_attributes.marker_name
            counts["local activity markers"] += name == LOCAL_ACTIVITY_MARKER
    return counts


async def test_the_bare_same_shape_workflow_has_the_shape_of_a_real_order(
    settings: Settings, temporal: Client
) -> None:
    bare_queue = f"bare-{uuid.uuid4()}"
    order = an_order()
    names = ("same shape", "all regular", "screen beside reservation")
    bare_ids = {name: f"bare-{uuid.uuid4()}" for name in names}
    async with (
        running_worker(temporal, settings),
        temporal_worker(temporal, settings, bare_queue, [BareShapeWorkflow], [noop]),
    ):
        await place_order(temporal, order, settings.task_queue, wait="outcome")
        shape = await shape_of_run(temporal, order.workflow_id)
        parallel = shape.screen_beside_reservation()
        assert parallel is not None  # reserve and the fraud screen are both local steps
        for name, groups in zip(
            names, (shape.sequential(), shape.all_regular(), parallel), strict=True
        ):
            await temporal.execute_workflow(
                BareShapeWorkflow.run, groups, id=bare_ids[name], task_queue=bare_queue
            )

    async def kinds(workflow_id: str) -> dict[str, int]:
        return kinds_of_events(await temporal.get_workflow_handle(workflow_id).fetch_history())

    real = await kinds(order.workflow_id)
    same_shape = await kinds(bare_ids["same shape"])
    all_regular = await kinds(bare_ids["all regular"])
    screen_beside = await kinds(bare_ids["screen beside reservation"])

    assert LOCAL in shape.steps and REGULAR in shape.steps  # the order mixes both kinds
    assert shape.workflow_tasks == real["workflow tasks"]
    assert same_shape == real
    assert screen_beside == real  # the same steps and workflow tasks, two of them at once
    assert all_regular["activities scheduled"] == len(shape.steps)
    assert all_regular["local activity markers"] == 0


def test_the_dev_servers_process_is_found_by_its_listening_port(
    stack: LocalStack, stack_info: StackInfo
) -> None:
    assert listening_pid(stack_info.temporal_address) == stack.temporal.pid()
    assert listening_pid("example.com:7233") is None  # not this machine's to read
    assert cpu_seconds() > 0


@pytest.mark.parametrize("sandbox", ["strict", "passthrough", "off"])
async def test_the_order_worker_runs_in_a_process_of_its_own_with_each_runner(
    sandbox: str, settings: Settings, temporal: Client, stack_info: StackInfo, tmp_path: Path
) -> None:
    server = listening_pid(stack_info.temporal_address)
    own = settings.model_copy(update={"workflow_sandbox": sandbox})
    async with worker_process(own, tmp_path / "worker.log") as pid:
        before = Reading.take(pid, server)
        result = await place_order(temporal, an_order(), settings.task_queue, wait="outcome")
        used = Reading.take(pid, server).since(before)

    assert result.state == OrderState.COMPLETED
    assert used.worker > 0 and used.server is not None and used.server > 0


async def test_the_bare_workflows_worker_runs_in_a_process_of_its_own(
    settings: Settings, temporal: Client, tmp_path: Path
) -> None:
    async with worker_process(settings, tmp_path / "worker.log", bare=True) as pid:
        steps = await temporal.execute_workflow(
            BareShapeWorkflow.run,
            [[LOCAL], [LOCAL, LOCAL], [REGULAR]],
            id=f"bare-{uuid.uuid4()}",
            task_queue=settings.task_queue,
        )
        assert cpu_seconds(pid) > 0

    assert steps == 4
