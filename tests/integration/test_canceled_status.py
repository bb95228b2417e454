"""Why a customer's cancel ends its run Failed (OrderCancelled), not Canceled: on the real
server a run is Canceled only when a cancel request reached it from outside. The SDK emits the
cancel command only after one arrived, and the server refuses a workflow's request to cancel
itself (workflows/outcome.py). If either changes, these fail and the choice can be revisited."""

import asyncio
import uuid

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ApplicationError, CancelledError

from tests.support.cancel_workflows import CancelsItself, RaisesCancelled
from workers.bootstrap import temporal_worker
from workers.runtime.settings import Settings

pytestmark = pytest.mark.integration


async def test_a_workflow_cannot_end_canceled_by_itself(
    temporal: Client, settings: Settings
) -> None:
    queue = f"cancel-{uuid.uuid4()}"
    async with temporal_worker(temporal, settings, queue, [CancelsItself, RaisesCancelled], []):
        itself = await temporal.start_workflow(
            CancelsItself.run, id=f"self-{uuid.uuid4()}", task_queue=queue
        )
        raising = await temporal.start_workflow(
            RaisesCancelled.run, id=f"raise-{uuid.uuid4()}", task_queue=queue
        )
        async with asyncio.timeout(30):
            with pytest.raises(WorkflowFailureError) as refused:
                await itself.result()
            with pytest.raises(WorkflowFailureError) as raised:
                await raising.result()

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.type == "ExternalWorkflowExecutionNotFound"
    assert isinstance(raised.value.cause, CancelledError)
    for handle in (itself, raising):
        assert (await handle.describe()).status == WorkflowExecutionStatus.FAILED
