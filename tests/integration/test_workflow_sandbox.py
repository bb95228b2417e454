"""The worker's sandbox setting: strict by default, so every test's worker (and production's,
unless told otherwise) refuses workflow code that reads the clock; `off` is the one switch.

On the real dev server: a workflow task that keeps failing leaves the time-skipping test server
unable to skip time for the tests after it."""

import uuid
from datetime import datetime

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.worker import UnsandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from tests.support.clock_workflow import ReadsTheClock
from tests.support.waits import eventually
from workers.bootstrap import temporal_worker
from workers.runtime.sandbox import workflow_runner
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def failed_task_message(handle: WorkflowHandle) -> str | None:
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return event.workflow_task_failed_event_attributes.failure.message
    return None


async def test_the_default_worker_refuses_workflow_code_that_reads_the_clock(
    temporal: Client,
) -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.workflow_sandbox == "strict"
    queue = f"sandbox-{uuid.uuid4()}"
    client = temporal
    async with temporal_worker(client, settings, queue, [ReadsTheClock], []):
        handle = await client.start_workflow(
            ReadsTheClock.run, id=f"clock-{uuid.uuid4()}", task_queue=queue
        )
        message = await eventually(
            lambda: failed_task_message(handle), lambda m: m is not None, within=20
        )
        await handle.terminate()
    assert message is not None and "datetime.datetime.now" in message


async def test_with_the_sandbox_off_the_same_code_runs(
    temporal: Client,
) -> None:
    settings = Settings(_env_file=None, workflow_sandbox="off")  # type: ignore[call-arg]
    queue = f"sandbox-{uuid.uuid4()}"
    client = temporal
    async with temporal_worker(client, settings, queue, [ReadsTheClock], []):
        result = await client.execute_workflow(
            ReadsTheClock.run, id=f"clock-{uuid.uuid4()}", task_queue=queue
        )
    assert datetime.fromisoformat(result)


def test_each_setting_names_its_runner_and_a_typo_is_refused() -> None:
    assert type(workflow_runner("strict")) is SandboxedWorkflowRunner
    assert type(workflow_runner("passthrough")) is SandboxedWorkflowRunner
    assert type(workflow_runner("off")) is UnsandboxedWorkflowRunner
    with pytest.raises(ValueError, match="strict, passthrough or off"):
        workflow_runner("loose")
    with pytest.raises(ValueError, match="workflow_sandbox"):
        Settings(_env_file=None, workflow_sandbox="loose")  # type: ignore[call-arg, arg-type]
