"""Two ways a workflow might try to end as Canceled without a cancel request from outside, in a
module of their own for the sandbox (tests/integration/test_canceled_status.py)."""

import asyncio

from temporalio import workflow


@workflow.defn
class CancelsItself:
    """Sends a cancel request to its own workflow id, then waits for it."""

    @workflow.run
    async def run(self) -> None:
        await workflow.get_external_workflow_handle(workflow.info().workflow_id).cancel()
        await workflow.wait_condition(lambda: False)


@workflow.defn
class RaisesCancelled:
    """Ends by raising a cancel with no request behind it."""

    @workflow.run
    async def run(self) -> None:
        raise asyncio.CancelledError("cancelled at the customer's request")
